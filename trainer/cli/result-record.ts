/**
 * The JSON record a measuring command writes (`eval`, `forecast --backtest`): its result, what
 * reproduces it (the run's options and the commit they ran on) and when.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/** Writes `result` to `file` with `run` (plus the commit) and the time. */
export async function writeResultRecord(file: string, result: object, run: object): Promise<void> {
  const record = { ...result, run: { ...run, commit: gitCommit() }, createdAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
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
