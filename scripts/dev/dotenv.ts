/**
 * Writes variables in the `.env` format wrangler reads (`--env-file`): `dotenv` parses the file and
 * `dotenv-expand` then substitutes `$NAME`, so every `$` is escaped as `\$` (which dotenv-expand turns
 * back into `$`). Single quotes keep a value raw; a value containing one falls back to double quotes
 * or backticks.
 */
export function dotenvLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`"${name}" is not a valid variable name`);
  if (/[\r\n]/.test(value)) throw new Error(`${name}: multi-line values cannot be passed to wrangler dev`);
  const escaped = value.replaceAll('$', '\\$');
  if (!escaped.includes("'")) return `${name}='${escaped}'`;
  // dotenv turns \n and \r inside double quotes into line breaks.
  if (!escaped.includes('"') && !/\\[nr]/.test(escaped)) return `${name}="${escaped}"`;
  if (!escaped.includes('`')) return `${name}=\`${escaped}\``;
  throw new Error(`${name}: a value containing ' " and \` cannot be passed to wrangler dev`);
}

/** The whole file for `vars` (one line each). */
export function dotenvFile(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([name, value]) => dotenvLine(name, value))
    .join('\n')}\n`;
}
