import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One entry of `error.details`: which field was wrong and why. */
export interface ErrorDetail {
  field?: string;
  index?: number;
  reason: string;
}

/**
 * The one error type of the API. `onError` turns it into
 * `{ "error": { "code", "message", "details" } }` with its status.
 */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(status, { message, cause: options.cause });
  }
}

export function errorBody(code: string, message: string, details: ErrorDetail[] = []) {
  return { error: { code, message, details } };
}
