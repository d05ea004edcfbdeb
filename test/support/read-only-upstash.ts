/**
 * An Upstash REST endpoint that serves reads and refuses writes, as a database at its size limit does
 * (Redis answers writes with OOM then): a stand-in in front of the real local Upstash server, to test
 * that `/healthz` shows failing cache writes while lookups succeed. Requests are passed on unchanged,
 * except that any command that writes (the store script's EVALSHA/EVAL, SET, ...) is answered with
 * Redis's OOM error, alone or inside a pipeline. The headers the Upstash client sends go on too,
 * `Upstash-Encoding` among them: without it the upstream answers plain strings that a client with the
 * default base64 encoding (offRequestRedis) would decode into garbage.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
/** Commands that read only: everything else is refused. */
const READS = new Set([
  'evalsha_ro',
  'eval_ro',
  'get',
  'mget',
  'lrange',
  'smembers',
  'ttl',
  'pttl',
  'exists',
  'script',
]);

export interface ReadOnlyUpstash {
  url: string;
  close(): Promise<void>;
}

const writes = (command: unknown): boolean =>
  !Array.isArray(command) || !READS.has(String(command[0]).toLowerCase());

/** The client's request headers, less those that describe this hop rather than the request. */
function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || ['host', 'connection', 'content-length', 'keep-alive'].includes(name))
      continue;
    forwarded[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return forwarded;
}

export async function startReadOnlyUpstash(upstreamUrl: string): Promise<ReadOnlyUpstash> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      const answer = (status: number, json: unknown) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      let parsed: unknown;
      try {
        parsed = body ? JSON.parse(body) : undefined;
      } catch {
        parsed = undefined;
      }
      const batch = path.startsWith('/pipeline') || path.startsWith('/multi-exec');
      if (!batch && parsed !== undefined && writes(parsed)) return answer(400, { error: OOM });
      if (batch && Array.isArray(parsed) && parsed.some(writes)) {
        return answer(
          200,
          parsed.map((command) => (writes(command) ? { error: OOM } : { result: null })),
        );
      }
      fetch(new URL(path, upstreamUrl), {
        method: request.method,
        headers: forwardedHeaders(request.headers),
        ...(body ? { body } : {}),
      })
        .then(async (upstream) => {
          response.writeHead(upstream.status, { 'content-type': 'application/json' });
          response.end(await upstream.text());
        })
        .catch(() => answer(502, { error: 'upstream unreachable' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
