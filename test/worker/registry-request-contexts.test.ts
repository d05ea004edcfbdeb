/**
 * BundleRegistry lives as long as the isolate, so the requests of an isolate meet in it. workerd tags
 * each promise with the request context it was created in; a promise resolved from another request's
 * context has its continuations moved to the creating request, and cancelled (with the warning "A
 * promise was resolved or rejected from a different request context than the one it was created in")
 * once that request is over. So the registry must never hand one request's resolver to another, nor
 * let a request await a promise another created (with nothing pending of its own, a request can be
 * cancelled as hung: registry.ts watchUntil); signals between requests travel as plain state, read by
 * each waiter on timers of its own.
 *
 * `requestContexts()` models the tags in this single test context: a promise made with `new Promise`
 * is tagged with the request running at the time, and calling its resolver while another request runs
 * is recorded. Request A is the one that starts the first load: its calls, and everything the load does
 * after them (microtasks and timers), run as A; a timer runs as the request that set it; `as('B', ...)` runs another request's synchronous
 * call (busy(), its release, bundle(), catalogue()) as B. Promises the engine makes to follow another
 * (await, then, Promise.race) are not tagged: their resolvers are the engine's, which workerd handles.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import type { Env } from '../../worker/src/env';
import { countingRegistry } from './registry-support';

const builtInOnly: Env = { ...(env as unknown as Env), MODEL_STORE: undefined };

const NativePromise = globalThis.Promise;
const nativeSetTimeout = globalThis.setTimeout;

afterEach(() => {
  globalThis.Promise = NativePromise;
  globalThis.setTimeout = nativeSetTimeout;
});

function requestContexts() {
  let current = 'A';
  const crossings: string[] = [];
  const isEngineExecutor = (executor: unknown) =>
    Function.prototype.toString.call(executor).includes('[native code]');
  class TaggedPromise<T> extends NativePromise<T> {
    constructor(
      executor: (resolve: (value: T | PromiseLike<T>) => void, reject: (reason?: unknown) => void) => void,
    ) {
      const createdIn = current;
      if (isEngineExecutor(executor)) {
        super(executor);
        return;
      }
      const check = (how: string) => {
        if (current !== createdIn) crossings.push(`created in ${createdIn}, ${how} from ${current}`);
      };
      super((resolve, reject) =>
        executor(
          (value) => {
            check('resolved');
            resolve(value);
          },
          (reason) => {
            check('rejected');
            reject(reason);
          },
        ),
      );
    }
  }
  globalThis.Promise = TaggedPromise as PromiseConstructor;
  // A timer's callback runs in the request that set it (a waiter's own timer is its own).
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const setBy = current;
    return nativeSetTimeout(() => {
      const previous = current;
      current = setBy;
      try {
        callback(...args);
      } finally {
        current = previous;
      }
    }, ms);
  }) as typeof setTimeout;
  return {
    crossings,
    /** Runs `call` as request `name` (its synchronous part: what follows an await runs as A again). */
    as<T>(name: string, call: () => T): T {
      const previous = current;
      current = name;
      try {
        return call();
      } finally {
        current = previous;
      }
    },
  };
}

const sleep = (ms: number) => new NativePromise((resolve) => setTimeout(resolve, ms));

describe('BundleRegistry: no request resolves a promise another request created', () => {
  it("a later request's end does not resolve what the first load waited on (cold isolate, two requests apart)", async () => {
    const { registry, created } = countingRegistry();
    const contexts = requestContexts();
    const ctx = createExecutionContext();
    // Request A: answered from the catalogue; the load creates the sessions in the quiet after it.
    const answeredA = registry.busy();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    answeredA();
    await waitOnExecutionContext(ctx);
    expect(created).toHaveLength(1);
    // Request A is over. Request B, later: its start and end must not settle anything A left behind
    // (the session phase's wait for quiet, when its own timer ended it).
    contexts.as('B', () => {
      const answeredB = registry.busy();
      answeredB();
    });
    expect(contexts.crossings).toEqual([]);
  }, 60_000);

  it('a request ending while the first load waits for quiet does not resolve its wait; the sessions still come in the quiet after it', async () => {
    const { registry, created } = countingRegistry();
    const contexts = requestContexts();
    const ctx = createExecutionContext();
    const answeredA = registry.busy();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    const answeredB = contexts.as('B', () => registry.busy());
    answeredA();
    await sleep(80);
    expect(created).toEqual([]); // B is still in progress
    contexts.as('B', () => answeredB());
    await waitOnExecutionContext(ctx);
    expect(created).toHaveLength(1);
    expect(contexts.crossings).toEqual([]);
  }, 60_000);

  it('a caller that needs the models now (bundle(): /healthz, admin) gets them without resolving the load’s wait', async () => {
    // A deferral longer than the test's own timeout: waiting for quiet (or for the deferral to run
    // out) would fail the test, so getting the bundle at all shows the caller did not wait.
    const { registry, created } = countingRegistry({ maxSessionDeferralMs: 10 * 60_000 });
    const contexts = requestContexts();
    const ctx = createExecutionContext();
    const answeredA = registry.busy(); // never quiet while the caller waits
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    const bundle = await contexts.as('H', () => registry.bundle(builtInOnly));
    expect(bundle?.models.similar).toBeDefined();
    expect(created).toHaveLength(1);
    answeredA();
    await waitOnExecutionContext(ctx);
    expect(contexts.crossings).toEqual([]);
  }, 60_000);

  it('a request that comes during the first load gets the catalogue by watching the load on its own timers, not by a resolver the load calls', async () => {
    const { registry } = countingRegistry();
    const contexts = requestContexts();
    const ctxA = createExecutionContext();
    const ctxB = createExecutionContext();
    // A starts the load; B asks before the catalogue is verified, so it has to wait for it.
    const first = registry.catalogue(builtInOnly, ctxA);
    const second = contexts.as('B', () => registry.catalogue(builtInOnly, ctxB));
    const [a, b] = await NativePromise.all([first, second]);
    expect(a).toBeDefined();
    expect(b?.version).toBe(a?.version);
    await waitOnExecutionContext(ctxA);
    await waitOnExecutionContext(ctxB);
    expect(contexts.crossings).toEqual([]);
  }, 60_000);
});
