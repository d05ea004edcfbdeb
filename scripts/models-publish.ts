/**
 * `npm run models:publish -- DIR [--url URL]`: publishes a model bundle folder to a deployed worker, which
 * switches to it by version without a redeploy.
 *
 * The bundle is checked here first (manifest schema, every file's size and sha256), then each file is
 * uploaded with `PUT {url}/admin/models/{version}/{file}` and `POST {url}/admin/models/{version}/activate`
 * asks the worker to load it. The worker verifies the checksums again and creates the ONNX sessions
 * before it moves its `current.json` pointer (R2), so a bundle that does not load is never published;
 * other isolates pick the new version up within MODEL_POLL_SECONDS.
 *
 * Running it again on the same folder (a retry after a failure, or racing the run it retries) is safe:
 * files already stored with the same bytes are accepted again, and so is the bundle trained again from
 * the same data (the same version, a manifest that differs only in `createdAt`: the stored one is kept
 * and activated). Two runs publishing different folders
 * under one version at once are safe too: the worker stores each file of a version once (an R2
 * conditional write) and answers 409 version_exists to other bytes, so one run completes and the
 * other stops at its first refused file without activating anything. Of two runs activating
 * different versions at once, the first to move the pointer wins; the other is told that its version
 * is not the one served (409 pointer_moved) and that running it again makes it so.
 *
 * Why the admin endpoint rather than `wrangler r2 object put`: the worker is the one that must accept
 * the bundle, and it answers with why it refused one (and a plain object put would replace a stored file). Needs `ADMIN_TOKEN` (the worker's secret) in the
 * environment and the worker URL in `--url` or `RX_WORKER_URL`: its root, no path (workerUrlProblem).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { declaredModelBytes, MAX_BUNDLE_BYTES, type Manifest, ManifestSchema } from '../contracts/manifest';
import { bearerTokenProblem, withoutSecret } from './header-token';
import { isMain } from './is-main';

export interface PublishOptions {
  /** Base URL of the worker, e.g. https://rx.shop.example */
  url: string;
  adminToken: string;
  log?: (line: string) => void;
}

export interface PublishResult {
  version: string;
  files: string[];
  models: string[];
}

/** Thrown with a message that says what to fix. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads and checks a bundle folder; returns its manifest and files (name → bytes). */
export async function readBundleFolder(
  dir: string,
): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new PublishError(`${dir} has no manifest.json: pass the folder npm run train wrote (--out DIR)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new PublishError(
      `manifest.json is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PublishError(`manifest.json is invalid: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const manifest = parsed.data;
  // The worker refuses a bundle over MAX_BUNDLE_BYTES (contracts/manifest.ts): say so before uploading it.
  const modelBytes = declaredModelBytes(manifest);
  if (modelBytes > MAX_BUNDLE_BYTES) {
    throw new PublishError(
      `the models add up to ${modelBytes} bytes (manifest.json models[].bytes); a bundle may hold at most ${MAX_BUNDLE_BYTES}`,
    );
  }
  const files = new Map<string, Uint8Array>([['manifest.json', new TextEncoder().encode(raw)]]);
  const listed = [
    {
      file: manifest.catalogue.file,
      sha256: manifest.catalogue.sha256,
      bytes: undefined as number | undefined,
    },
    ...manifest.models.map((m) => ({ file: m.file, sha256: m.sha256, bytes: m.bytes as number | undefined })),
  ];
  for (const entry of listed) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path.join(dir, entry.file)));
    } catch {
      throw new PublishError(`${entry.file} is listed in manifest.json but missing from ${dir}`);
    }
    if (entry.bytes !== undefined && bytes.byteLength !== entry.bytes) {
      throw new PublishError(
        `${entry.file} has ${bytes.byteLength} bytes, manifest.json says ${entry.bytes}`,
      );
    }
    if (sha256(bytes) !== entry.sha256)
      throw new PublishError(`${entry.file} does not match its sha256 in manifest.json`);
    files.set(entry.file, bytes);
  }
  const catalogueBytes = files.get(manifest.catalogue.file)?.byteLength ?? 0;
  if (catalogueBytes + modelBytes > MAX_BUNDLE_BYTES) {
    throw new PublishError(
      `${manifest.catalogue.file} (${catalogueBytes} bytes) and the models (${modelBytes}) add up to more than the ${MAX_BUNDLE_BYTES} bytes a bundle may hold`,
    );
  }
  return { manifest, files };
}

/** The worker's error: its code (when it sent one) and a text of its message and reasons. */
async function errorOf(response: Response): Promise<{ code?: string; text: string }> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as {
      error?: { code?: string; message?: string; details?: Array<{ field?: string; reason?: string }> };
    };
    const reasons = (body.error?.details ?? [])
      .filter((d) => d.reason)
      .map((d) => (d.field ? `${d.field}: ${d.reason}` : d.reason));
    const code = body.error?.code;
    return { ...(code ? { code } : {}), text: [body.error?.message ?? text, ...reasons].join('\n  ') };
  } catch {
    return { text: text.slice(0, 500) };
  }
}

/**
 * The admin token goes only over https, or to this machine: over plain http anyone on the path
 * could read it and publish models of their own.
 */
export function assertSafeToSendToken(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PublishError(`--url ${url} is not a URL`);
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local)) {
    throw new PublishError(
      `--url must be https:// (or http://localhost): the admin token would travel in the clear to ${parsed.host}`,
    );
  }
}

/**
 * Why a worker URL cannot be published to (undefined: it can), naming where it came from (`from`:
 * `--url` or `RX_WORKER_URL`). Only the worker's root: the worker answers the admin API at
 * `/admin/models/…` alone, so under a path (`https://shop.example/en`) the uploads, each with the admin
 * token, were the shop's pages, passed on to the shop's origin. A query string or fragment would put
 * `/admin/models/…` into it, and the request would go to `/`, the shop's home page.
 */
export function workerUrlProblem(url: string, from: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/\/+$/, ''));
  } catch {
    return `${from} ${url} is not a URL`;
  }
  // The href, not pathname/search/hash: an empty `?` or `#` is in neither, and would still take the path.
  if (parsed.href.replace(/\/$/, '') === parsed.origin) return undefined;
  const rest = parsed.href.slice(parsed.href.indexOf(parsed.host) + parsed.host.length);
  return (
    `${from} must be the worker's root URL alone, like ${parsed.origin}, without "${rest}" ` +
    '(no path, query, fragment or user name): the admin API is at /admin/models/… there, and under ' +
    "another path the admin token would be sent to the shop's pages"
  );
}

/**
 * `fetch`, with a worker that cannot be reached (refused, unknown host, TLS) said in one line naming the
 * worker and the reason, instead of undici's bare "fetch failed" and a stack trace.
 */
async function reach(base: string, url: string, init: RequestInit, token: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    // fetch's refusal of a header quotes its value (the admin token): never print it.
    const reason = withoutSecret(cause instanceof Error ? cause.message : String(cause), token);
    if (error instanceof Error && error.message !== 'fetch failed')
      throw new PublishError(`could not send the request to ${base}: ${reason}`);
    throw new PublishError(`cannot reach the worker at ${base}: ${reason} (is it running? check --url)`);
  }
}

/** Uploads and activates a bundle folder on a worker. */
export async function publishBundle(dir: string, options: PublishOptions): Promise<PublishResult> {
  const log = options.log ?? (() => undefined);
  const { manifest, files } = await readBundleFolder(dir);
  const base = options.url.replace(/\/+$/, '');
  assertSafeToSendToken(base);
  const urlProblem = workerUrlProblem(options.url, '--url');
  if (urlProblem) throw new PublishError(urlProblem);
  const tokenProblem = bearerTokenProblem('ADMIN_TOKEN', options.adminToken);
  if (tokenProblem) throw new PublishError(tokenProblem);
  const headers = { authorization: `Bearer ${options.adminToken}` };
  // The manifest goes last, so a half-uploaded folder never has a manifest pointing at missing files.
  const order = [...files.keys()].filter((f) => f !== 'manifest.json').concat('manifest.json');
  for (const file of order) {
    const body = files.get(file) ?? new Uint8Array();
    const response = await reach(
      base,
      `${base}/admin/models/${encodeURIComponent(manifest.version)}/${encodeURIComponent(file)}`,
      {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body,
      },
      options.adminToken,
    );
    if (response.status === 401)
      throw new PublishError('the worker refused the admin token: check ADMIN_TOKEN');
    if (response.status === 404)
      throw new PublishError(`${base} has no admin endpoint: is ADMIN_TOKEN set on the worker?`);
    if (!response.ok)
      throw new PublishError(
        `upload of ${file} failed (${response.status}): ${(await errorOf(response)).text}`,
      );
    log(`uploaded ${file} (${body.byteLength} bytes)`);
  }
  const activate = await reach(
    base,
    `${base}/admin/models/${encodeURIComponent(manifest.version)}/activate`,
    {
      method: 'POST',
      headers,
    },
    options.adminToken,
  );
  if (!activate.ok) {
    const error = await errorOf(activate);
    if (error.code === 'pointer_moved' || error.code === 'activation_superseded') {
      // Not a fault of the bundle: another publish won the race. Its files are stored and verified, so
      // running the same command again publishes it (the uploads are accepted as the same bytes).
      throw new PublishError(
        `bundle ${manifest.version} loaded, but another activation overtook it: ${manifest.version} is NOT the version served. ` +
          `Run models:publish again if ${manifest.version} should win (${activate.status} ${error.code}):\n  ${error.text}`,
      );
    }
    if (activate.status >= 500) {
      // The worker's store (503 model_store_unavailable) or the worker itself failed: no verdict on the
      // bundle. Its files are stored, so running the same command again activates it.
      throw new PublishError(
        `the worker could not activate bundle ${manifest.version}, it did not refuse it (${activate.status}${error.code ? ` ${error.code}` : ''}); ` +
          `the previous bundle is still served. Run models:publish again:\n  ${error.text}`,
      );
    }
    throw new PublishError(
      `the worker refused bundle ${manifest.version} (${activate.status}): ${error.text}`,
    );
  }
  const result = (await activate.json()) as { models?: string[] };
  return { version: manifest.version, files: order, models: result.models ?? [] };
}

const USAGE =
  'usage: ADMIN_TOKEN=... npm run models:publish -- DIR --url https://your-worker.example\n' +
  '       (or RX_WORKER_URL=... instead of --url)\n' +
  '  DIR        a model bundle: the folder npm run train wrote (--out DIR)\n' +
  '  --url URL  the worker, its root (https://, or http://localhost); default RX_WORKER_URL\n' +
  '  -h, --help this text';

/** A command line this command cannot run: one line saying why, then the usage, exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The command line: `help`, or the folder and `--url` as given. Throws a UsageError for an unknown
 * option, an option without its value or given twice, and more than one folder (the extra one was
 * ignored: `DIR https://worker` published to RX_WORKER_URL, or failed on a missing --url).
 */
export function parsePublishArgs(
  argv: string[],
): { help: true } | { help: false; dir?: string; url?: string } {
  const { tokens } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  let url: string | undefined;
  const dirs: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'positional') dirs.push(token.value);
    if (token.kind !== 'option') continue;
    // An unknown option's value is not quoted back (`--token=…` may be a secret).
    if (token.name === 'help') help = true;
    else if (token.name !== 'url') throw new UsageError(`unknown option ${token.rawName}`);
    else if (url !== undefined) throw new UsageError('--url is given more than once; give it once');
    else if (!token.value || (token.value.startsWith('-') && !token.inlineValue))
      throw new UsageError('--url needs a value (the worker, e.g. --url https://your-worker.example)');
    else url = token.value;
  }
  if (help) return { help: true };
  if (dirs.length > 1) {
    const extra = dirs[1] ?? '';
    const hint = /^https?:\/\//.test(extra) ? ' (the worker goes in --url)' : '';
    throw new UsageError(`unexpected argument "${extra}": give one bundle folder${hint}`);
  }
  return { help: false, dir: dirs[0], url };
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parsePublishArgs>;
  try {
    args = parsePublishArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`models:publish: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const dir = args.dir;
  const url = args.url ?? process.env.RX_WORKER_URL;
  const adminToken = process.env.ADMIN_TOKEN;
  if (!dir || !url || !adminToken) {
    const missing = [
      dir ? '' : 'the bundle folder (DIR, what npm run train wrote with --out)',
      url ? '' : 'the worker (--url or RX_WORKER_URL)',
      adminToken ? '' : 'the admin token (ADMIN_TOKEN in the environment)',
    ].filter(Boolean);
    console.error(`models:publish: missing ${missing.join('; ')}\n${USAGE}`);
    process.exit(2);
  }
  const tokenProblem = bearerTokenProblem('ADMIN_TOKEN', adminToken);
  if (tokenProblem) {
    console.error(`models:publish: ${tokenProblem}`);
    process.exit(2);
  }
  const urlProblem = workerUrlProblem(url, args.url === undefined ? 'RX_WORKER_URL' : '--url');
  if (urlProblem) {
    console.error(`models:publish: ${urlProblem}`);
    process.exit(2);
  }
  const result = await publishBundle(path.resolve(dir), {
    url,
    adminToken,
    log: (line) => console.log(line),
  });
  console.log(`published ${result.version}: models ${result.models.join(', ')}`);
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof PublishError ? `models:publish: ${error.message}` : error);
    process.exit(1);
  });
}
