import type { Env } from './env';
import { blankWriteKeyProblems, segmentKeysProblem } from './events/segment-auth';
import { logConfigProblem } from './log';
import { proxySettings } from './proxy/config';
import { parseSetting, parseShopOrigins, SETTINGS, type SettingName, type SettingValue } from './settings';
import {
  blankUserIdSecretProblem,
  sharedSecretProblem,
  userIdSecretSharedWith,
} from './shopper/user-signature';

/**
 * Reading the worker's settings: each one's value by its rule in settings.ts, with a bad entry's
 * problem logged once per isolate (`config_problem`), and the list of problems `/healthz` shows
 * under `config` (health.ts).
 */

/** A setting's value (its default for a bad entry, whose problem is logged once per isolate). */
export function setting<Name extends SettingName>(env: Pick<Env, Name>, name: Name): SettingValue<Name> {
  const { value, problem } = parseSetting(name, env[name]);
  if (problem !== undefined) logConfigProblem(problem);
  return value;
}

/**
 * USER_ID_SECRET equal to a price signing key (shopper/user-signature.ts), as `/healthz` words it; logged
 * once per isolate (`config_problem`) by the first price request that asks, so the log says it before
 * anyone reads `/healthz`. Undefined when the secrets differ.
 */
export function sharedSigningSecret(env: Env): string | undefined {
  const problem = sharedSecretProblem(env);
  if (problem !== undefined) logConfigProblem(problem);
  return problem;
}

const GENERAL_SETTINGS = (Object.keys(SETTINGS) as SettingName[]).filter(
  (name) => !('proxyMode' in SETTINGS[name]),
);

/** Every public setting a problem can come from (of secrets, only whether two are equal is read). */
const CHECKED = [
  'SITE_ID',
  ...GENERAL_SETTINGS,
  'SHOP_ORIGINS',
  // Proxy mode (proxy/config.ts).
  'ORIGIN_URL',
  'RX_SLOTS',
  'RX_PRICE_SELECTOR',
  'RX_PRODUCT_ID_SELECTOR',
  'PERSONALIZATION_BUDGET_MS',
  'RX_EXCLUDE_PATHS',
  'RX_CONSENT',
  'RX_HONOUR_GPC',
] as const satisfies ReadonlyArray<keyof Env>;

interface Found {
  problems: readonly string[];
  /**
   * A setting no default can stand in for is unusable: ORIGIN_URL set but not an http(s) URL (proxy
   * mode cannot serve any page), SITE_ID empty (the consumer refuses every event without a site), or
   * USER_ID_SECRET equal to a price signing key (no price token is verified then).
   */
  broken: boolean;
}

/** SITE_ID's problem, if any: it names the shop in every event and key, and has no default. */
const EMPTY_SITE_ID =
  'SITE_ID must name the shop ([vars] in wrangler.toml), got nothing: every event would be refused by the consumer';

function findProblems(env: Env): Found {
  const problems: string[] = [];
  let broken = false;
  if (!env.SITE_ID?.trim()) {
    broken = true;
    problems.push(EMPTY_SITE_ID);
  }
  for (const name of GENERAL_SETTINGS) {
    const { problem } = parseSetting(name, env[name]);
    if (problem !== undefined) problems.push(problem);
  }
  parseShopOrigins(env.SHOP_ORIGINS, problems);
  // The only checks of secrets: whether two are equal or one is blank, never their values (the problems
  // name the settings).
  const sharedSecret = sharedSecretProblem(env);
  if (sharedSecret !== undefined) {
    broken = true;
    problems.push(sharedSecret);
  }
  const blankUserIdSecret = blankUserIdSecretProblem(env);
  if (blankUserIdSecret !== undefined) problems.push(blankUserIdSecret);
  problems.push(...blankWriteKeyProblems(env));
  const sharedWriteKey = segmentKeysProblem(env);
  if (sharedWriteKey !== undefined) problems.push(sharedWriteKey);
  // Nothing (no problems) when ORIGIN_URL is not set: the proxy's settings are then not used. When it
  // is set but not an http(s) URL, every proxied request answers 503 (proxy.ts), so that is named (and
  // nothing else of the proxy's, which is not read then).
  const proxy = proxySettings(env);
  if (proxy.originProblem !== undefined) {
    broken = true;
    problems.push(proxy.originProblem);
  } else {
    problems.push(...(proxy.config?.problems ?? []));
  }
  return { problems, broken };
}

// Settings only change with a deploy, so one check per isolate and distinct settings is enough.
const found = new Map<string, Found>();

/**
 * The problems of the public settings (`[vars]`) as this deployment has them, in the order of
 * settings.ts, then SHOP_ORIGINS's entries, then the proxy's (only in proxy mode); each logged once
 * per isolate. Empty when every entry is acceptable.
 */
export function configProblems(env: Env): readonly string[] {
  return check(env).problems;
}

/**
 * Whether a setting without a default is unusable (`config` is `down`): ORIGIN_URL set but not an
 * http(s) URL (the proxy can serve nothing), SITE_ID empty, or USER_ID_SECRET a price key's value.
 */
export function configBroken(env: Env): boolean {
  return check(env).broken;
}

function check(env: Env): Found {
  // Secrets stay out of the memo's key: only which price key, if any, USER_ID_SECRET repeats, whether
  // it is blank, whether the two Segment write keys are one, and which of them are blank.
  const key = JSON.stringify([
    ...CHECKED.map((name) => env[name]),
    userIdSecretSharedWith(env),
    blankUserIdSecretProblem(env) !== undefined,
    segmentKeysProblem(env) !== undefined,
    blankWriteKeyProblems(env).join(),
  ]);
  let result = found.get(key);
  if (result === undefined) {
    result = findProblems(env);
    for (const problem of result.problems) logConfigProblem(problem);
    if (found.size > 8) found.clear();
    found.set(key, result);
  }
  return result;
}
