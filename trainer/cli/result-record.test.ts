import { mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeResultRecord } from './result-record';

/**
 * `writeFile` as the code under test sees it. While `stall` is set, a call writes the first half of its
 * text (as a real write is part-way through: the file opened, truncated and partly written), then waits
 * for `stall.release` before writing it all: what is on disk at `stall.reached` is what a run killed at
 * that moment leaves behind. (Written some other way than `writeFile`, the record would never reach the
 * stall and the test would time out: it fails, it does not pass.)
 */
const fsControl = vi.hoisted(() => ({
  stall: null as null | { reached: () => void; release: Promise<void> },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const stalling: typeof actual.writeFile = async (file, data, options) => {
    const stall = fsControl.stall;
    if (!stall || typeof file !== 'string' || typeof data !== 'string') {
      return actual.writeFile(file, data, options);
    }
    await actual.writeFile(file, data.slice(0, data.length >> 1), options);
    stall.reached();
    await stall.release;
    return actual.writeFile(file, data, options);
  };
  return { ...actual, default: { ...actual, writeFile: stalling }, writeFile: stalling };
});

describe('writeResultRecord', () => {
  it('a run that dies while writing leaves the previous record whole; the new one replaces it by rename', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-record-'));
    const file = path.join(dir, 'eval.json');
    const previous = `${JSON.stringify({ rows: [1, 2, 3] }, null, 2)}\n`;
    await writeFile(file, previous);
    const before = await stat(file);

    let reached = () => {};
    const writing = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    fsControl.stall = { reached, release: released };
    try {
      const done = writeResultRecord(file, { rows: ['a', 'b', 'c'] }, { format: 'events' });
      await writing;
      // Half the record is on disk somewhere: a run killed now (SIGKILL, EPIPE) leaves this. The
      // record's own file is still the previous one, byte for byte and the same inode.
      expect(await readFile(file, 'utf8')).toBe(previous);
      expect((await stat(file)).ino).toBe(before.ino);

      release();
      await done;
    } finally {
      fsControl.stall = null;
      release();
    }
    // Now the new record, complete, in a new inode: renamed over the old one, not written into it.
    const record = JSON.parse(await readFile(file, 'utf8')) as { rows: string[]; run: { format: string } };
    expect(record.rows).toEqual(['a', 'b', 'c']);
    expect(record.run.format).toBe('events');
    expect((await stat(file)).ino).not.toBe(before.ino);
    expect(await readdir(dir)).toEqual(['eval.json']);
  });

  it('replaces the record, leaves no temporary file, and writes through a symlink', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-record-'));
    const real = path.join(dir, 'real.json');
    await writeFile(real, '{}\n');
    await symlink(real, path.join(dir, 'link.json'));
    await writeResultRecord(path.join(dir, 'link.json'), { rows: ['a'] }, { format: 'events' });
    const record = JSON.parse(await readFile(real, 'utf8')) as { rows: string[]; run: { format: string } };
    expect(record.rows).toEqual(['a']);
    expect(record.run.format).toBe('events');
    expect((await readdir(dir)).sort()).toEqual(['link.json', 'real.json']);
    await writeResultRecord(path.join(dir, 'new.json'), { rows: [] }, {});
    expect((await readdir(dir)).sort()).toEqual(['link.json', 'new.json', 'real.json']);
  });
});
