/**
 * An error as one line, its kind first (`MongoServerError: Authentication failed.`): what `/healthz`,
 * the outbox's and the event writer's statuses and rejection records say of a failure. Not redacted:
 * callers that show it publicly pass it through `publicDetail` (health.ts).
 */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
