/**
 * MongoDB's server error codes that this server answers with. The driver branches on the
 * numeric code (11000 for duplicates, 59 for an unknown command, ...), so they must match.
 */
export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  Overflow: 15,
  InvalidLength: 16,
  ProtocolError: 17,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  OperationFailed: 96,
  InvalidIndexSpecificationOption: 197,
  NotImplemented: 238,
  QueryExceededMemoryLimitNoDiskUseAllowed: 292,
  MechanismUnavailable: 334,
  DuplicateKey: 11000,
  OutOfDiskSpace: 14031,
  // Codes MongoDB raises by number only (its command parser's); their name is 'Location' + the number.
  Location40414: 40414,
  Location40415: 40415,
} as const;

/** The name MongoDB reports beside each numeric code (`codeName`). */
export type ErrorCodeName = keyof typeof ErrorCodes;

/**
 * A command failure answered as `{ ok: 0, errmsg, code, codeName }`. Thrown by command
 * handlers; the dispatcher turns it into the reply so the connection keeps working.
 */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: ErrorCodeName;

  constructor(codeName: ErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
    this.codeName = codeName;
    this.code = ErrorCodes[codeName];
  }
}
