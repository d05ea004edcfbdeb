import type { Hono } from 'hono';
import type { AppEnv } from './app-env';

/**
 * Lets HEAD get an answer whose status the Response constructor refuses (outside 200-599: LinkedIn's
 * 999 to bots, which the proxy passes on as the origin's own Response, docs/proxy.md "What origins
 * get wrong").
 *
 * Hono answers HEAD by running the GET route and copying its answer with `new Response(null, answer)`,
 * which throws a RangeError for such a status: the runtime then answered 500. So the first middleware
 * keeps such an answer aside, and when Hono's copy fails it is sent as it is. It is the origin's
 * answer to the proxy's own HEAD, so it carries no body. Every other answer still goes through Hono.
 */
export function sendHeadAnswersHonoCannotCopy(app: Hono<AppEnv>): void {
  const uncopyable = new WeakMap<Request, Response>();
  app.use(async (c, next) => {
    await next();
    if (c.req.method === 'HEAD' && (c.res.status < 200 || c.res.status > 599)) {
      uncopyable.set(c.req.raw, c.res);
    }
  });
  const honoFetch = app.fetch;
  app.fetch = async (request, env, executionCtx) => {
    try {
      return await honoFetch(request, env, executionCtx);
    } catch (error) {
      const answer = uncopyable.get(request);
      if (answer) return answer;
      throw error;
    }
  };
}
