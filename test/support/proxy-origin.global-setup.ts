/**
 * vitest globalSetup (worker project): starts the proxy tests' origin and the demo shop in Node,
 * and hands their URLs to the tests in workerd via `inject('proxyOriginUrl' | 'demoShopUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { startDemoShop } from '../../scripts/demo-shop/index';
import { startProxyOrigin } from './proxy-origin';

declare module 'vitest' {
  export interface ProvidedContext {
    proxyOriginUrl: string;
    demoShopUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [origin, shop] = await Promise.all([startProxyOrigin(), startDemoShop()]);
  project.provide('proxyOriginUrl', origin.url);
  project.provide('demoShopUrl', shop.url);
  return async () => {
    await Promise.all([origin.close(), shop.close()]);
  };
}
