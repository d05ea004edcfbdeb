/**
 * What redis-server executed, by command, read through the Upstash REST protocol (`INFO commandstats`).
 * redis-server counts a script's `EVALSHA` and each command the script runs, which is how Upstash bills
 * (its rate-limit SDK's cost table counts a script's `EVAL, INCR` as two commands), so the difference of
 * two snapshots is what the work between them would cost on Upstash.
 */

/** redis-server's calls per command so far. */
export async function redisCommandCalls(upstash: {
  url: string;
  token: string;
}): Promise<Map<string, number>> {
  const response = await fetch(upstash.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${upstash.token}` },
    body: JSON.stringify(['INFO', 'commandstats']),
  });
  const { result } = (await response.json()) as { result?: string };
  const calls = new Map<string, number>();
  for (const match of (result ?? '').matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm))
    calls.set(match[1] ?? '', Number(match[2]));
  return calls;
}

/** The commands run between two snapshots; `INFO` (the snapshots themselves) and `ignored` left out. */
export function commandsSince(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  ignored: readonly string[] = [],
): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    if (name === 'info' || ignored.includes(name)) continue;
    const ran = calls - (before.get(name) ?? 0);
    if (ran <= 0) continue;
    byCommand[name] = ran;
    total += ran;
  }
  return { total, byCommand };
}
