/**
 * What the consumer's failures say in `/healthz` (public) and the log.
 *
 * A failed MongoDB connection: from a Worker, the driver's own
 * words for most connection failures are the same few: "proxy request failed, cannot connect to the
 * specified address" or "Server selection timed out" (after its 5 s; "Topology is closed" when the
 * batch's own client is closed meanwhile), whether the server is down, refuses Cloudflare's
 * addresses, or presents a certificate a Worker does not trust (workerd names that only in its own
 * log, "TLS peer's certificate is not trusted"). So those get the list of causes to check.
 */
const OPAQUE_CONNECT_FAILURE =
  /cannot connect to the specified address|Server selection timed out|Topology is closed/i;

/** First, because `/healthz` shows 200 characters of a failure: the driver's text follows. */
export const CONNECT_HINT =
  "could not connect (server down, closed to Cloudflare's addresses, or a certificate not from a public CA)";

/** `text` (an error's message), led by the causes to check when it only says "could not connect". */
export function withConnectHint(text: string): string {
  return OPAQUE_CONNECT_FAILURE.test(text) ? `${CONNECT_HINT}: ${text}` : text;
}

/** `error` as the consumer reports it: the same name and message, with the hint where it applies. */
export function explainConnectFailure(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const message = withConnectHint(error.message);
  if (message === error.message) return error;
  const explained = new Error(message);
  explained.name = error.name;
  return explained;
}

/**
 * `/healthz`'s words for a batch whose events will be retried: how many, and the first reason (the
 * writer object reports a failed connection as retries, not a throw). A server's message can quote a
 * document's values ("dup key: { order_id: … }"), which a public page must not show: everything from
 * the first `{` on is left out (not only up to its `}`: the reason may be cut before it, or a value may
 * hold one).
 */
export function retryDetail(count: number, reason: string): string {
  return `${count} event(s) will be retried: ${withConnectHint(reason).replace(/\{[\s\S]*/, '(…)')}`;
}
