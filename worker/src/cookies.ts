/**
 * Every value a `Cookie` request header carries for `name`, in order, trimmed and not decoded
 * (the worker's own cookies are plain ASCII). Several are possible: a browser sends one per
 * matching path and domain.
 */
export function cookieValues(header: string | null, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === name) values.push(part.slice(separator + 1).trim());
  }
  return values;
}
