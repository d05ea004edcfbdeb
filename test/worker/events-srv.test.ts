/**
 * `mongodb+srv://`, the connection string Atlas gives everyone, from workerd. The driver looks up the
 * SRV record (the hosts) and the TXT record (options such as `authSource`) with `node:dns`, which
 * workerd answers by DNS over HTTPS: a `fetch` to https://cloudflare-dns.com/dns-query. Here that one
 * fetch is answered by the test, with records naming the project's TLS MongoDB stand-in, so the whole
 * path runs as on Atlas: both lookups, TLS (implied by `+srv`, the certificate verified against the
 * host the SRV record names) and the password login. Not covered: Cloudflare's real DNS answers.
 */
import { createExecutionContext, getQueueResult } from 'cloudflare:test';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import worker from '../../worker/src/index';
import { batchOf, countRun, mongodbHealth, runId, storedEvents, workerEnv } from './events-support';

const DOH_HOST = 'cloudflare-dns.com';
/**
 * The name the SRV record is looked up under. The driver takes an SRV answer only for a host in the
 * same parent domain as this name, and the stand-in's host is `127.0.0.1`, whose parent is `0.0.1`.
 */
const SRV_NAME = 'cluster0.0.0.1';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Answers workerd's DNS-over-HTTPS queries with `records` (name and type → data); the questions asked. */
function answerDns(records: Record<string, string>): string[] {
  const asked: string[] = [];
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname !== DOH_HOST) return realFetch(input, init);
    const name = url.searchParams.get('name') ?? '';
    const type = url.searchParams.get('type') ?? '';
    asked.push(`${type} ${name}`);
    const data = records[`${type} ${name}`];
    const code = type === 'SRV' ? 33 : 16;
    // The JSON of Cloudflare's DNS API, as workerd's node:dns reads it.
    return Response.json({
      Status: data === undefined ? 3 : 0,
      Question: [{ name, type: code }],
      ...(data === undefined ? {} : { Answer: [{ name, type: code, TTL: 60, data }] }),
    });
  };
  return asked;
}

describe.runIf(inject('mongoUntrustedTlsUri') !== '')('mongodb+srv:// from workerd (DNS over HTTPS)', () => {
  it('looks up the SRV and TXT records, connects over TLS to the host they name, and stores the batch', async () => {
    const project = new URL(inject('mongoUri'));
    const asked = answerDns({
      [`SRV _mongodb._tcp.${SRV_NAME}`]: `0 5 ${project.port} 127.0.0.1`,
      [`TXT ${SRV_NAME}`]: '"authSource=admin"',
    });
    // A database in the path: without the TXT record's authSource=admin, the login would go to `rx`,
    // where the stand-in has no users, and fail; so the test needs both answers.
    const uri = `mongodb+srv://${project.username}:${project.password}@${SRV_NAME}/rx?retryWrites=true&w=majority`;
    const run = runId();
    const batch = batchOf(storedEvents(run, 3), `srv-${run}`);
    const ctx = createExecutionContext();
    // Without the writer object: the batch's client runs here, where the DNS answers are.
    await worker.queue(batch, workerEnv({ MONGODB_URI: uri, EVENT_WRITER: undefined }));
    const result = await getQueueResult(batch, ctx);
    expect(asked.sort()).toEqual([`SRV _mongodb._tcp.${SRV_NAME}`, `TXT ${SRV_NAME}`]);
    expect(result.explicitAcks).toHaveLength(3);
    globalThis.fetch = realFetch;
    expect(await countRun(run)).toBe(3);
  });

  it('retries every message when the SRV record does not exist; the log names the lookup, /healthz not', async () => {
    const project = new URL(inject('mongoUri'));
    answerDns({});
    const uri = `mongodb+srv://${project.username}:${project.password}@${SRV_NAME}/`;
    const run = runId();
    const batch = batchOf(storedEvents(run, 2), `srv-missing-${run}`);
    const ctx = createExecutionContext();
    const logged = vi.spyOn(console, 'error');
    let log: string;
    try {
      await worker.queue(batch, workerEnv({ MONGODB_URI: uri, EVENT_WRITER: undefined }));
    } finally {
      log = logged.mock.calls.map((call) => call.join(' ')).join('\n');
      logged.mockRestore();
    }
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(2);
    // The operator's log names the name that was looked up; the public /healthz only what failed.
    expect(log).toContain(`querySrv ENOTFOUND _mongodb._tcp.${SRV_NAME}`);
    const { mongodb, text } = await mongodbHealth({ MONGODB_URI: uri });
    expect(mongodb?.detail).toContain('querySrv ENOTFOUND <host>');
    expect(text).not.toContain(SRV_NAME);
    expect(text).not.toContain(project.password);
    expect(log).not.toContain(project.password);
  });
});
