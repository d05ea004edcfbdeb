/**
 * Real headless Chromium for the plugin's browser tests and benchmark (Debian's /usr/bin/chromium
 * driven by playwright-core; `.ci/run` installs it). `launchBrowser` starts a browser with a fresh
 * profile directory; `startChromium` starts one Chromium for a test file, whose `fresh()` gives each
 * test a browser context of its own (a new, empty in-memory profile: no cookie, localStorage, cache
 * or service worker of another context), so no state leaks from one test into another without
 * paying a Chromium start (2-3 s) per test.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

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
 * (original page, nothing injected); proxy-mode tests pass `DESKTOP_CHROME_USER_AGENT` instead.
 */
export const DESKTOP_CHROME_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

export interface BrowserOptions {
  userAgent?: string;
}

function contextOptions(options: BrowserOptions): BrowserContextOptions {
  return {
    viewport: { width: 1280, height: 800 },
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  };
}

function testBrowser(context: BrowserContext, close: () => Promise<void>): TestBrowser {
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: Error[] = [];
      page.on('pageerror', (error) => errors.push(error));
      return { page, errors };
    },
    close,
  };
}

/** A Chromium of its own, on a fresh profile directory (removed by `close()`). */
export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  assertChromium();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'rx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    ...contextOptions(options),
  });
  return testBrowser(context, async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  });
}

/** One Chromium for many tests: each `fresh()` is a new browser context, closed by its `close()`. */
export interface SharedChromium {
  fresh(options?: BrowserOptions): Promise<TestBrowser>;
  close(): Promise<void>;
}

export async function startChromium(): Promise<SharedChromium> {
  assertChromium();
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  return {
    async fresh(options = {}) {
      const context = await browser.newContext(contextOptions(options));
      return testBrowser(context, () => context.close());
    },
    close: () => browser.close(),
  };
}
