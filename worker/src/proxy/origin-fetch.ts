import { ApiError } from '../errors';
import { reportFailure, reportRecovery } from '../health';
import { logRepeating } from '../log-repeating';
import { ORIGIN_UNREACHABLE } from './unavailable';

/**
 * The request to the origin, and what its outcome says about the origin's health (`/healthz`
 * `origin`, docs/proxy.md "Origin down").
 */

/**
 * Cloudflare's own answers for an origin it got no answer from: 520 unknown error, 521 down, 522 and
 * 524 timeouts, 523 unreachable, 525/526 TLS, 530 with a 1xxx code (1016: the origin's name does not
 * resolve). On Cloudflare a worker's fetch returns these instead of throwing, and their pages name the
 * origin's host, which is not for shoppers.
 */
function isCloudflareOriginError(status: number): boolean {
  return status >= 520 && status <= 530;
}

/**
 * The origin's own answers that say it (or a gateway in front of it) cannot serve pages now: bad
 * gateway, unavailable (maintenance, overload), gateway timeout. Passed on to the shopper as they are,
 * and shown on `/healthz`: an operator wants to know that the shop is answering errors, even though the
 * worker did nothing wrong. A 500 or 501 is more often one broken page than a shop that is down, so
 * it neither degrades nor clears the origin's health; below 500, the origin answered.
 */
const ORIGIN_UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/** Logged and reported as the origin's failure; the ApiError proxy.ts answers with `originUnreachable`. */
function originFailed(target: URL, error: unknown): ApiError {
  reportFailure('origin', error);
  logRepeating('error', ORIGIN_UNREACHABLE, { host: target.host, error });
  return new ApiError(502, ORIGIN_UNREACHABLE, 'The shop could not be reached', [], { cause: error });
}

/**
 * Fetches from the origin; throws ApiError 502 `origin_unreachable` (answered by `originUnreachable`)
 * when the fetch fails or Cloudflare answers for an origin it could not reach.
 */
export async function fetchOrigin(target: URL, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(target, init);
  } catch (error) {
    throw originFailed(target, error);
  }
  const status = response.status;
  if (isCloudflareOriginError(status)) {
    response.body?.cancel().catch(() => undefined);
    throw originFailed(target, new Error(`Cloudflare answered ${status} in place of the origin`));
  }
  if (ORIGIN_UNAVAILABLE_STATUSES.has(status)) {
    reportFailure('origin', new Error(`the origin answered ${status} (passed on to shoppers)`));
  } else if (status < 500) {
    reportRecovery('origin');
  }
  return response;
}
