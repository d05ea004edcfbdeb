import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Writes `text` as `name` in a fresh temporary folder and returns its path. */
export async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-trainer-test-'));
  const at = path.join(dir, name);
  await writeFile(at, text);
  return at;
}

/** A stored track event of `shopper`, at 10:`minute` on 2026-11-01 UTC. */
export function trackEvent(
  event: string,
  shopper: string,
  minute: number,
  properties: Record<string, unknown>,
) {
  return {
    type: 'track',
    event,
    anonymousId: shopper,
    timestamp: new Date(Date.UTC(2026, 10, 1, 10, minute)).toISOString(),
    properties,
  };
}
