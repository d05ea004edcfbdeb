/**
 * The live experiment screen (`GET /admin/live/screen`): asks for the ADMIN_TOKEN, then shows
 * `GET /admin/live` as tables (personalized against holdout, per day, per placement) and refreshes
 * them every REFRESH_MS while the tab is visible. The page holds no data of its own: everything comes
 * from the API with the token, which lives in this page's memory only: never in a URL, a cookie or
 * storage. In proxy mode the worker answers on the shop's own domain, so sessionStorage would be open to
 * the shop's scripts (analytics, tag managers) on any page later opened in the same tab; a reload asks
 * for the token again instead. Everything shown is set as text, never as markup. Each answer says
 * whether the counts are current (`counting`): when none were counted for a while, or a part counting
 * needs is failing, the screen says so above the figures instead of showing frozen counts as current.
 */
import type { LiveAnswer, LiveArm, LiveArms, LiveCounting } from '../../contracts/live-api';

const REFRESH_MS = 10_000;
/**
 * How long a read may take before it is given up (then said, and tried again at the next refresh):
 * without it a connection that never answers would leave the screen as it was, and refreshing never.
 */
const READ_TIMEOUT_MS = 15_000;
/** No events counted for this long is said above the figures: a quiet shop, or counting that stopped. */
const QUIET_MS = 10 * 60_000;
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
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
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
  // loop and left the last "updated" time on screen as if the figures were current. The whole view is
  // made before any of it is shown, so such an answer leaves the previous one whole, not half replaced.
  let view: View;
  try {
    const body: unknown = await response.json();
    if (!current()) return;
    const problem = answerProblem(body);
    if (problem !== undefined) throw new Error(`not the live counters' answer: ${problem}`);
    view = viewOf(body as LiveAnswer);
  } catch (error) {
    if (!current()) return;
    showProblem(
      `The worker's answer could not be shown (${error instanceof Error ? error.message : String(error)}); trying again.`,
    );
    return schedule();
  }
  show(view);
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

/** Everything one answer shows, made before any of it is (show). */
interface View {
  site: string;
  window: string;
  tables: Record<'summary' | 'per-day' | 'placements', HTMLTableRowElement[]>;
  updated: string;
  /** Whether the counts are current, when they may not be (countingNote); else empty. */
  counting: string;
}

function viewOf(answer: LiveAnswer): View {
  const note = countingNote(answer.counting);
  return {
    site: answer.site,
    window:
      `${answer.from === answer.to ? answer.from : `${answer.from} to ${answer.to}`} (UTC), ` +
      `holdout ${answer.holdout_percent} %`,
    tables: {
      summary: rowsOf(summaryRows(answer.total)),
      'per-day': rowsOf(
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
      ),
      placements: rowsOf(placementRows(answer.total)),
    },
    updated: `updated ${new Date().toLocaleTimeString()}${note.counted}`,
    counting: note.warning,
  };
}

/** Shows a view, all of it at once; any message of an earlier read gives way to its own. */
function show(view: View): void {
  login.hidden = true;
  live.hidden = false;
  element('site').textContent = view.site;
  element('window').textContent = view.window;
  for (const [id, rows] of Object.entries(view.tables))
    element<HTMLTableElement>(id).tBodies[0]?.replaceChildren(...rows);
  status.textContent = view.counting;
  loginError.textContent = '';
  updated.textContent = view.updated;
}

/**
 * What the screen says of `counting` (contracts/live-api.ts): beside the read's time, when events were
 * last counted; above the figures, a warning when a part counting needs is not ok, or when none were
 * counted for QUIET_MS. Ages are the worker's (`as_of` against `last_counted_at`), whatever this
 * computer's clock says. A quiet shop counts nothing too, so the warning says what is known: no events
 * counted since a time, and whether `/healthz`'s checks show counting failing.
 */
function countingNote(counting: LiveCounting): { counted: string; warning: string } {
  const asOf = Date.parse(counting.as_of);
  const last = counting.last_counted_at === null ? null : Date.parse(counting.last_counted_at);
  const quiet = last === null || asOf - last >= QUIET_MS;
  const since =
    last === null
      ? 'No events counted in the last 36 days.'
      : quiet
        ? `No events counted since ${moment(last, asOf)}.`
        : '';
  const counted = last === null ? '' : ` · events last counted ${moment(last, asOf)}`;
  if (counting.problems.length > 0) {
    const parts = counting.problems.map(
      ({ component, status, detail }) => `${component} ${status}${detail ? ` (${detail})` : ''}`,
    );
    const lead = quiet ? 'Counting is failing' : 'Counting may be missing events';
    return { counted, warning: `${lead}: ${parts.join('; ')}. ${since}`.trim() };
  }
  if (!quiet) return { counted, warning: '' };
  return {
    counted,
    warning: `${since} A shop without visitors counts nothing; the worker's health checks show no failure of counting.`,
  };
}

/** A time as this computer shows it: the time of day, and the date too when it is not that of `now`. */
function moment(time: number, now: number): string {
  const at = new Date(time);
  const clock = at.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  if (at.toDateString() === new Date(now).toDateString()) return clock;
  return `${at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${clock}`;
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

/** A table body's rows of these cells, as text (the first of each row its heading). */
function rowsOf(rows: string[][]): HTMLTableRowElement[] {
  return rows.map((cells) => {
    const row = document.createElement('tr');
    cells.forEach((text, index) => {
      const cell = document.createElement(index === 0 ? 'th' : 'td');
      cell.textContent = text;
      row.append(cell);
    });
    return row;
  });
}

/**
 * Why `body` is not an answer the screen can show (contracts/live-api.ts), naming the first field
 * that is not as it should be; undefined when it is one. Only what the screen shows is checked.
 */
function answerProblem(body: unknown): string | undefined {
  if (!isRecord(body)) return 'not an object';
  for (const key of ['site', 'from', 'to'] as const) if (typeof body[key] !== 'string') return `no ${key}`;
  if (!isNumber(body.holdout_percent)) return 'no holdout_percent';
  if (!Array.isArray(body.days)) return 'no days';
  for (const [index, day] of body.days.entries()) {
    if (!isRecord(day) || typeof day.day !== 'string') return `days[${index}] has no day`;
    const problem = armsProblem(day.arms, `days[${index}].arms`);
    if (problem !== undefined) return problem;
  }
  return armsProblem(body.total, 'total') ?? countingProblem(body.counting);
}

function armsProblem(arms: unknown, path: string): string | undefined {
  if (!isRecord(arms)) return `no ${path}`;
  for (const bucket of ['treatment', 'holdout'] as const) {
    const arm = arms[bucket];
    const at = `${path}.${bucket}`;
    if (!isRecord(arm)) return `no ${at}`;
    for (const key of ['browsers', 'buyers', 'orders', 'impressions', 'clicks'] as const)
      if (!isNumber(arm[key])) return `${at}.${key} is not a number`;
    for (const key of ['conversion_rate', 'click_through_rate'] as const)
      if (arm[key] !== null && !isNumber(arm[key])) return `${at}.${key} is not a number`;
    for (const key of ['revenue', 'revenue_per_browser'] as const) {
      const amounts = arm[key];
      if (!isRecord(amounts) || !Object.values(amounts).every(isNumber))
        return `${at}.${key} is not amounts per currency`;
    }
    const placements = arm.placements;
    if (
      !isRecord(placements) ||
      !Object.values(placements).every(
        (counts) => isRecord(counts) && isNumber(counts.impressions) && isNumber(counts.clicks),
      )
    )
      return `${at}.placements is not counts per placement`;
  }
  return undefined;
}

function countingProblem(counting: unknown): string | undefined {
  if (!isRecord(counting)) return 'no counting';
  if (typeof counting.as_of !== 'string' || Number.isNaN(Date.parse(counting.as_of)))
    return 'counting.as_of is not a time';
  const last = counting.last_counted_at;
  if (last !== null && (typeof last !== 'string' || Number.isNaN(Date.parse(last))))
    return 'counting.last_counted_at is not a time';
  const problems = counting.problems;
  if (
    !Array.isArray(problems) ||
    !problems.every(
      (problem) =>
        isRecord(problem) &&
        typeof problem.component === 'string' &&
        typeof problem.status === 'string' &&
        (problem.detail === undefined || typeof problem.detail === 'string'),
    )
  )
    return 'counting.problems is not a list of components';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
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
