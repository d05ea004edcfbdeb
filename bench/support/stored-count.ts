import type { Collection } from 'mongodb';

/**
 * Waits until a collection that is fresh for the run holds `count` documents, or `timeoutMs` passes;
 * returns the last count seen. It polls `estimatedDocumentCount`: a filtered count scans every
 * document in the local server, which shares the machine's CPUs with the pipeline being measured.
 * Benchmarks take their exact counts once, at the end.
 */
export async function waitForStoredCount(
  events: Collection,
  count: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let stored = await events.estimatedDocumentCount();
  while (stored < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stored = await events.estimatedDocumentCount();
  }
  return stored;
}
