/**
 * The live experiment screen (`GET /admin/live/screen`): asks for the ADMIN_TOKEN, then shows
 * `GET /admin/live` as tables (personalized against holdout, per day, per placement) and refreshes
 * them every REFRESH_MS while the tab is visible. The page holds no data of its own: everything comes
 * from the API with the token, which lives in this page's memory only: never in a URL, a cookie or
 * storage. In proxy mode the worker answers on the shop's own domain, so sessionStorage would be open to
 * the shop's scripts (analytics, tag managers) on any page later opened in the same tab; a reload asks
 * for the token again instead. Everything shown is set as text, never as markup.
 */
import type { LiveAnswer, LiveArm, LiveArms } from '../../contracts/live-api';

const REFRESH_MS = 10_000;
/** The operator's ADMIN_TOKEN, while this page is open; null until given or after a refusal. */
let adminToken: string | null = null;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the screen's page has no #${id}`);
  return found as T;
}

const login = element<HTMLFormElement>('login');
const tokenInput = element<HTMLInputElement>('token');
const loginError = element('login-error');
const live = element('live');
const daysSelect = element<HTMLSelectElement>('days');
const status = element('status');
const updated = element('updated');

let timer: number | undefined;

function showLogin(message: string): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  live.hidden = true;
  login.hidden = false;
  loginError.textContent = message;
  tokenInput.focus();
}

/** The number of the latest read: an answer to an earlier one is dropped (see refresh). */
let reads = 0;

/**
 * One read of `/admin/live`; schedules the next unless the token was refused. An answer that comes
 * after a newer read started (another window chosen) or after its token was forgotten or replaced is
 * dropped: it would show figures after "Forget", or clear a token just typed with a late 401.
 */
async function refresh(): Promise<void> {
  if (timer !== undefined) clearTimeout(timer);
  const given = adminToken;
  if (given === null) return showLogin('');
  const read = ++reads;
  const current = () => read === reads && adminToken === given;
  let response: Response;
  try {
    response = await fetch(`/admin/live?days=${encodeURIComponent(daysSelect.value)}`, {
      headers: { authorization: `Bearer ${given}`, accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    if (!current()) return;
    showProblem('The worker did not answer; trying again.');
    return schedule();
  }
  if (!current()) return;
  if (response.status === 401) {
    adminToken = null;
    return showLogin('That token was refused.');
  }
  if (response.status === 429) {
    adminToken = null;
    return showLogin('Too many refused tokens from this address: wait a minute.');
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    if (!current()) return;
    showProblem(`Not available (${response.status}): ${body?.error?.message ?? response.statusText}`);
    return schedule();
  }
  // A 200 that is not the API's answer (a proxy's or a captive portal's page, an answer cut short, a
  // worker of another version): said, and tried again, instead of an exception that ended the refresh
  // loop and left the last "updated" time on screen as if the figures were current.
  try {
    const answer = (await response.json()) as LiveAnswer;
    if (!current()) return;
    render(answer);
  } catch (error) {
    if (!current()) return;
    showProblem(
      `The worker's answer could not be shown (${error instanceof Error ? error.message : String(error)}); trying again.`,
    );
    return schedule();
  }
  status.textContent = '';
  loginError.textContent = '';
  updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  schedule();
}

/**
 * Says what went wrong with a read while the token is kept and reads go on: under the figures, or,
 * before any were shown (the figures' section still hidden), under the token field.
 */
function showProblem(message: string): void {
  status.textContent = message;
  if (live.hidden) loginError.textContent = message;
}

function schedule(): void {
  timer = window.setTimeout(() => {
    if (document.visibilityState === 'visible') void refresh();
    else schedule();
  }, REFRESH_MS);
}

function render(answer: LiveAnswer): void {
  login.hidden = true;
  live.hidden = false;
  element('site').textContent = answer.site;
  element('window').textContent =
    `${answer.from === answer.to ? answer.from : `${answer.from} to ${answer.to}`} (UTC), ` +
    `holdout ${answer.holdout_percent} %`;
  fill('summary', summaryRows(answer.total));
  fill(
    'per-day',
    [...answer.days]
      .reverse()
      .map(({ day, arms }) => [
        day,
        count(arms.treatment.browsers),
        count(arms.holdout.browsers),
        count(arms.treatment.orders),
        count(arms.holdout.orders),
        rate(arms.treatment.conversion_rate),
        rate(arms.holdout.conversion_rate),
      ]),
  );
  fill('placements', placementRows(answer.total));
}

function summaryRows({ treatment, holdout }: LiveArms): string[][] {
  const rows: string[][] = [
    ['Browsers', count(treatment.browsers), count(holdout.browsers), ''],
    ['Buyers', count(treatment.buyers), count(holdout.buyers), ''],
    [
      'Conversion',
      rate(treatment.conversion_rate),
      rate(holdout.conversion_rate),
      lift(treatment.conversion_rate, holdout.conversion_rate),
    ],
    ['Orders', count(treatment.orders), count(holdout.orders), ''],
  ];
  for (const currency of currencies(treatment, holdout)) {
    rows.push([
      `Revenue (${currency})`,
      money(treatment.revenue[currency], currency),
      money(holdout.revenue[currency], currency),
      '',
    ]);
    rows.push([
      `Revenue per browser (${currency})`,
      money(treatment.revenue_per_browser[currency], currency),
      money(holdout.revenue_per_browser[currency], currency),
      lift(treatment.revenue_per_browser[currency], holdout.revenue_per_browser[currency]),
    ]);
  }
  rows.push(
    ['Recommendation impressions', count(treatment.impressions), count(holdout.impressions), ''],
    ['Recommendation clicks', count(treatment.clicks), count(holdout.clicks), ''],
    [
      'Click-through',
      rate(treatment.click_through_rate),
      rate(holdout.click_through_rate),
      lift(treatment.click_through_rate, holdout.click_through_rate),
    ],
  );
  return rows;
}

function placementRows({ treatment, holdout }: LiveArms): string[][] {
  const names = [
    ...new Set([...Object.keys(treatment.placements), ...Object.keys(holdout.placements)]),
  ].sort();
  return names.map((name) => {
    const t = treatment.placements[name] ?? { impressions: 0, clicks: 0 };
    const h = holdout.placements[name] ?? { impressions: 0, clicks: 0 };
    return [
      name,
      count(t.impressions),
      count(t.clicks),
      rate(t.impressions > 0 ? t.clicks / t.impressions : null),
      count(h.impressions),
      count(h.clicks),
      rate(h.impressions > 0 ? h.clicks / h.impressions : null),
    ];
  });
}

function currencies(...arms: LiveArm[]): string[] {
  return [...new Set(arms.flatMap((arm) => Object.keys(arm.revenue)))].sort();
}

/** Replaces a table's body with these rows, as text. */
function fill(tableId: string, rows: string[][]): void {
  const body = element<HTMLTableElement>(tableId).tBodies[0];
  if (!body) return;
  body.replaceChildren(
    ...rows.map((cells) => {
      const row = document.createElement('tr');
      cells.forEach((text, index) => {
        const cell = document.createElement(index === 0 ? 'th' : 'td');
        cell.textContent = text;
        row.append(cell);
      });
      return row;
    }),
  );
}

const numberFormat = new Intl.NumberFormat(undefined);
/** For a code that is no currency Intl knows ("???"): the amount alone, with two decimals. */
const plainMoneyFormat = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 });
const liftFormat = new Intl.NumberFormat(undefined, {
  style: 'percent',
  maximumFractionDigits: 1,
  signDisplay: 'exceptZero',
});

function count(value: number): string {
  return numberFormat.format(value);
}

/** With the currency's own decimals and sign: "¥1,500", "KWD 1.234", "£12.50". */
function money(value: number | undefined, currency: string): string {
  if (value === undefined) return '–';
  let format = plainMoneyFormat;
  try {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  return format.format(value);
}

function rate(value: number | null): string {
  return value === null ? '–' : percentFormat.format(value);
}

/**
 * Personalized relative to holdout: +12.3 % means 12.3 % more. None when the holdout is zero or below
 * or the personalized figure below zero: revenue per browser is negative on a day its refunds outweigh
 * its sales, and a ratio against that would read a gain as a loss.
 */
function lift(treatment: number | null | undefined, holdout: number | null | undefined): string {
  if (treatment == null || holdout == null || holdout <= 0 || treatment < 0) return '';
  return liftFormat.format(treatment / holdout - 1);
}

login.addEventListener('submit', (event) => {
  event.preventDefault();
  // As copied from .rx-data/run/worker.env (`npm start`), the value comes in quotes; no token has them.
  // Typographic ones too: an editor or a chat may have turned the straight ones into them.
  const given = tokenInput.value.trim().replace(/^(?:(['"])(.*)\1|“(.*)”|‘(.*)’)$/, '$2$3$4');
  if (given === '') return;
  // Outside printable ASCII is a copying accident (a typographic quote or dash), mostly one a header
  // cannot carry: fetch would throw before sending, every 10 s, as if the worker did not answer.
  if (!/^[\x20-\x7e]*$/.test(given)) {
    adminToken = null;
    tokenInput.value = '';
    return showLogin(
      'That token has a character no token has (only ASCII letters, digits and punctuation; a typographic quote or dash?): paste it again as plain text.',
    );
  }
  adminToken = given;
  tokenInput.value = '';
  loginError.textContent = '';
  void refresh();
});
daysSelect.addEventListener('change', () => void refresh());
element('forget').addEventListener('click', () => {
  adminToken = null;
  showLogin('');
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && adminToken !== null) void refresh();
});
void refresh();
