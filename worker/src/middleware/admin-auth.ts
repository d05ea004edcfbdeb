import type { Context, MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import type { AppEnv } from '../app-env';
import { secretsEqual } from '../constant-time';
import { ApiError } from '../errors';
import { log } from '../log';
import { clientNetwork } from './client-network';
import { limiterAllows } from './rate-limit';

/** Shorter than this, an ADMIN_TOKEN is worth a warning: `openssl rand -hex 32` gives 64 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
/** How long a client over its failed-attempt budget is refused before its token is even compared. */
const BLOCKED_FOR_MS = 60_000;

/**
 * `Authorization: Bearer <ADMIN_TOKEN>` for operator endpoints (the scheme in any case, as HTTP
 * allows). Without an ADMIN_TOKEN secret the endpoints are off (404), so a deployment never runs them
 * unprotected.
 *
 * `/admin/*` is outside the shoppers' rate limit, so failed attempts have their own, per client (the
 * connecting IP, an IPv6 one by its /64): `ADMIN_AUTH_LIMITER`, 10 a minute in wrangler.toml (else
 * `RATE_LIMITER`). Only a wrong token counts, so publishing many files is never refused. A request
 * with no bearer token at all (a CORS preflight, a no-cors request any web page can make, a link
 * opened in a browser) gets 401 without counting: it guesses nothing, and counting it would let anyone
 * behind the operator's NAT or /64, or a page the operator opens, keep the operator locked out. A
 * client over the budget gets 429 for a minute without its token being compared at all, even a right
 * one: otherwise every further guess would still be answered, only more slowly, and a 200 among the
 * 429s would tell which guess was right. The binding counts across isolates;
 * the "blocked" mark is per isolate, so a client reaching a fresh isolate has one more guess there
 * (which the binding refuses and marks again).
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const expected = assertAdminEnabled(c.env);
    warnIfShort(expected);
    const ip = c.req.header('cf-connecting-ip');
    const client = ip ? clientNetwork(ip) : undefined;
    if (client && blockedNow(client)) throw tooManyAttempts(c);
    const given = bearerToken(c.req.header('authorization'));
    if (given === undefined) throw unauthorized(c);
    if (await secretsEqual(given, expected)) return next();
    if (client && (await overFailureBudget(c, client))) {
      blocked.set(client, true);
      throw tooManyAttempts(c);
    }
    throw unauthorized(c);
  };
}

function unauthorized(c: Context<AppEnv>): ApiError {
  c.header('www-authenticate', 'Bearer');
  return new ApiError(401, 'unauthorized', 'Send Authorization: Bearer <ADMIN_TOKEN>');
}

/**
 * The ADMIN_TOKEN, trimmed: a secret saved with its line break (`echo … | wrangler secret put`) or a
 * trailing space could never equal a bearer token (which holds no whitespace), and would lock the
 * operator out (as redis-client.ts trims the Upstash settings). Without one (or a blank one) every
 * admin path is a 404, so none ever runs unprotected.
 */
export function assertAdminEnabled(env: AppEnv['Bindings']): string {
  const token = env.ADMIN_TOKEN?.trim();
  if (!token) throw new ApiError(404, 'not_found', 'Admin endpoints are disabled (no ADMIN_TOKEN secret)');
  return token;
}

/** The token of a `Bearer` header; the scheme is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^bearer +(\S+) *$/i);
  return match?.[1];
}

/**
 * Clients over their failed-attempt budget in this isolate, each for BLOCKED_FOR_MS. Bounded: a client
 * with many addresses must not grow the isolate's memory; one pushed out early only gets its next
 * guess counted by the binding again.
 */
const blocked = new LRUCache<string, true>({ max: 10_000, ttl: BLOCKED_FOR_MS });

function blockedNow(client: string): boolean {
  return blocked.has(client);
}

/** Counts a failed attempt; true once the client has used up its budget. A failing (or hung) limiter counts nothing. */
async function overFailureBudget(c: Context<AppEnv>, client: string): Promise<boolean> {
  const limiter = c.env.ADMIN_AUTH_LIMITER ?? c.env.RATE_LIMITER;
  if (!limiter) return false;
  return !(await limiterAllows(c.env, limiter, `admin-auth\n${client}`));
}

function tooManyAttempts(c: Context<AppEnv>): ApiError {
  c.header('retry-after', String(BLOCKED_FOR_MS / 1000));
  return new ApiError(429, 'rate_limited', 'Too many failed admin authentications; retry in a minute');
}

let warnedShort = false;

/** Once per isolate: a short token is guessable where a long random one is not, rate limit or none. */
function warnIfShort(token: string): void {
  if (warnedShort || token.length >= MIN_ADMIN_TOKEN_LENGTH) return;
  warnedShort = true;
  log('warn', 'admin_token_short', {
    hint: `ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters: set a random one, e.g. openssl rand -hex 32`,
  });
}
