/** A promise that did not settle in time. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/**
 * Settles like `work`, or rejects with a `DeadlineError` after `ms`. The work itself is not
 * cancelled; callers drop whatever it holds (the MongoDB client) so nothing waits on it again.
 * Used wherever the worker waits on a binding or a server: the consumer's MongoDB writes, the queue
 * sends and the outbox, the model store's reads. (The proxy's page budget is `proxy/deadline.ts`.)
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
