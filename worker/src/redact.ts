/**
 * An error text without what it may carry of the request that failed: Upstash's client appends the
 * whole command (`…, command was: ["get","rx:v1:<site>:…"]`, keys and values included), and a
 * connection error may carry credentials in a URL (`mongodb+srv://user:password@host`). Used for
 * what `/healthz` (public) shows and what the logs keep.
 */
export function redactSecrets(text: string): string {
  return text.replace(/,?\s*command was:[\s\S]*$/i, '').replace(/(\w+:\/\/)[^/@\s]*@/g, '$1…@');
}
