/**
 * Tokens the operator scripts send in an `Authorization: Bearer …` header (CLOUDFLARE_API_TOKEN,
 * ADMIN_TOKEN), checked before any request. fetch refuses a header value with a line break or a
 * character past U+00FF with a TypeError that quotes the whole value: printed, or logged on each retry,
 * that puts the token in terminals and cron mail. So a token is checked up front, and an error never
 * quotes a header value.
 */

/**
 * Why the token in the environment variable `name` cannot be sent, or `undefined` when it can: a token
 * is printable ASCII without spaces. The message names the variable and never quotes the value.
 */
export function bearerTokenProblem(name: string, value: string): string | undefined {
  if (/^[\x21-\x7e]+$/.test(value)) return undefined;
  const what = /[\r\n]/.test(value)
    ? 'a line break'
    : /\s/.test(value)
      ? 'a space or other whitespace'
      : [...value].some(isControl)
        ? 'a control character'
        : 'a character outside printable ASCII';
  return `${name} contains ${what}, which a token cannot have (a stray newline or space from pasting it?): set it to the token alone`;
}

/**
 * `text` with every piece of `secret` (its runs of 4 or more characters between whitespace) replaced by
 * `[redacted]`: for error messages of libraries that may quote a header value (fetch's Headers).
 */
export function withoutSecret(text: string, secret: string): string {
  let out = text;
  const pieces = [...secret].map((char) => (isControl(char) || /\s/.test(char) ? ' ' : char)).join('');
  for (const piece of pieces.split(' ')) {
    if (piece.length >= 4) out = out.split(piece).join('[redacted]');
  }
  return out;
}

/** C0 controls and DEL. */
function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}
