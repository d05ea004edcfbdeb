/**
 * Redis's glob-style pattern match (KEYS, SCAN MATCH): `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\x`
 * for a literal x. A direct port of the semantics of Redis's `stringmatchlen`, over code points.
 */
export function globMatch(pattern: string, text: string): boolean {
  return matchFrom([...pattern], 0, [...text], 0);
}

function matchFrom(pattern: string[], p: number, text: string[], t: number): boolean {
  while (p < pattern.length) {
    const token = pattern[p];
    if (token === '*') {
      while (pattern[p + 1] === '*') p++;
      if (p + 1 === pattern.length) return true;
      for (let start = t; start <= text.length; start++) {
        if (matchFrom(pattern, p + 1, text, start)) return true;
      }
      return false;
    }
    if (t >= text.length) return false;
    const char = text[t] as string;
    if (token === '?') {
      p++;
      t++;
      continue;
    }
    if (token === '[') {
      const { matched, end } = matchClass(pattern, p + 1, char);
      if (!matched) return false;
      p = end + 1;
      t++;
      continue;
    }
    let literal = token;
    if (token === '\\' && p + 1 < pattern.length) {
      p++;
      literal = pattern[p];
    }
    if (literal !== char) return false;
    p++;
    t++;
  }
  return t === text.length;
}

/** Matches `char` against the class starting at `start` (just after `[`); `end` is the index of `]`. */
function matchClass(pattern: string[], start: number, char: string): { matched: boolean; end: number } {
  let p = start;
  const negate = pattern[p] === '^';
  if (negate) p++;
  let matched = false;
  while (p < pattern.length && pattern[p] !== ']') {
    const current = pattern[p] as string;
    if (current === '\\' && p + 1 < pattern.length) {
      if (pattern[p + 1] === char) matched = true;
      p += 2;
      continue;
    }
    const rangeEnd = pattern[p + 2];
    if (pattern[p + 1] === '-' && rangeEnd !== undefined && rangeEnd !== ']') {
      const low = Math.min(cp(current), cp(rangeEnd));
      const high = Math.max(cp(current), cp(rangeEnd));
      if (cp(char) >= low && cp(char) <= high) matched = true;
      p += 3;
      continue;
    }
    if (current === char) matched = true;
    p++;
  }
  // An unterminated class ends at the pattern's end, as in Redis.
  return { matched: negate ? !matched : matched, end: Math.min(p, pattern.length - 1) };
}

function cp(char: string): number {
  return char.codePointAt(0) ?? 0;
}
