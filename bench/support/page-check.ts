/**
 * What a measured page must contain, so that a proxy benchmark times the page its row names: fast
 * error pages, an unpersonalized fallback or a rewritten pass-through would otherwise read as results.
 */

/** The block the worker renders into a filled slot (contracts/markup.ts renderRecommendationBlock). */
const BLOCK_MARKER = '<section class="rx-block';

export const blockCount = (body: string) => body.split(BLOCK_MARKER).length - 1;

export interface PageCheck {
  /** What a page passing the check is, for messages. */
  label: string;
  /** Checks a whole body, decoded at once. */
  ok: (body: string) => boolean;
  /**
   * The same for autocannon's bodies, which it decodes chunk by chunk: a multi-byte character split
   * between two chunks comes out as replacement characters (U+FFFD).
   */
  okUnderLoad: (body: string) => boolean;
  /**
   * A page failing the check is still a legitimate answer, counted and reported: the personalized
   * page's original page when the worker's 50 ms budget ran out. Otherwise it fails the run.
   */
  counted: boolean;
}

/** Slots filled (at least one block). The marker is ASCII, so chunked decoding cannot break it. */
export const personalizedPage: PageCheck = {
  label: 'personalized (a filled slot)',
  ok: (body) => body.includes(BLOCK_MARKER),
  okUnderLoad: (body) => body.includes(BLOCK_MARKER),
  counted: true,
};

const asciiOnly = (text: string) => text.replace(/[\u0080-\uffff]/g, '');

/** Byte for byte the origin's page (`origin`, as the origin sent it), as a pass-through must be. */
export function originPage(origin: string): PageCheck {
  return {
    label: "the origin's page, byte for byte",
    ok: (body) => body === origin,
    // Exact first (nearly always); a split character only ever changes non-ASCII text.
    okUnderLoad: (body) =>
      body === origin || (body.includes('\uFFFD') && asciiOnly(body) === asciiOnly(origin)),
    counted: false,
  };
}

/** A page without filled slots: what is left to check of a pass-through when the origin's page varies. */
export const unpersonalizedPage: PageCheck = {
  label: 'a page without filled slots',
  ok: (body) => !body.includes(BLOCK_MARKER),
  okUnderLoad: (body) => !body.includes(BLOCK_MARKER),
  counted: false,
};

/**
 * The origin's page for a pass-through row to be compared with: fetched twice, undefined unless both
 * are 2xx and identical (a page with a timestamp or token in it has no one right answer).
 */
export async function stablePage(url: string, headers: Record<string, string>): Promise<string | undefined> {
  const bodies: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const response = await fetch(url, { headers });
    // Decoded as the measured bodies are (Buffer, autocannon): fetch's text() drops a leading byte
    // order mark, so a page starting with one would never match its own pass-through.
    const body = Buffer.from(await response.arrayBuffer()).toString('utf8');
    if (!response.ok) throw new Error(`${url} answered ${response.status} to the reference request`);
    bodies.push(body);
  }
  return bodies[0] === bodies[1] ? bodies[0] : undefined;
}

/** A pass-through row's check: the origin's page, which must be the same on every request. */
export async function samePageAsOrigin(url: string, headers: Record<string, string>): Promise<PageCheck> {
  const page = await stablePage(url, headers);
  if (page === undefined)
    throw new Error(`${url} differs between two requests: pass-through has nothing to match`);
  return originPage(page);
}

/** `misses of total (percent)` for a row whose misses are counted (see PageCheck), else blank. */
export function share(check: PageCheck | undefined, misses: number, total: number): string {
  if (!check?.counted) return '';
  return `${misses} of ${total} (${((100 * misses) / Math.max(1, total)).toFixed(1)}%)`;
}

/**
 * Most of a row's sequential answers that may fail a counted check (unpersonalized pages) before the
 * run fails: past it, the row's times (and the goal's ratio) would be partly a fallback page's, the
 * original page sent when the worker's budget ran out. The same bound as the api benchmark's.
 */
export const MAX_MISS_SHARE = 0.01;

/**
 * The bound under saturated load. There some budgets are expected to run out, since the machine is
 * driven past what it serves in time (the recorded `proxy` run had 3 of 4,071); but a fallback costs
 * the worker at most a pass-through's work, so past 5 % of answers the row's req/s would be partly a
 * pass-through's: a broken cache or model (nearly every answer a fallback) fails the run rather
 * than reading as throughput.
 */
export const MAX_MISS_SHARE_SATURATED = 0.05;

/** Throws if more than `maxShare` of a row's `total` answers failed its counted check. */
export function assertMissShare(
  name: string,
  check: PageCheck | undefined,
  misses: number,
  total: number,
  maxShare: number,
): void {
  if (!check?.counted || misses <= maxShare * total) return;
  throw new Error(
    `${name}: ${share(check, misses, total)} answers were not ${check.label}, over the ${100 * maxShare} % ` +
      "a row may have: its figures would be the worker's fallback page's",
  );
}
