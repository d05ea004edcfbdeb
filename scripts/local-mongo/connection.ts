import type net from 'node:net';
import type { CommandContext } from './commands/context.ts';
import { runCommand } from './commands/registry.ts';
import type { Doc } from './types.ts';
import { decodeMessage, type IncomingMessage, ProtocolError, readHeader } from './wire/decode.ts';
import { encodeLegacyReply, encodeMsgReply } from './wire/encode.ts';
import { HEADER_SIZE, MAX_MESSAGE_SIZE, MsgFlags, OpCode } from './wire/op-codes.ts';

let nextReplyId = 1;

/**
 * One client connection: reassembles wire messages from TCP chunks, runs each command in
 * order, and writes the reply. A message that cannot be framed closes the connection; one
 * that is framed but malformed gets an error reply. Neither reaches the process.
 */
export class WireConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /**
   * `held()` true: what arrives is read and kept, but nothing is run or answered (a stalled server);
   * `proceed()` then runs and answers what was kept, in order.
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly context: CommandContext,
    private readonly held: () => boolean = () => false,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // Resets from clients that go away are routine; without a listener they would crash the process.
    socket.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') {
        console.warn(`local-mongo: connection ${context.connectionId}: ${error.message}`);
      }
    });
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.proceed();
  }

  /** Runs every complete message received so far, unless the server is holding them. */
  proceed(): void {
    while (this.buffered >= HEADER_SIZE && !this.socket.destroyed && !this.held()) {
      const head = this.chunks[0] && this.chunks[0].length >= 4 ? this.chunks[0] : this.coalesce();
      const length = head.readInt32LE(0);
      if (length < HEADER_SIZE + 5 || length > MAX_MESSAGE_SIZE) {
        this.abandon(`message length ${length} is outside ${HEADER_SIZE + 5}..${MAX_MESSAGE_SIZE}`);
        return;
      }
      if (this.buffered < length) return;
      const all = this.coalesce();
      const message = all.subarray(0, length);
      const rest = all.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      try {
        this.handle(message);
      } catch (error) {
        // Unexpected (a bug here, not a client mistake): drop this connection, keep serving others.
        console.error(`local-mongo: connection ${this.context.connectionId}: unexpected failure`, error);
        this.abandon('unexpected failure');
        return;
      }
    }
  }

  private coalesce(): Buffer {
    const first = this.chunks.length === 1 ? this.chunks[0] : undefined;
    const all = first ?? Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  private handle(raw: Buffer): void {
    const header = readHeader(raw);
    if (header.opCode !== OpCode.Msg && header.opCode !== OpCode.Query) {
      // Removed legacy ops (OP_INSERT, ...) and OP_COMPRESSED, which is never offered: MongoDB closes too.
      this.abandon(`unsupported opCode ${header.opCode}`);
      return;
    }
    let message: IncomingMessage;
    try {
      message = decodeMessage(raw);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      console.warn(
        `local-mongo: connection ${this.context.connectionId}: malformed message: ${error.message}`,
      );
      this.reply(header.opCode, header.requestId, {
        ok: 0,
        errmsg: error.message,
        code: 9,
        codeName: 'FailedToParse',
      });
      return;
    }
    if (message.kind === 'query') {
      this.reply(OpCode.Query, header.requestId, this.runLegacy(message.fullCollectionName, message.query));
      return;
    }
    const reply = this.runMsg(message.body);
    if ((message.flags & MsgFlags.MoreToCome) === 0) this.reply(OpCode.Msg, header.requestId, reply);
  }

  private runMsg(body: Doc): Doc {
    const db = body.$db;
    if (typeof db !== 'string') {
      return {
        ok: 0,
        errmsg: 'OP_MSG requests require a $db argument',
        code: 40571,
        codeName: 'Location40571',
      };
    }
    return runCommand(body, { ...this.context, db });
  }

  /** OP_QUERY is only for commands (`<db>.$cmd`), which is all drivers still use it for. */
  private runLegacy(fullCollectionName: string, query: Doc): Doc {
    if (!fullCollectionName.endsWith('.$cmd')) {
      return { ok: 0, errmsg: 'OP_QUERY is no longer supported for queries; use find', code: 5739101 };
    }
    const db = fullCollectionName.slice(0, -'.$cmd'.length);
    const wrapped = query.$query;
    const body =
      wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped) ? (wrapped as Doc) : query;
    return runCommand(body, { ...this.context, db });
  }

  private reply(requestOpCode: number, responseTo: number, doc: Doc): void {
    const requestId = nextReplyId++;
    const encode = requestOpCode === OpCode.Query ? encodeLegacyReply : encodeMsgReply;
    let buf: Buffer;
    try {
      buf = encode(requestId, responseTo, doc);
    } catch (error) {
      // e.g. a result document over 16 MiB: tell the client rather than dropping the request.
      const errmsg = `could not encode reply: ${error instanceof Error ? error.message : String(error)}`;
      console.warn(`local-mongo: ${errmsg}`);
      buf = encode(requestId, responseTo, { ok: 0, errmsg, code: 10334, codeName: 'BSONObjectTooLarge' });
    }
    this.socket.write(buf);
  }

  private abandon(reason: string): void {
    console.warn(`local-mongo: closing connection ${this.context.connectionId}: ${reason}`);
    this.chunks = [];
    this.buffered = 0;
    this.socket.destroy();
  }
}
