/**
 * A local HTTP server that answers every request only after `delayMs`: a stand-in for an overloaded
 * Upstash endpoint, to test that the worker's cache budget holds. It answers with a valid Upstash
 * reply (`{"result": null}` per pipeline command) so only the delay is wrong.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowServer {
  url: string;
  /** How many requests arrived (to check the worker really tried). */
  requests(): number;
  close(): Promise<void>;
}

export async function startSlowHttpServer(delayMs: number): Promise<SlowServer> {
  let count = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server: Server = createServer((request, response) => {
    count++;
    request.resume();
    const timer = setTimeout(() => {
      timers.delete(timer);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        request.url?.includes('pipeline') ? '[{"result":null},{"result":null}]' : '{"result":null}',
      );
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A loopback port with nothing listening: connections are refused. A port below 1024 that no test
 * machine serves and that fetch does not refuse on its own (the Fetch standard's "bad ports", 9
 * discard among them, fail before connecting). A port bound and then released would do only until
 * another file's `listen(0)` (a fixture server, workerd) is given it during the run, and then answers.
 */
export const CLOSED_PORT = 47;
