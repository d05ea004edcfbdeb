import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTextAtomically } from './write-text-atomically';

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'rx-write-text-'));

describe('writeTextAtomically', () => {
  it('writes every chunk, in order, to the named file and leaves no temporary file', async () => {
    const dir = folder();
    const out = path.join(dir, 'out.csv');
    async function* lines() {
      yield 'a,b\n';
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield '1,2\n';
    }
    await writeTextAtomically(out, lines());
    expect(readFileSync(out, 'utf8')).toBe('a,b\n1,2\n');
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
  });

  it('a full disk while the producer is busy rejects (no crash), removes the temporary file and keeps the old output', async () => {
    const dir = folder();
    const out = path.join(dir, 'out.csv');
    writeFileSync(out, 'previous\n');
    // The temporary file is a link to /dev/full, where every write fails with ENOSPC, as on a full disk.
    const temp = `${out}.tmp-${process.pid}`;
    symlinkSync('/dev/full', temp);
    async function* slowProducer() {
      yield 'header\n';
      // The write of the header fails while this chunk is being produced (a model run in `recommend`).
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield 'row\n';
    }
    await expect(writeTextAtomically(out, slowProducer())).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(temp)).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
  });

  it("the producer's failure rejects with it and removes the temporary file", async () => {
    const dir = folder();
    const out = path.join(dir, 'out.csv');
    async function* failing() {
      yield 'header\n';
      throw new Error('model run failed');
    }
    await expect(writeTextAtomically(out, failing())).rejects.toThrow('model run failed');
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });
});
