/**
 * vitest globalSetup (one per worker project): starts the proxy tests' origin and the demo shop in Node,
 * and hands their URLs to the tests in workerd via `inject('proxyOriginUrl' | 'demoShopUrl')`, with
 * `closedOriginUrl`: a loopback port found free, where nothing listens (an origin that is down).
 */
import type { TestProject } from 'vitest/node';
import { startDemoShop } from '../../scripts/demo-shop/index';
import { startProxyOrigin } from './proxy-origin';
import { CLOSED_PORT } from './slow-http-server';

declare module 'vitest' {
  export interface ProvidedContext {
    proxyOriginUrl: string;
    demoShopUrl: string;
    closedOriginUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [origin, shop] = await Promise.all([startProxyOrigin(), startDemoShop()]);
  const deadPort = CLOSED_PORT;
  project.provide('proxyOriginUrl', origin.url);
  project.provide('demoShopUrl', shop.url);
  project.provide('closedOriginUrl', `http://127.0.0.1:${deadPort}`);
  return async () => {
    await Promise.all([origin.close(), shop.close()]);
  };
}
