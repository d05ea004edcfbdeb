/**
 * A cold isolate under real workerd request contexts (`wrangler dev`): the first request is answered
 * from the catalogue, the model sessions are created in the quiet after it, and a request well after
 * that is answered by the model. workerd ties each promise to the request it was created in, and warns
 * when one is resolved from another request's context after its own request is over ("A promise was
 * resolved or rejected from a different request context ..."), cancelling its continuations. The
 * registry once left the session phase's wait for quiet queued when its timer ended it, and the next
 * request's end resolved it: that warning, once per cold isolate (BundleRegistry, class comment).
 * test/worker/registry-request-contexts.test.ts checks the same rule case by case, inside one context.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev, type WranglerDev } from '../../scripts/dev/wrangler-dev';

const CROSS_REQUEST_WARNING = /different request context/i;
const QUERY = 'placement=product&product_id=85123A&limit=4';

let worker: WranglerDev;
let runDir: string;
const output: string[] = [];

beforeAll(async () => {
  runDir = await mkdtemp(path.join(os.tmpdir(), 'rx-request-contexts-'));
  worker = await startWranglerDev({
    host: '127.0.0.1',
    port: await freePort('127.0.0.1'),
    vars: { SITE_ID: 'request-contexts-test', DEMO_BUNDLE: 'true', LOG_LEVEL: 'info', HOLDOUT_PERCENT: '0' },
    runDir,
    persistTo: path.join(runDir, 'state'),
    // Not /healthz: that loads the models at once (it needs them now), and this isolate must stay cold.
    readyPath: '/rx.js',
    onOutput: (line) => output.push(line),
    readyTimeoutMs: 120_000,
  });
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

async function recommend(): Promise<{ source: string }> {
  const response = await fetch(`${worker.url}/v1/recommendations?${QUERY}`, {
    headers: { 'x-rx-uid': crypto.randomUUID() },
    signal: AbortSignal.timeout(15_000),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { source: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForOutput(pattern: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!output.some((line) => pattern.test(line))) {
    if (Date.now() > deadline)
      throw new Error(`wrangler never printed ${pattern}:\n${output.slice(-20).join('\n')}`);
    await sleep(50);
  }
}

describe('a cold isolate under workerd: two requests with a quiet gap between them', () => {
  it('creates the sessions in the gap, serves the model after it, and no request resolves a promise of another', async () => {
    // The first request of the isolate: answered from the catalogue, the sessions not created yet.
    expect((await recommend()).source).toBe('popularity');
    // Created in the quiet after it (50 ms without a request; the block itself takes ~0.3-0.5 s).
    await waitForOutput(/"event":"model_bundle_loaded"/, 15_000);
    // The gap: the first request and its background work are over well before the next one.
    await sleep(1_500);
    expect((await recommend()).source).toBe('similar');
    // The warning comes as the second request ends; give wrangler's output a moment to arrive.
    await sleep(1_000);
    expect((await recommend()).source).toBe('similar');
    await sleep(500);
    expect(output.filter((line) => CROSS_REQUEST_WARNING.test(line))).toEqual([]);
  }, 60_000);
});
