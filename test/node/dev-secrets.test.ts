import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * .rx-data/dev-secrets.json under a crash or a full disk: node:fs is wrapped so the next write can
 * store half its text and fail, as a process killed mid-write or a full disk leaves a file.
 */
const crash = vi.hoisted(() => ({ next: false }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeFileSync = ((target: unknown, data: unknown, options?: unknown) => {
    if (crash.next && typeof data === 'string') {
      crash.next = false;
      (real.writeFileSync as (...args: unknown[]) => void)(target, data.slice(0, data.length / 2), options);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return (real.writeFileSync as (...args: unknown[]) => void)(target, data, options);
  }) as typeof real.writeFileSync;
  return { ...real, default: { ...real, writeFileSync }, writeFileSync };
});

const fs = await import('node:fs');
const { loadDevSecrets } = await import('../../scripts/dev/dev-secrets');

const dirs: string[] = [];
function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-dev-secrets-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  crash.next = false;
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('dev secrets file (.rx-data/dev-secrets.json) under failures', () => {
  it('is replaced atomically: a write that fails halfway leaves the previous file whole', () => {
    const dir = freshDir();
    const file = path.join(dir, 'dev-secrets.json');
    const before = `${JSON.stringify({ PRICE_SIGNING_KEY: 'p-old', ADMIN_TOKEN: 'a-old' })}\n`;
    fs.writeFileSync(file, before, { mode: 0o600 });

    // Adding USER_HASH_KEY rewrites the file; the disk fills up halfway through.
    crash.next = true;
    expect(() => loadDevSecrets(dir)).toThrow(/no space left/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['dev-secrets.json']);

    // Next start: the old secrets are kept, the file is complete and owner-only.
    const loaded = loadDevSecrets(dir);
    expect(loaded).toMatchObject({ PRICE_SIGNING_KEY: 'p-old', ADMIN_TOKEN: 'a-old' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(loaded);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['dev-secrets.json']);
  });

  it('names a damaged file in a warning and keeps it aside before making new secrets', () => {
    const dir = freshDir();
    const file = path.join(dir, 'dev-secrets.json');
    const damaged = '{"PRICE_SIGNING_KEY": "p-old", "ADMIN_TO';
    fs.writeFileSync(file, damaged, { mode: 0o600 });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

    const made = loadDevSecrets(dir);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain(`${file} is damaged`);
    expect(String(warn.mock.calls[0]?.[0])).toContain('ADMIN_TOKEN');
    expect(fs.readFileSync(`${file}.damaged`, 'utf8')).toBe(damaged);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(made);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    // A missing file, or a complete one, is made or read without a word.
    warn.mockClear();
    expect(loadDevSecrets(dir)).toEqual(made);
    loadDevSecrets(freshDir());
    expect(warn).not.toHaveBeenCalled();
  });
});
