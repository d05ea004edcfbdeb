import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeResultRecord } from './result-record';

const here = path.dirname(new URL(import.meta.url).pathname);

describe('writeResultRecord', () => {
  it('a run that dies while writing leaves the previous record whole, not an empty file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-record-'));
    const file = path.join(dir, 'eval.json');
    const previous = `${JSON.stringify({ rows: [1, 2, 3] }, null, 2)}\n`;
    await writeFile(file, previous);
    // The run starts writing a large record and exits (as on EPIPE) the moment the file changes at all;
    // before, the file was truncated first and left 0 bytes.
    const child = path.join(dir, 'dies-mid-write.ts');
    await writeFile(
      child,
      [
        `import { statSync } from 'node:fs';`,
        `import { writeResultRecord } from ${JSON.stringify(path.join(here, 'result-record.ts'))};`,
        'const file = process.argv[2] ?? "";',
        'const before = statSync(file).size;',
        `void writeResultRecord(file, { rows: 'x'.repeat(20_000_000) }, {});`,
        // Spinning keeps the event loop from going on: what is on disk when the file first changes stays.
        'const deadline = Date.now() + 1_500;',
        'while (Date.now() < deadline && statSync(file).size === before) {}',
        'process.exit(1);',
      ].join('\n'),
    );
    await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), [child, file]).catch(() => undefined);
    const text = await readFile(file, 'utf8');
    expect(text.length).toBeGreaterThan(0);
    const record = JSON.parse(text) as { rows: unknown };
    // The previous record, or the new one complete: never a part.
    if (text !== previous) expect(record.rows).toHaveLength(20_000_000);
  }, 30_000);

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
