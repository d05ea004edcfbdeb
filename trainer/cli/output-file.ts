/**
 * Checks an output option before the work starts: a command that reads and trains for minutes must
 * not fail only at the end because `--out` names a folder or an unwritable place.
 */
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BundleTargetError, checkBundleTarget } from '../bundle/write-bundle';

/** Thrown when an output option names a place the command cannot or must not write. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/** `--flag FILE` can be written: not a folder, parent created, a probe file in it succeeds. */
export async function checkOutputFile(flag: string, file: string): Promise<void> {
  const fail = (why: string) => new OutputError(`--${flag} ${file}: ${why}`);
  const existing = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw fail(`cannot inspect it (${error.code ?? error.message})`);
  });
  if (existing?.isDirectory())
    throw fail(`is a folder; name a file in it, e.g. ${path.join(file, 'out.csv')}`);
  const parent = path.dirname(path.resolve(file));
  await mkdir(parent, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw fail(`cannot create ${parent} (${error.code ?? error.message})`);
  });
  const probe = `${file}.tmp-${process.pid}`;
  const handle = await open(probe, 'w').catch((error: NodeJS.ErrnoException) => {
    throw fail(`cannot write in ${parent} (${error.code ?? error.message})`);
  });
  await handle.close();
  await rm(probe, { force: true });
}

/** `--out DIR` can receive a bundle (see checkBundleTarget), as a one-line error naming the option. */
export async function checkBundleOutput(dir: string): Promise<void> {
  await checkBundleTarget(dir).catch((error: unknown) => {
    if (error instanceof BundleTargetError) throw new OutputError(`--out: ${error.message}`);
    throw error;
  });
}
