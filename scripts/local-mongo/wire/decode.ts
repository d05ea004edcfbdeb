import { BSON } from 'bson';
import type { Doc } from '../types.ts';
import { HEADER_SIZE, MsgFlags, OpCode } from './op-codes.ts';

/** The standard header every wire message starts with. */
export interface MessageHeader {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

/** A legacy OP_QUERY: only used by drivers for the first `hello`/`isMaster` of a connection. */
export interface QueryMessage {
  kind: 'query';
  header: MessageHeader;
  fullCollectionName: string;
  query: Doc;
}

/** An OP_MSG with its kind-1 document sequences folded into the body as arrays, as MongoDB does. */
export interface CommandMessage {
  kind: 'msg';
  header: MessageHeader;
  flags: number;
  body: Doc;
}

export type IncomingMessage = QueryMessage | CommandMessage;

/** A message that cannot be understood; the connection answers or closes, never crashes. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Reads the header at the start of `buf` (which must hold at least HEADER_SIZE bytes). */
export function readHeader(buf: Buffer): MessageHeader {
  return {
    length: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

/** Decodes one complete message (header included). Throws ProtocolError on anything malformed. */
export function decodeMessage(buf: Buffer): IncomingMessage {
  const header = readHeader(buf);
  if (header.opCode === OpCode.Msg) return decodeMsg(header, buf);
  if (header.opCode === OpCode.Query) return decodeQuery(header, buf);
  throw new ProtocolError(`unsupported opCode ${header.opCode}`);
}

function decodeMsg(header: MessageHeader, buf: Buffer): CommandMessage {
  const flags = buf.readUInt32LE(HEADER_SIZE);
  // Bits 0-15 are "required": an unknown one there means we must not guess the meaning.
  const knownRequired = MsgFlags.ChecksumPresent | MsgFlags.MoreToCome;
  if ((flags & 0xffff & ~knownRequired) !== 0) {
    throw new ProtocolError(`unsupported required OP_MSG flag bits 0x${flags.toString(16)}`);
  }
  // The CRC-32C trailer is optional to verify; TCP already checksums loopback traffic.
  const end = flags & MsgFlags.ChecksumPresent ? buf.length - 4 : buf.length;
  let offset = HEADER_SIZE + 4;
  let body: Doc | undefined;
  const sequences: Array<[string, Doc[]]> = [];
  while (offset < end) {
    const sectionKind = buf.readUInt8(offset);
    offset += 1;
    if (sectionKind === 0) {
      if (body) throw new ProtocolError('OP_MSG has more than one body section');
      const size = documentSize(buf, offset, end);
      body = deserialize(buf, offset, size);
      offset += size;
    } else if (sectionKind === 1) {
      const size = buf.readInt32LE(offset);
      const sectionEnd = offset + size;
      if (size < 5 || sectionEnd > end) throw new ProtocolError('OP_MSG document sequence overruns message');
      const nameEnd = buf.indexOf(0, offset + 4);
      if (nameEnd < 0 || nameEnd >= sectionEnd)
        throw new ProtocolError('OP_MSG sequence identifier unterminated');
      const identifier = buf.toString('utf8', offset + 4, nameEnd);
      const docs: Doc[] = [];
      let docOffset = nameEnd + 1;
      while (docOffset < sectionEnd) {
        const docSize = documentSize(buf, docOffset, sectionEnd);
        docs.push(deserialize(buf, docOffset, docSize));
        docOffset += docSize;
      }
      sequences.push([identifier, docs]);
      offset = sectionEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${sectionKind}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  for (const [identifier, docs] of sequences) {
    if (identifier in body) throw new ProtocolError(`'${identifier}' given both in body and as a sequence`);
    body[identifier] = docs;
  }
  return { kind: 'msg', header, flags, body };
}

function decodeQuery(header: MessageHeader, buf: Buffer): QueryMessage {
  let offset = HEADER_SIZE + 4; // skip flags
  const nameEnd = buf.indexOf(0, offset);
  if (nameEnd < 0) throw new ProtocolError('OP_QUERY collection name unterminated');
  const fullCollectionName = buf.toString('utf8', offset, nameEnd);
  offset = nameEnd + 1 + 8; // skip numberToSkip, numberToReturn
  const size = documentSize(buf, offset, buf.length);
  return { kind: 'query', header, fullCollectionName, query: deserialize(buf, offset, size) };
}

function documentSize(buf: Buffer, offset: number, end: number): number {
  if (offset + 5 > end) throw new ProtocolError('truncated BSON document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new ProtocolError(`BSON document size ${size} out of bounds`);
  return size;
}

function deserialize(buf: Buffer, offset: number, size: number): Doc {
  try {
    return BSON.deserialize(buf.subarray(offset, offset + size));
  } catch (error) {
    throw new ProtocolError(`invalid BSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
