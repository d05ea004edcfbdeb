/**
 * The setup of the plugin's browser tests against the recording API (plugin-behaviour.test.ts,
 * plugin-delivery.test.ts): `usePluginInChromium()` registers the file's hooks, which build the plugin
 * (the tag's IIFE at `/rx.js`, the ESM build at `/rx.esm.js`), start the recording API and one
 * Chromium for the file, and give each test a clean API record and a fresh browser context (no cookie,
 * consent or queued event carries over).
 *
 * `api` and `browser` are set by those hooks (ES modules export live bindings): read them inside
 * tests and hooks, never at a test file's top level.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { buildPlugin } from '../../storefront-plugin/build';
import { type SharedChromium, startChromium, type TestBrowser } from './plugin-browser';
import { type FixtureApi, startFixtureApi } from './plugin-fixture-api';

/** The recording API, one per test file (reset before each test). */
export let api: FixtureApi;
/** This test's browser context. */
export let browser: TestBrowser;

export function usePluginInChromium(): void {
  let chromium: SharedChromium;
  beforeAll(async () => {
    const built = await buildPlugin();
    [api, chromium] = await Promise.all([startFixtureApi(built.iife.code, built.esm.code), startChromium()]);
  });
  afterAll(async () => {
    await chromium?.close();
    await api?.close();
  });
  beforeEach(async () => {
    await api.reset();
    browser = await chromium.fresh();
  });
  afterEach(async () => {
    await browser?.close();
  });
}
