/**
 * `npm run bench -- plugin [--runs N] [--path /products/85123A]`
 *
 * 1. Size of rx.js: the bundle unminified, minified, and minified + gzip (level 9), against the
 *    6 KB budget; the ESM flavour too.
 * 2. What the script costs the page, in headless Chromium on the demo shop served directly in
 *    script mode against the real local stack (`startStack`): the same page loaded N times with
 *    rx.js and N times with rx.js blocked, each in a fresh tab; CDP `Performance.getMetrics`
 *    `ScriptDuration` / `TaskDuration` (main-thread time) and the time until every slot is filled.
 *    The script's cost is the difference of the medians.
 */
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { startStack } from '../../scripts/dev/stack';
import { buildPlugin, GZIP_BUDGET_BYTES } from '../../storefront-plugin/build';
import { launchBrowser } from '../../test/node/plugin-browser';
import type { BenchResult } from '../types';

interface PageCost {
  scriptMs: number;
  taskMs: number;
  /** Navigation start → every slot filled or failed, after a scroll to the bottom (only with the plugin). */
  slotsFilledMs: number | null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/**
 * Records when every slot has been filled (or given up), from inside the page and without polling:
 * in-page polling (playwright's waitForFunction) would itself count as script time.
 */
const SLOTS_SETTLED_RECORDER = `
  window.__rxSettled = null;
  const observer = new MutationObserver(() => {
    const slots = [...document.querySelectorAll('[data-rx-slot]')];
    if (slots.length && slots.every((s) => s.dataset.rxState === 'filled' || s.dataset.rxState === 'failed')) {
      window.__rxSettled = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, attributes: true, attributeFilter: ['data-rx-state'] });
`;

/** Time given to the page after load and a scroll to the bottom; both modes wait the same. */
const SETTLE_MS = 4000;

async function measure(page: Page, url: string): Promise<PageCost> {
  await page.addInitScript(SLOTS_SETTLED_RECORDER);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url, { waitUntil: 'load' });
  // Slots below the fold fill when they come near the viewport: both modes scroll the same way.
  await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
  await page.waitForTimeout(SETTLE_MS);
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  const metric = (name: string) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
  const slotsFilledMs = (await page.evaluate('window.__rxSettled')) as number | null;
  await cdp.detach();
  return { scriptMs: metric('ScriptDuration'), taskMs: metric('TaskDuration'), slotsFilledMs };
}

export default async function pluginBench(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string', default: '10' },
      path: { type: 'string', default: '/products/85123A' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive whole number, got "${values.runs}"`);

  const [minified, unminified] = await Promise.all([buildPlugin(), buildPlugin({ minify: false })]);
  const stack = await startStack({
    shopScriptMode: true,
    workerVars: { HOLDOUT_PERCENT: '0' },
    readyTimeoutMs: 150_000,
  });
  const browser = await launchBrowser();
  const url = `${stack.shopUrl ?? ''}${values.path}`;
  const costs: Record<'with' | 'without', PageCost[]> = { with: [], without: [] };
  try {
    // One warm-up each, so the worker's first model load and the HTTP cache do not count.
    for (let i = 0; i <= runs; i++) {
      for (const mode of ['with', 'without'] as const) {
        const { page } = await browser.newPage();
        if (mode === 'without') await page.route('**/rx.js', (route) => route.abort('blockedbyclient'));
        const cost = await measure(page, url);
        await page.close();
        if (i > 0) costs[mode].push(cost);
      }
    }
  } finally {
    await browser.close();
    await stack.stop();
  }

  const med = (mode: 'with' | 'without', key: 'scriptMs' | 'taskMs') =>
    median(costs[mode].map((c) => c[key]));
  const settled = costs.with.map((c) => c.slotsFilledMs).filter((ms): ms is number => ms !== null);
  if (settled.length === 0)
    throw new Error('no run filled its slots: is the worker answering /v1/recommendations?');
  const filled = median(settled);
  const kb = (bytes: number) => round(bytes / 1024, 2);
  return {
    title: `rx.js: size and main-thread cost on the demo shop (${values.path}, ${runs} runs each, headless Chromium)`,
    columns: ['measure', 'value', 'unit'],
    rows: [
      { measure: 'rx.js unminified', value: kb(unminified.iife.rawBytes), unit: 'KB' },
      { measure: 'rx.js minified', value: kb(minified.iife.rawBytes), unit: 'KB' },
      { measure: 'rx.js minified + gzip', value: kb(minified.iife.gzipBytes), unit: 'KB' },
      { measure: 'budget (min + gzip)', value: kb(GZIP_BUDGET_BYTES), unit: 'KB' },
      { measure: 'rx.esm.js minified + gzip', value: kb(minified.esm.gzipBytes), unit: 'KB' },
      { measure: 'script time, page with rx.js (median)', value: round(med('with', 'scriptMs')), unit: 'ms' },
      {
        measure: 'script time, page without rx.js (median)',
        value: round(med('without', 'scriptMs')),
        unit: 'ms',
      },
      {
        measure: 'script time added by rx.js',
        value: round(med('with', 'scriptMs') - med('without', 'scriptMs')),
        unit: 'ms',
      },
      {
        measure: 'main-thread task time added by rx.js',
        value: round(med('with', 'taskMs') - med('without', 'taskMs')),
        unit: 'ms',
      },
      { measure: 'navigation → all slots filled (median)', value: round(filled), unit: 'ms' },
      { measure: `runs with slots filled within ${SETTLE_MS} ms`, value: settled.length, unit: `of ${runs}` },
    ],
    notes: [
      `Script/task time: CDP Performance.getMetrics (ScriptDuration, TaskDuration) ${SETTLE_MS} ms after load and a scroll to the bottom.`,
      'Task time includes layout and paint of the rendered blocks, which the page without rx.js does not do.',
    ],
    details: { runs, url: values.path, costs, hash: minified.hash },
  };
}
