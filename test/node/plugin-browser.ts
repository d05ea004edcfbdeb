/**
 * Real headless Chromium for the plugin's browser tests and benchmark (Debian's /usr/bin/chromium
 * driven by playwright-core; `.ci/run` installs it). Each browser gets a fresh profile directory,
 * so no cookie or localStorage leaks from one test into another.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Chromium is looked for; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running browser with its own profile; `close()` removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  /** A new tab whose uncaught errors (`pageerror`) are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: Error[] }>;
  close(): Promise<void>;
}

/** Fails with the fix when Chromium is missing, instead of a playwright stack trace. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: run \`apt-get install chromium\` (as .ci/run does)`,
    );
  }
}

/**
 * `userAgent`: headless Chromium says "HeadlessChrome", which the proxy rightly treats as a bot
 * (original page, nothing injected); proxy-mode tests pass a desktop Chrome user agent instead.
 */
export async function launchBrowser(options: { userAgent?: string } = {}): Promise<TestBrowser> {
  assertChromium();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'rx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: Error[] = [];
      page.on('pageerror', (error) => errors.push(error));
      return { page, errors };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
