import { z } from 'zod';
import { DEFAULT_SLOT_LIMIT, MAX_SLOT_LIMIT, slotLimit } from '../../../contracts/slot-defaults';
import type { Env } from '../env';
import { logConfigProblem } from '../log';
import { parseSetting, SETTINGS, type SettingName, type SettingValue } from '../settings';
import { parseOriginUrl } from './origin-url';
import { withoutPathParameters } from './path-parameters';
import { supportedSelectors } from './selectors';

/** Where a configured slot's block goes relative to the element its selector matches. */
export const SlotPositionSchema = z.enum(['before', 'after', 'prepend', 'append', 'replace']);
export type SlotPosition = z.infer<typeof SlotPositionSchema>;

export const PlacementSchema = z.enum(['home', 'product', 'cart', 'category']);
export type Placement = z.infer<typeof PlacementSchema>;

/** One entry of `RX_SLOTS` (DESIGN.md "Markup"): for shops that cannot add `data-rx-slot`. */
export const ConfiguredSlotSchema = z.object({
  selector: z.string().min(1),
  placement: PlacementSchema,
  position: SlotPositionSchema.default('append'),
  /** Any JSON value: read as a markup slot's `data-rx-limit` is (entryLimit), never a reason to skip the entry. */
  limit: z.unknown().optional(),
  /**
   * The block's heading, as `data-rx-heading` gives it for a markup slot: absent, the placement's
   * ("You may also like"); `""`, none (the shop's page already has one next to the slot).
   */
  heading: z.string().optional(),
});
export type ConfiguredSlot = Omit<z.infer<typeof ConfiguredSlotSchema>, 'limit'> & { limit: number };

export interface ProxyConfig {
  origin: URL;
  /** `RX_SLOTS` entries, each without the selectors HTMLRewriter refuses (an entry left with none is left out). */
  slots: ConfiguredSlot[];
  /** `RX_PRICE_SELECTOR` without the selectors HTMLRewriter refuses (each one a problem). */
  priceSelector?: string;
  /** `RX_PRODUCT_ID_SELECTOR` without the selectors HTMLRewriter refuses (each one a problem). */
  productIdSelector?: string;
  /** Milliseconds personalization may add beyond the origin's own time. */
  budgetMs: number;
  /** Note shown after personalized prices, where the law asks for one; undefined for none. */
  priceDisclosure?: string;
  /** Path prefixes passed through untouched (`RX_EXCLUDE_PATHS`): checkout, payment, account pages. */
  excludedPaths: string[];
  /** `RX_CONSENT=required`: only shoppers who consented (the `rx_consent` cookie) are tracked. */
  consentRequired: boolean;
  /** `RX_HONOUR_GPC=true`: a browser sending `Sec-GPC: 1` is never tracked, consent or not. */
  honourGpc: boolean;
  /** Problems found in the settings; logged once, shown by `/healthz` `config`, never fatal. */
  problems: string[];
}

export const DEFAULT_BUDGET_MS = SETTINGS.PERSONALIZATION_BUDGET_MS.fallback;

function parseSlots(raw: string | undefined, problems: string[]): ConfiguredSlot[] {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    problems.push(`RX_SLOTS is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  }
  if (!Array.isArray(json)) {
    problems.push(
      `RX_SLOTS must be a JSON list of slots ([{"selector": …, "placement": …}]), got ${jsonKind(json)}`,
    );
    return [];
  }
  // Each entry on its own: one that is not valid (every issue named, `RX_SLOTS[1.placement]: …`) is
  // skipped, and so is one whose selectors HTMLRewriter all refuses (each refused selector named and
  // left out of its entry). The other entries, and the rest of the page's personalization, are used
  // as configured. A `limit` is read as markup's `data-rx-limit` is, the value used named when it is
  // not the one written (entryLimit).
  const slots: ConfiguredSlot[] = [];
  json.forEach((entry: unknown, index) => {
    const parsed = ConfiguredSlotSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`RX_SLOTS[${[index, ...issue.path.map(String)].join('.')}]: ${issue.message}`);
      }
      return;
    }
    const { limit: written, ...slot } = parsed.data;
    const supported = supportedSelectors(`RX_SLOTS[${index}.selector]`, slot.selector, problems);
    if (supported.length === 0) return;
    const { limit, problem } = entryLimit(written);
    if (problem !== undefined) problems.push(`RX_SLOTS[${index}.limit]: ${problem}`);
    slots.push({ ...slot, selector: supported.join(', '), limit });
  });
  return slots;
}

/**
 * An `RX_SLOTS` entry's `limit`, read as a markup slot's `data-rx-limit` is (contracts/slot-defaults.ts
 * slotLimit): above MAX_SLOT_LIMIT, that; not a number of at least 1 (`0`, `"abc"`, `null`), the
 * default, as when left out or blank; a number in a string (`"4"`) as that number. Before, such a
 * value skipped the whole entry and the shop lost the block, where the same value in markup gave one.
 * `problem` says what was used instead of the value written (`30 is above 24; 24 used`), for
 * `/healthz` `config`.
 */
function entryLimit(written: unknown): { limit: number; problem?: string } {
  // Left out or blank, as an empty setting is: the default, nothing to say.
  if (written === undefined || (typeof written === 'string' && written.trim() === ''))
    return { limit: DEFAULT_SLOT_LIMIT };
  const limit =
    typeof written === 'number'
      ? written >= 1
        ? Math.min(Math.trunc(written), MAX_SLOT_LIMIT)
        : DEFAULT_SLOT_LIMIT
      : slotLimit(typeof written === 'string' ? written : null);
  // The number written: `" 4 "` and `"4"` are 4, `"4 items"` and `"0x10"` none.
  const value =
    typeof written === 'string'
      ? /^\s*[+-]?\d+(\.\d+)?\s*$/.test(written)
        ? Number(written)
        : Number.NaN
      : written;
  if (value === limit) return { limit };
  const reason =
    typeof value !== 'number' || !Number.isFinite(value)
      ? 'is not a number'
      : value > MAX_SLOT_LIMIT
        ? `is above ${MAX_SLOT_LIMIT}`
        : value < 1
          ? 'is below 1'
          : 'is not a whole number';
  const shown = JSON.stringify(written);
  return {
    limit,
    problem: `${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown} ${reason}; ${limit} used`,
  };
}

/** What a JSON value is, for a problem (the value itself may be a long one). */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A selector-list setting without its refused selectors; undefined when none is left (or it is blank). */
function selectorSetting(name: string, raw: string | undefined, problems: string[]): string | undefined {
  const supported = supportedSelectors(name, nonEmpty(raw), problems);
  return supported.length > 0 ? supported.join(', ') : undefined;
}

/** A numeric or enum setting by its rule in settings.ts, its problem (if any) added to `problems`. */
function settingOf<Name extends SettingName>(
  name: Name,
  raw: string | undefined,
  problems: string[],
): SettingValue<Name> {
  const { value, problem } = parseSetting(name, raw);
  if (problem !== undefined) problems.push(problem);
  return value;
}

/**
 * `RX_EXCLUDE_PATHS`: comma-separated path prefixes such as `/checkout,/account`. Each must start
 * with `/`; a trailing `/` is ignored. Entries that are not paths are reported and skipped.
 */
function parseExcludedPaths(raw: string | undefined, problems: string[]): string[] {
  const paths: string[] = [];
  for (const entry of (raw ?? '').split(',')) {
    const path = entry.trim();
    if (path === '') continue;
    if (!path.startsWith('/') || /[\s?#*]/.test(path)) {
      problems.push(`RX_EXCLUDE_PATHS: "${path}" is not a path prefix (like /checkout)`);
      continue;
    }
    // Normalised once here, as isExcludedPath normalises each request's path (routedPath): a prefix
    // written in the shop's own script (`/kasse/übersicht`, `/оформление`), percent-encoded or in any
    // case then compares as text with the percent-encoded path browsers send.
    paths.push(routedPath(path.length > 1 ? path.replace(/\/+$/, '') : path));
  }
  return paths;
}

/**
 * Whether a request path is under one of the excluded prefixes (whole segments: `/checkout` is not
 * `/checkouts`), compared the way a lenient router would route it: percent-decoded, `//` collapsed,
 * `;params` dropped, dot segments resolved, any case. Otherwise `/Checkout/payment` or
 * `/%63heckout` would reach the payment page with the script injected, which the setting exists to
 * prevent. `excluded` as parseExcludedPaths gives them, gone through the same steps.
 */
export function isExcludedPath(path: string, excluded: readonly string[]): boolean {
  const routed = routedPath(path);
  return excluded.some((prefix) => prefix === '/' || routed === prefix || routed.startsWith(`${prefix}/`));
}

function routedPath(path: string): string {
  // A backslash is a slash to the URL parser below (and to IIS): `/%5Ccheckout` must not hide the
  // segment as a host name.
  const collapsed = withoutPathParameters(decodeEscapes(path).replace(/\\/g, '/')).replace(/\/{2,}/g, '/');
  const resolved = new URL(collapsed.startsWith('/') ? collapsed : `/${collapsed}`, 'https://routed.invalid');
  // The URL parser percent-encodes what is not ASCII again (`ü` is `%C3%BC`): decoded once more, both
  // sides compare as text, and `toLowerCase` folds the case of any script (`/KASSE/ÜBERSICHT`).
  return decodeEscapes(resolved.pathname).toLowerCase();
}

/** Percent-escapes decoded, each run on its own: one invalid escape (`%zz`, a lone `%ff`) must not leave `%63heckout` undecoded. */
function decodeEscapes(path: string): string {
  return path.replace(/(?:%[0-9a-f]{2})+/gi, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes.replace(/%([0-9a-f]{2})/gi, (one, hex: string) => {
        const code = Number.parseInt(hex, 16);
        return code < 0x80 ? String.fromCharCode(code) : one;
      });
    }
  });
}

function nonEmpty(raw: string | undefined): string | undefined {
  return raw !== undefined && raw.trim() !== '' ? raw.trim() : undefined;
}

/**
 * Parses the proxy settings from `Env`; undefined when `ORIGIN_URL` is not set (proxy off). Throws
 * when `ORIGIN_URL` is set but not an http(s) URL (see `proxySettings`, which never throws).
 */
export function parseProxyConfig(env: Env): ProxyConfig | undefined {
  const origin = parseOriginUrl(env.ORIGIN_URL);
  if (!origin) return undefined;
  const problems: string[] = [];
  // Named, never quoted (/healthz is public): a staging origin behind Basic auth would answer every
  // page 401 while nothing else looked wrong.
  if (origin.username || origin.password)
    problems.push(
      'ORIGIN_URL has a user name or password, which the worker does not send to the origin (fetch drops them): an origin behind Basic auth answers every page 401; protect it another way (a secret header it checks, Cloudflare Access) and take them out',
    );
  // Named, never quoted, as credentials are: every request carries the shopper's query in its place
  // (originTarget), so a `?store=uk` the origin needs was silently never sent. `url.search` is empty
  // for a bare `?`, which asks for nothing.
  if (origin.search !== '')
    problems.push(
      "ORIGIN_URL has a query string, which the worker does not send: each request goes to the origin with the shopper's own query in its place; take it out (a store or language the origin needs goes in the origin's host name or path)",
    );
  // In the order the settings are documented: the slots, then the selectors, then the rest.
  const slots = parseSlots(env.RX_SLOTS, problems);
  const priceSelector = selectorSetting('RX_PRICE_SELECTOR', env.RX_PRICE_SELECTOR, problems);
  const productIdSelector = selectorSetting('RX_PRODUCT_ID_SELECTOR', env.RX_PRODUCT_ID_SELECTOR, problems);
  const config: ProxyConfig = {
    origin,
    slots,
    budgetMs: settingOf('PERSONALIZATION_BUDGET_MS', env.PERSONALIZATION_BUDGET_MS, problems),
    excludedPaths: parseExcludedPaths(env.RX_EXCLUDE_PATHS, problems),
    consentRequired: settingOf('RX_CONSENT', env.RX_CONSENT, problems),
    honourGpc: settingOf('RX_HONOUR_GPC', env.RX_HONOUR_GPC, problems),
    problems,
  };
  if (priceSelector) config.priceSelector = priceSelector;
  if (productIdSelector) config.productIdSelector = productIdSelector;
  const disclosure = nonEmpty(env.RX_PRICE_DISCLOSURE);
  if (disclosure) config.priceDisclosure = disclosure;
  return config;
}

/**
 * Proxy mode as this deployment's settings have it: off (`ORIGIN_URL` unset, neither field), on
 * (`config`), or unusable (`originProblem`: `ORIGIN_URL` is set but not an http(s) URL, so no page
 * can be proxied; the proxy answers 503 `origin_misconfigured` and `/healthz` says `config: down`).
 */
export interface ProxySettings {
  config?: ProxyConfig;
  originProblem?: string;
}

// Settings only change with a deploy, so one parse per isolate and distinct settings is enough.
const parsed = new Map<string, ProxySettings>();

/** `parseProxyConfig`, memoized per distinct settings, logging each problem once; never throws. */
export function proxySettings(env: Env): ProxySettings {
  const key = JSON.stringify([
    env.ORIGIN_URL,
    env.RX_SLOTS,
    env.RX_PRICE_SELECTOR,
    env.RX_PRODUCT_ID_SELECTOR,
    env.PERSONALIZATION_BUDGET_MS,
    env.RX_PRICE_DISCLOSURE,
    env.RX_EXCLUDE_PATHS,
    env.RX_CONSENT,
    env.RX_HONOUR_GPC,
  ]);
  let settings = parsed.get(key);
  if (settings !== undefined) return settings;
  try {
    const config = parseProxyConfig(env);
    settings = config ? { config } : {};
  } catch (error) {
    settings = { originProblem: error instanceof Error ? error.message : String(error) };
  }
  for (const problem of settings.originProblem
    ? [settings.originProblem]
    : (settings.config?.problems ?? [])) {
    logConfigProblem(problem);
  }
  if (parsed.size > 8) parsed.clear();
  parsed.set(key, settings);
  return settings;
}

/** The proxy's settings; undefined when proxy mode is off or `ORIGIN_URL` is unusable (`proxySettings`). */
export function proxyConfig(env: Env): ProxyConfig | undefined {
  return proxySettings(env).config;
}
