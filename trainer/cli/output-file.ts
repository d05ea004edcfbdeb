/**
 * Checks an output option before the work starts: a command that reads and trains for minutes must
 * not fail only at the end because `--out` names a folder or an unwritable place.
 */
import path from 'node:path';
import {
  BundleTargetError,
  checkBundleTarget,
  checkWritableParent,
  existingEntry,
} from '../bundle/write-bundle';

/** Thrown when an output option names a place the command cannot or must not write. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/** `--flag FILE` can be written: not a folder, parent created and writable (checkWritableParent). */
export async function checkOutputFile(flag: string, file: string): Promise<void> {
  const fail = (why: string) => new OutputError(`--${flag} ${file}: ${why}`);
  if ((await existingEntry(file, fail))?.isDirectory())
    throw fail(`is a folder; name a file in it, e.g. ${path.join(file, 'out.csv')}`);
  await checkWritableParent(file, fail);
}

/** `--out DIR` can receive a bundle (see checkBundleTarget), as a one-line error naming the option. */
export async function checkBundleOutput(dir: string): Promise<void> {
  await checkBundleTarget(dir).catch((error: unknown) => {
    if (error instanceof BundleTargetError) throw new OutputError(`--out: ${error.message}`);
    throw error;
  });
}
