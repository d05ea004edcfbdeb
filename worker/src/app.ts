import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { AppEnv } from './app-env';
import { ApiError, errorBody } from './errors';
import { eventRoutes, segmentRoutes } from './events';
import { sendHeadAnswersHonoCannotCopy } from './head-answers';
import { log } from './log';
import { countInProgress } from './middleware/in-progress';
import { methodNotAllowed } from './middleware/method-not-allowed';
import { nonErrorThrowsAsErrors } from './middleware/non-error-throws';
import { rateLimit } from './middleware/rate-limit';
import { shopCors } from './middleware/shop-cors';
import { proxyHandler } from './proxy';
import { adminLive } from './routes/admin-live';
import { adminModels } from './routes/admin-models';
import { healthz } from './routes/healthz';
import { outdatedPluginRedirect, plugin } from './routes/plugin';
import { prices } from './routes/prices';
import { recommendations } from './routes/recommendations';

/**
 * The worker's HTTP surface. Routes are mounted here and nowhere else,
 * so this file is the map of the API (DESIGN.md "HTTP API").
 */
export function createApp() {
  const app = new Hono<AppEnv>();
  sendHeadAnswersHonoCannotCopy(app); // first: it must see the answer every other middleware made
  app.use(nonErrorThrowsAsErrors());
  app.use(requestId());
  app.use(countInProgress());

  app.route('/healthz', healthz);
  // ROUTES: later parts mount /v1/*, /rx.js and the proxy below this line.
  app.use('/v1/*', shopCors(), rateLimit());
  app.route('/v1/recommendations', recommendations);
  app.route('/v1/prices', prices);
  app.route('/admin/models', adminModels);
  app.route('/admin/live', adminLive);
  app.route('/v1/events', eventRoutes);
  app.route('/v1', segmentRoutes);
  app.route('/', plugin);
  app.all('*', proxyHandler()); // proxy mode: last, and it never takes /v1, /healthz or /rx.js

  app.notFound(
    (c) =>
      // An old deploy's /rx.<hash>.js still cached in a shop's page: send it to the current plugin.
      outdatedPluginRedirect(c) ??
      // A path the worker has, asked with another method: 405 with Allow, not a 404.
      methodNotAllowed(app, c) ??
      c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}`), 404),
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return c.json(errorBody(err.code, err.message, err.details), err.status);
    }
    // Hono's own middleware (validators, body parsing) throws these for the client's mistakes:
    // keep their status instead of turning a bad request into a 500.
    if (err instanceof HTTPException && err.status < 500) {
      return c.json(errorBody('bad_request', err.message || 'Bad request'), err.status);
    }
    log('error', 'unhandled_error', { requestId: c.get('requestId'), error: err });
    return c.json(errorBody('internal_error', 'Internal error'), 500);
  });
  return app;
}
