/**
 * What `npm start` prints once the stack answers: the addresses, what the worker's `/healthz` says of
 * its models and its configuration, and what to do next. Pure formatting, so it is tested without a
 * stack (test/node/dev-stack.test.ts).
 */
import { DEFAULT_WORKER_URL } from '../demo-traffic/worker-url';
import type { OriginSource } from './wrangler-config';

/** One component of the worker's `/healthz` report. */
export interface ComponentHealth {
  status: string;
  detail?: string;
}

/** The parts of `/healthz` the summary shows; `error` when it could not be read. */
export interface HealthView {
  models?: ComponentHealth;
  config?: ComponentHealth;
  error?: string;
}

/** Picks `models` and `config` out of a `/healthz` body (anything else: left out). */
export function healthView(body: unknown): HealthView {
  const components = (body as { components?: Record<string, unknown> } | null)?.components;
  const pick = (name: string): ComponentHealth | undefined => {
    const component = components?.[name] as Partial<ComponentHealth> | undefined;
    if (typeof component?.status !== 'string') return undefined;
    return typeof component.detail === 'string'
      ? { status: component.status, detail: component.detail }
      : { status: component.status };
  };
  return { models: pick('models'), config: pick('config') };
}

/**
 * The built-in demo bundle, a published one, or why none is served (e.g. `ORIGIN_URL` set and nothing
 * published: DEMO_BUNDLE is off for other origins).
 */
export function modelsText(health: HealthView): string {
  if (health.error) return `unknown (/healthz: ${health.error})`;
  const models = health.models;
  return models ? `${models.status}: ${models.detail ?? ''}` : 'unknown (no models in /healthz)';
}

/**
 * The worker's configuration as `/healthz` `config` has it: `ok`, `degraded — <problems>` (a setting
 * it does not accept, the default used instead) or `DOWN — <problem>` (`ORIGIN_URL` unusable: no page
 * can be proxied). Capitals, so it is not missed among the addresses.
 */
export function configText(health: HealthView): string {
  if (health.error) return `unknown (/healthz: ${health.error})`;
  const config = health.config;
  if (!config) return 'unknown (no config in /healthz)';
  if (config.status === 'ok') return 'ok';
  const status = config.status === 'down' ? 'DOWN' : config.status;
  return config.detail ? `${status} — ${config.detail}` : status;
}

export interface SummaryInput {
  seconds: number;
  workerUrl: string;
  /** Where the origin comes from; `demo shop` when the stack started it. */
  originSource: OriginSource;
  /** The demo shop's address, or the origin the worker proxies. */
  originUrl: string;
  upstash?: { url: string; backend: string };
  /** The local MongoDB and the database the worker writes events into there. */
  mongo?: { uri: string; database: string };
  health: HealthView;
  /** The data folder as shown (relative to the working directory when inside it). */
  dataDir: string;
  /** Worker settings taken from the environment (names only: some are secrets). */
  fromEnvironment: string[];
}

const ORIGIN_LABELS: Record<OriginSource, string> = {
  'demo shop': 'Demo shop (origin)',
  environment: 'Origin (ORIGIN_URL, environment)',
  'wrangler.toml': 'Origin (ORIGIN_URL, wrangler.toml)',
};

/** The lines printed after "Starting the local stack...", ending with a blank line. */
export function formatSummary(input: SummaryInput): string {
  const demo = input.originSource === 'demo shop';
  const config = input.health.config;
  const rows: Array<[string, string]> = [
    [demo ? 'Personalized demo shop' : 'Your shop, personalized', `${input.workerUrl}/`],
    [ORIGIN_LABELS[input.originSource], input.originUrl],
    [
      'Local Upstash (REST)',
      input.upstash
        ? `${input.upstash.url} (backend: ${input.upstash.backend})`
        : 'not started: UPSTASH_REDIS_REST_URL is set',
    ],
    ['Local MongoDB', input.mongo ? input.mongo.uri : 'not started: MONGODB_URI is set'],
    ['Worker health', `${input.workerUrl}/healthz`],
    [
      'Live experiment',
      `${input.workerUrl}/admin/live/screen (ADMIN_TOKEN in ${input.dataDir}/run/worker.env)`,
    ],
    ['Models', modelsText(input.health)],
    ['Config', configText(input.health)],
    ['Data and dev secrets', `${input.dataDir}/ (tokens in ${input.dataDir}/run/worker.env)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const ready = `Ready in ${input.seconds.toFixed(1)} s`;
  const lines = [
    '',
    config?.status === 'down'
      ? `${ready}, but the worker's configuration is DOWN: no page can be proxied (Config below).`
      : config && config.status !== 'ok'
        ? `${ready}, with configuration problems (Config below).`
        : `${ready}.`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
  ];
  if (input.fromEnvironment.length > 0) {
    lines.push('', `  From the environment: ${input.fromEnvironment.join(', ')}`);
  }
  lines.push('');
  // demo:traffic browses the demo shop's paths and products: on another shop it finds none of them.
  // Without --url it goes to npm start's default address (or RX_PORT of its own shell).
  if (demo)
    lines.push(
      `Simulated shoppers: npm run demo:traffic${input.workerUrl === DEFAULT_WORKER_URL ? '' : ` -- --url ${input.workerUrl}`}`,
    );
  // The local MongoDB's address only: a MONGODB_URI from the environment holds a password. With the
  // database in the path: report reads MONGODB_DB of its own shell otherwise, else `rx`.
  if (input.mongo)
    lines.push(
      `Treatment against holdout: npm run report -- --format mongodb --input ${uriWithDatabase(input.mongo.uri, input.mongo.database)}`,
    );
  lines.push('Ctrl-C stops everything.', '');
  return lines.join('\n');
}

/** `uri` (the local MongoDB's: no credentials) with `database` as its path, its options kept. */
export function uriWithDatabase(uri: string, database: string): string {
  const [address = '', query] = uri.split('?');
  const scheme = address.indexOf('//') + 2;
  const slash = address.indexOf('/', scheme);
  const hosts = slash < 0 ? address : address.slice(0, slash);
  return `${hosts}/${encodeURIComponent(database)}${query === undefined ? '' : `?${query}`}`;
}
