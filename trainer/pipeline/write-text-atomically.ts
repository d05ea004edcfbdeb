import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Writes `chunks` to `out` atomically: into `out.tmp-PID`, renamed over `out` once everything is
 * written, so a reader never sees half a CSV and a failed run leaves the previous file as it was.
 *
 * `pipeline` is what makes a failure an ordinary rejection: a write error (a full disk) that arrives
 * while the producer is busy (running a model over the next users) would otherwise be an 'error' event
 * with no listener, which crashes the process with a stack trace and leaves the temporary file behind.
 * Either side's failure removes the temporary file and rejects with that failure.
 */
export async function writeTextAtomically(
  out: string,
  chunks: AsyncIterable<string> | Iterable<string>,
): Promise<void> {
  const temp = `${out}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(temp));
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
