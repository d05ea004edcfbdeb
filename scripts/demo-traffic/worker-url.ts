/**
 * The worker `npm run demo:traffic` browses when no `--url` is given: `RX_WORKER_URL`, else the port
 * `npm start` reads (`RX_PORT`), else npm start's default. `RX_PORT=0` has npm start pick a free
 * port, which no other process can know: it counts as unset (npm start then prints `--url`).
 */

/** npm start's worker address with its default port (scripts/start.ts). */
export const DEFAULT_WORKER_URL = 'http://127.0.0.1:8787';

export function defaultWorkerUrl(env: NodeJS.ProcessEnv): string {
  const url = env.RX_WORKER_URL?.trim();
  if (url) return url;
  const port = env.RX_PORT?.trim();
  return port && Number(port) !== 0 ? `http://127.0.0.1:${port}` : DEFAULT_WORKER_URL;
}
