import { BSON } from 'bson';
import type { Doc } from '../types.ts';
import { HEADER_SIZE, OpCode } from './op-codes.ts';

function serialize(doc: Doc): Uint8Array {
  // `undefined` can come out of aggregation expressions; MongoDB never stores it.
  return BSON.serialize(doc, { ignoreUndefined: true });
}

function writeHeader(buf: Buffer, requestId: number, responseTo: number, opCode: number): void {
  buf.writeInt32LE(buf.length, 0);
  buf.writeInt32LE(requestId, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
}

/** An OP_MSG reply with one body section and no flags. */
export function encodeMsgReply(requestId: number, responseTo: number, doc: Doc): Buffer {
  const body = serialize(doc);
  const buf = Buffer.alloc(HEADER_SIZE + 4 + 1 + body.length);
  writeHeader(buf, requestId, responseTo, OpCode.Msg);
  buf.writeUInt32LE(0, HEADER_SIZE);
  buf.writeUInt8(0, HEADER_SIZE + 4);
  buf.set(body, HEADER_SIZE + 5);
  return buf;
}

/** An OP_REPLY with one document: the answer to a legacy OP_QUERY command. */
export function encodeLegacyReply(requestId: number, responseTo: number, doc: Doc): Buffer {
  const body = serialize(doc);
  const fixed = 4 + 8 + 4 + 4; // responseFlags, cursorID, startingFrom, numberReturned
  const buf = Buffer.alloc(HEADER_SIZE + fixed + body.length);
  writeHeader(buf, requestId, responseTo, OpCode.Reply);
  buf.writeInt32LE(0, HEADER_SIZE);
  buf.writeBigInt64LE(0n, HEADER_SIZE + 4);
  buf.writeInt32LE(0, HEADER_SIZE + 12);
  buf.writeInt32LE(1, HEADER_SIZE + 16);
  buf.set(body, HEADER_SIZE + fixed);
  return buf;
}
