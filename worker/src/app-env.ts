import type { Env } from './env';

/** Hono's type parameter for every router: bindings plus the variables middlewares set. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
  };
}
