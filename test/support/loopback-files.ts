/**
 * Files served to the worker tests' workerd over loopback HTTP, for the Vite plugins that hand binary
 * modules to the vitest workers pool (ort-wasm-for-workerd.ts, data-modules-for-workerd.ts). The pool's
 * own route for such modules (its module fallback service) sends a file to every test file's workerd
 * again as JSON: base64 text, or bytes as an array of numbers, which took up to a second a file; a
 * fetch from 127.0.0.1 takes milliseconds. One server for the test process, started by the first file
 * asked for and unreferenced: it never keeps the process alive, and ends with it.
 */
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The bytes of each file asked for (read once), by route (`/0`, `/1`, ...). */
const bytesByRoute = new Map<string, Buffer>();
/** The route of each file asked for, by absolute path. */
const routeByFile = new Map<string, string>();
let origin: Promise<string> | undefined;

function listen(): Promise<string> {
  const server = createServer((request, response) => {
    const bytes = bytesByRoute.get(request.url ?? '');
    if (!bytes) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    response.end(bytes);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** The URL the file at `file` (an absolute path) is served at; its bytes are read on the first call. */
export async function loopbackUrl(file: string): Promise<string> {
  origin ??= listen();
  let route = routeByFile.get(file);
  if (route === undefined) {
    route = `/${routeByFile.size}`;
    bytesByRoute.set(route, fs.readFileSync(file));
    routeByFile.set(file, route);
  }
  return `${await origin}${route}`;
}

/** Module code that fetches `url` while it is evaluated and throws, naming `what`, unless it is answered. */
export function fetchBytesCode(url: string, what: string): string {
  return `const response = await fetch(${JSON.stringify(url)});
if (!response.ok) {
  throw new Error(${JSON.stringify(`${what}: ${url} answered `)} + response.status);
}
const bytes = await response.arrayBuffer();
`;
}
