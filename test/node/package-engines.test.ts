/**
 * package.json's `engines.node` against what the installed packages declare: every Node version it
 * allows must be one that wrangler (npm start), miniflare's undici, vite (npm test) and the rest accept.
 * `">=20.0.0"` let Node 20.0-20.18 in, where `npm start` cannot run (wrangler needs 20.3, the dev stack's
 * `node --import tsx` 20.6, miniflare's undici 20.18.1) nor `npm test` (vite needs 20.19).
 *
 * Just enough of semver's ranges for what the lockfile holds: `||`, `>=V`, `^V`, `V` and `*`, where V may
 * leave parts out or give them as `x`/`*`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Version = [number, number, number];

/** `20`, `20.19`, `20.19.0`, `10.*`, `4.x`: missing or wildcard parts count as 0. */
function parseVersion(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .trim()
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
  return [major, minor, patch];
}

/** How many leading parts of a version are given as numbers (`20` → 1, `13.7` → 2, `10.*` → 1). */
function givenParts(text: string): number {
  const parts = text.trim().split('.');
  const wild = parts.findIndex((part) => !/^\d+$/.test(part));
  return wild === -1 ? parts.length : wild;
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

const VERSION = String.raw`\d+(?:\.(?:\d+|x|\*)){0,2}`;

/** One alternative of a range: the lowest version it allows and whether a version is in it. */
function alternative(text: string): { lowest: Version; allows: (v: Version) => boolean } {
  const part = text.trim();
  if (part === '*' || part === '') return { lowest: [0, 0, 0], allows: () => true };
  const atLeast = new RegExp(`^>=\\s*(${VERSION})$`).exec(part);
  if (atLeast?.[1]) {
    const lowest = parseVersion(atLeast[1]);
    return { lowest, allows: (v) => compare(v, lowest) >= 0 };
  }
  const caret = new RegExp(`^\\^(${VERSION})$`).exec(part);
  if (caret?.[1]) {
    const lowest = parseVersion(caret[1]);
    // ^0.x is not in the lockfile; ^X.Y.Z and ^X.Y and ^X: same major, at least that.
    return { lowest, allows: (v) => v[0] === lowest[0] && compare(v, lowest) >= 0 };
  }
  const exact = new RegExp(`^(${VERSION})$`).exec(part);
  if (exact?.[1]) {
    const lowest = parseVersion(exact[1]);
    const given = givenParts(exact[1]);
    return { lowest, allows: (v) => v.slice(0, given).every((n, i) => n === lowest[i]) };
  }
  throw new Error(`a range this test cannot read: "${part}"`);
}

function range(text: string) {
  const alternatives = text.split('||').map(alternative);
  return {
    lowests: alternatives.map((a) => a.lowest),
    allows: (v: Version) => alternatives.some((a) => a.allows(v)),
  };
}

const root = new URL('../../', import.meta.url);
const own = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
};

/** Every installed package's `engines.node`; optional ones (platform builds) only install where they fit. */
const required = Object.entries(lock.packages).flatMap(([name, entry]) => {
  const engines = entry.engines;
  if (name === '' || entry.optional || !engines || Array.isArray(engines) || !engines.node) return [];
  return [{ name, node: engines.node }];
});

describe('package.json engines.node', () => {
  it('reads every range the lockfile holds', () => {
    expect(required.length).toBeGreaterThan(10);
    for (const { node } of required) expect(() => range(node)).not.toThrow();
  });

  it('allows no Node version (the lowest of each line it allows) that an installed package refuses', () => {
    const ours = range(own.engines.node);
    for (const lowest of ours.lowests) {
      const refusing = required.filter(({ node }) => !range(node).allows(lowest)).map((r) => r.name);
      expect(refusing, `Node ${lowest.join('.')} (engines.node "${own.engines.node}")`).toEqual([]);
    }
  });

  it('covers the Node version running this test, and the newest of each line the packages accept', () => {
    const ours = range(own.engines.node);
    expect(ours.allows(parseVersion(process.versions.node))).toBe(true);
    for (const v of [parseVersion('20.99.0'), parseVersion('22.99.0'), parseVersion('24.0.0')]) {
      expect(ours.allows(v), v.join('.')).toBe(true);
    }
  });
});
