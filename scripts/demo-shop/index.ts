/**
 * The demo shop origin: `startDemoShop()` serves "Hearth & Ribbon", a small real shop built from the
 * Online Retail catalogue, with the `data-rx-*` markup that proxy mode and rx.js fill (DESIGN.md "Markup").
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadCatalogue } from './catalogue';
import { createShopListener } from './router';

export interface DemoShopOptions {
  /** Loopback by default: the shop is a local origin for the worker. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Script mode: the `src` of rx.js (e.g. `http://127.0.0.1:8787/rx.js`) to put on every page. */
  pluginSrc?: string;
  /** `data-site` of the plugin tag (default `demo`, the worker's default SITE_ID). */
  siteId?: string;
  /**
   * Milliseconds to wait before answering each request: a real shop's server time (benchmarks use it
   * to show what the proxy adds in front of an origin that is not on the same machine). Default 0.
   */
  responseDelayMs?: number;
}

export interface DemoShop {
  /** `http://HOST:PORT` without a trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the demo shop; rejects with the listen error (e.g. EADDRINUSE) if the port is taken. */
export async function startDemoShop(options: DemoShopOptions = {}): Promise<DemoShop> {
  const host = options.host ?? '127.0.0.1';
  const listener = createShopListener({
    catalogue: loadCatalogue(),
    pluginSrc: options.pluginSrc,
    siteId: options.siteId ?? 'demo',
  });
  const delay = options.responseDelayMs ?? 0;
  const server = createServer(
    delay > 0 ? (request, response) => void setTimeout(() => listener(request, response), delay) : listener,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (browsers, the worker) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
