import type { Context } from 'hono';
import { LRUCache } from 'lru-cache';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { usableUserIdSecret } from '../shopper/user-signature';
import { clientNetwork } from './client-network';
import { limiterAllows } from './rate-limit';

/** How long a client over its failed-guess budget is refused before its tokens are even checked. */
const BLOCKED_FOR_MS = 60_000;

/**
 * Failed guesses at `POST /v1/prices/verify`, per client (the connecting IP, an IPv6 one by its /64).
 *
 * The route is outside the shoppers' rate limit (a checkout's server calls it for every order, from
 * one address). Where USER_ID_SECRET is unset a user id is the caller's word, and a price token in a
 * shop's page names its shopper by pseudonym: with no limit, anyone holding a token could try user
 * ids (customer numbers, email addresses) until one verified, and learn whose it is. So a request that
 * names an unsigned user id and whose every token answers `other_user` is a failed guess, counted
 * with the `RATE_LIMITER` binding (its 600 a minute); past that the client gets 429 for a minute
 * without its tokens being checked at all, so that a right guess among the refusals does not show as
 * a 200. A checkout verifying its shoppers' own tokens gets them valid and is never counted, nor is a
 * request naming only an `anonymous_id` (a random UUID, nothing to guess). With USER_ID_SECRET set
 * nothing is counted: a user id is then taken only signed. The "blocked" mark is per isolate, as
 * admin-auth.ts's: a fresh isolate gives one more guess, which the binding refuses and marks again.
 */
const blocked = new LRUCache<string, true>({ max: 10_000, ttl: BLOCKED_FOR_MS });

/** The client whose guesses count, when the request names an unsigned user id; else undefined. */
export function guessingClient(c: Context<AppEnv>, namesUserId: boolean): string | undefined {
  if (!namesUserId || usableUserIdSecret(c.env) !== undefined) return undefined;
  const ip = c.req.header('cf-connecting-ip');
  return ip ? clientNetwork(ip) : undefined;
}

/** 429 for a client over its failed-guess budget, before any of its tokens is checked. */
export function refuseBlockedGuesser(c: Context<AppEnv>, client: string | undefined): void {
  if (client !== undefined && blocked.has(client)) throw tooManyGuesses(c);
}

/**
 * Counts a failed guess (every token `other_user`); 429 once the client's budget is used up. A
 * missing or failing limiter counts nothing (limiterAllows): it must not refuse checkouts.
 */
export async function countFailedGuess(
  c: Context<AppEnv>,
  client: string | undefined,
  reasons: ReadonlyArray<string | undefined>,
): Promise<void> {
  if (client === undefined || !reasons.every((reason) => reason === 'other_user')) return;
  const limiter = c.env.RATE_LIMITER;
  if (!limiter || (await limiterAllows(c.env, limiter, `verify-guess\n${client}`))) return;
  blocked.set(client, true);
  throw tooManyGuesses(c);
}

function tooManyGuesses(c: Context<AppEnv>): ApiError {
  c.header('retry-after', String(BLOCKED_FOR_MS / 1000));
  return new ApiError(429, 'rate_limited', 'Too many verifications for other shoppers; retry in a minute');
}
