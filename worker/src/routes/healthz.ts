import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { healthReport } from '../health';

/** `GET /healthz`: status of models, cache and queue; 200 when ok or degraded, 503 when down. */
export const healthz = new Hono<AppEnv>().get('/', async (c) => {
  const report = await healthReport(c.env, c.executionCtx);
  return c.json(report, report.status === 'down' ? 503 : 200, { 'cache-control': 'no-store' });
});
