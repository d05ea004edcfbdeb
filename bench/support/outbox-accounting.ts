/**
 * The outbox benchmark's whole-run accounting (`npm run bench -- outbox`): what makes its figures the
 * outbox's and not those of a run that lost, duplicated or refused events.
 */

export interface OutboxAccounting {
  /** Events the bench sent over the whole run (its sequence numbers 0 … sent - 1). */
  sent: number;
  /** Documents of the run in MongoDB. */
  stored: number;
  /** Distinct sequence numbers (`properties.seq`) among them. */
  distinct: number;
  /** Events sent while the queue refused. */
  outageEvents: number;
  /** What the outbox said it held at the end of the outage (its status' `waiting`). */
  heldWaiting: number;
}

/**
 * Throws unless every event sent is stored exactly once (by its sequence number) and the outbox held
 * every event sent during the outage. The count MongoDB reaches cannot say it: one event lost and
 * another stored twice still make the total. Nor can the outage's 503 answers: the intake answers 503
 * both when the outbox holds a request's events and when it refuses them (full), so only the outbox's
 * own count tells held from refused.
 */
export function assertOutboxAccounting(run: OutboxAccounting): void {
  const problems: string[] = [];
  if (run.distinct !== run.sent) problems.push(`${run.sent - run.distinct} of ${run.sent} events lost`);
  if (run.stored !== run.distinct) problems.push(`${run.stored - run.distinct} duplicate document(s)`);
  const held = heldProblem(run.heldWaiting, run.outageEvents);
  if (held) problems.push(held);
  if (problems.length > 0) {
    throw new Error(
      `outbox run does not account for its events: ${problems.join('; ')} (${run.sent} sent, ${run.stored} stored, ${run.distinct} distinct sequence numbers)`,
    );
  }
}

/** Why the outbox's count at the end of the outage is not every event sent during it, or undefined. */
export function heldProblem(heldWaiting: number, outageEvents: number): string | undefined {
  if (heldWaiting === outageEvents) return undefined;
  return `the outbox held ${heldWaiting} of the ${outageEvents} events sent during the outage`;
}
