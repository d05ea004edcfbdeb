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
 * writer object reports a failed connection as retries, not a throw), without the values a server
 * message quotes (withoutValues).
 */
export function retryDetail(count: number, reason: string): string {
  return `${count} event(s) will be retried: ${withConnectHint(withoutValues(reason))}`;
}

/**
 * A failure (thrown by a batch's write, or by the call to the writer object) as `/healthz` may show it:
 * its kind and message, with the hint where it applies and without the values a server message quotes.
 */
export function failureDetail(error: unknown): string {
  const explained = explainConnectFailure(error);
  if (!(explained instanceof Error)) return withoutValues(String(explained));
  return `${explained.name}: ${withoutValues(explained.message)}`;
}

/** Where a per-document verdict's text starts: what follows may quote the document's field names. */
const DOCUMENT_VERDICT = /MongoDB error -?\d+:|cannot be encoded as BSON:/;

/**
 * A MongoDB message without the document values it quotes, for `/healthz` (public: docs/api.md says it
 * never shows keys and values). The server quotes a document after the key of a duplicate ("dup key:
 * { traits.email: "ann@example.com" }", from a unique index a data team added) or one too long to
 * index: everything from the first `{` on becomes `(…)` (not only up to its `}`: the reason may be cut
 * before it, or a value may hold one). After a per-document verdict ("MongoDB error 52: The dollar ($)
 * prefixed field '$…' …", "cannot be encoded as BSON: … found: "…"") quoted text is the document's own
 * field name or value, and becomes `"…"` / `'…'` too. `rejected_events` (the shop's own database) keeps the whole
 * message. Applying it twice changes nothing.
 */
export function withoutValues(text: string): string {
  const cut = text.replace(/\{[\s\S]*/, '(…)');
  const verdict = DOCUMENT_VERDICT.exec(cut);
  if (verdict === null) return cut;
  const from = verdict.index + verdict[0].length;
  const quoted = cut
    .slice(from)
    .replace(/"[^"]*(?:"|$)/g, '"…"')
    .replace(/'[^']*(?:'|$)/g, "'…'");
  return cut.slice(0, from) + quoted;
}

/**
 * `error` as the consumer logs it: its name, and its message with the connect hint and without the
 * document values a server message quotes (withoutValues). Logs are read by more people and kept by
 * other systems than the shop's database: a data team's unique index on an email made every failed
 * batch log that shopper's address. `rejected_events` keeps the whole reason.
 */
export function loggedFailure(error: unknown): unknown {
  const explained = explainConnectFailure(error);
  if (!(explained instanceof Error))
    return typeof explained === 'string' ? withoutValues(explained) : explained;
  const logged = new Error(withoutValues(explained.message));
  logged.name = explained.name;
  return logged;
}
