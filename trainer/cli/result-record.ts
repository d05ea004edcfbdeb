/**
 * The JSON record a measuring command writes (`eval`, `forecast --backtest`): its result, what
 * reproduces it (the run's options and the commit they ran on) and when.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `result` to `file` with `run` (plus the commit) and the time. Written beside `file` under a
 * temporary name, then renamed over it: a run that dies while writing (killed, or an EPIPE on stdout
 * when piped to `head`) leaves the previous record in place, not an empty or cut-off file. A symlink
 * at `file` is written through, as before.
 */
export async function writeResultRecord(file: string, result: object, run: object): Promise<void> {
  const record = { ...result, run: { ...run, commit: gitCommit() }, createdAt: new Date().toISOString() };
  const target = await realpath(file).catch(() => file);
  const temporary = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The commit the figures come from, `+dirty` when the tree had changes; null without git. */
function gitCommit(): string | null {
  try {
    const git = (...command: string[]) =>
      execFileSync('git', command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', 'HEAD')}${git('status', '--porcelain') ? '+dirty' : ''}`;
  } catch {
    return null;
  }
}
