/** Wire protocol op codes this server understands (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/). */
export const OpCode = {
  Reply: 1,
  Query: 2004,
  Compressed: 2012,
  Msg: 2013,
} as const;

/** OP_MSG flag bits. */
export const MsgFlags = {
  ChecksumPresent: 1 << 0,
  MoreToCome: 1 << 1,
  ExhaustAllowed: 1 << 16,
} as const;

/** Size of the standard message header: length, requestID, responseTo, opCode. */
export const HEADER_SIZE = 16;

/** Largest message accepted or advertised (MongoDB's own limit). */
export const MAX_MESSAGE_SIZE = 48_000_000;

/** Largest BSON document accepted or advertised. */
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

/**
 * Most statements in one insert/update/delete, accepted or advertised (MongoDB's own limit since 3.6).
 * The driver splits bigger batches by the advertised value, so it must be the real one.
 */
export const MAX_WRITE_BATCH_SIZE = 100_000;
