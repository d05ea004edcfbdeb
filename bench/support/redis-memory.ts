/**
 * How much Redis memory the cache's keys take, read through the Upstash REST protocol: what a shop pays
 * Upstash for by storage. `INFO memory` gives the server's total (so a difference over seeding is the
 * cost of what was seeded, overhead included); `MEMORY USAGE key SAMPLES 0` gives one key's own bytes
 * (its value and Redis's bookkeeping for it, every element counted). The local server's in-memory
 * backend knows neither command: each function then answers undefined and the benchmark says so.
 */

interface Upstash {
  url: string;
  token: string;
}

async function command(upstash: Upstash, args: (string | number)[]): Promise<unknown> {
  const response = await fetch(upstash.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${upstash.token}` },
    body: JSON.stringify(args),
  });
  const body = (await response.json()) as { result?: unknown; error?: string };
  return response.ok ? body.result : undefined;
}

/** redis-server's `used_memory` in bytes. */
export async function usedMemoryBytes(upstash: Upstash): Promise<number | undefined> {
  const info = await command(upstash, ['INFO', 'memory']);
  const match = typeof info === 'string' ? /^used_memory:(\d+)/m.exec(info) : null;
  return match ? Number(match[1]) : undefined;
}

/** The bytes one key takes, every element counted. */
export async function keyMemoryBytes(upstash: Upstash, key: string): Promise<number | undefined> {
  const bytes = await command(upstash, ['MEMORY', 'USAGE', key, 'SAMPLES', 0]);
  return typeof bytes === 'number' ? bytes : undefined;
}

/** Up to `limit` keys matching `pattern` (SCAN, so never blocking the server). */
export async function keysMatching(upstash: Upstash, pattern: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const page = await command(upstash, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000]);
    if (!Array.isArray(page)) return keys;
    cursor = String(page[0]);
    for (const key of (page[1] as string[] | undefined) ?? []) {
      keys.push(key);
      if (keys.length >= limit) return keys;
    }
  } while (cursor !== '0');
  return keys;
}
