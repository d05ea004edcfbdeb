import { MAX_QUERY_LENGTH } from '../../../contracts/api-types';
import { ApiError, type ErrorDetail } from '../errors';

interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * Turns zod issues into `details` that name the field (`product_ids[3]` for list elements); an issue
 * with the whole input (a body that is `null` or a list) names `whole` (`body`, `query`).
 */
export function issueDetails(issues: readonly Issue[], whole: string): ErrorDetail[] {
  return issues.map((issue) => {
    const [field, ...rest] = issue.path;
    const detail: ErrorDetail = { field: field === undefined ? whole : String(field), reason: issue.message };
    const index = rest.find((part) => typeof part === 'number');
    if (typeof index === 'number') detail.index = index;
    return detail;
  });
}

/** A zod-validator hook: 400 `invalid_request` naming every bad field. */
export function rejectInvalid(what: string) {
  return (result: { success: boolean; error?: { issues: readonly Issue[] } }) => {
    if (!result.success) {
      const details = issueDetails(result.error?.issues ?? [], what);
      const fields = [...new Set(details.map((d) => d.field))].join(', ');
      throw new ApiError(400, 'invalid_request', `Invalid ${what}: ${fields}`, details);
    }
  };
}

/** Longest query string accepted (bytes of `?...`); longer is 414, before any parsing. */
export { MAX_QUERY_LENGTH };

export function assertQueryLength(url: string): void {
  const question = url.indexOf('?');
  const length = question < 0 ? 0 : url.length - question - 1;
  if (length > MAX_QUERY_LENGTH) {
    throw new ApiError(414, 'query_too_long', `The query string is over ${MAX_QUERY_LENGTH} bytes`, [
      { reason: `${length} bytes; limit ${MAX_QUERY_LENGTH}` },
    ]);
  }
}
