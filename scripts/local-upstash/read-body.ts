import type { IncomingMessage } from 'node:http';

/**
 * The request body was larger than allowed. Upstash answers this as a failed command (400) in its own
 * words (redis/troubleshooting "ERR max request size exceeded"); so does this server.
 */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super('ERR max request size exceeded');
  }
}

/**
 * The client went away before its body arrived in full (an aborted fetch, a closed socket). Nothing
 * failed on our side and there is no one left to answer, so the server neither answers nor logs it.
 */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/**
 * Reads a request body into memory, refusing it as soon as it grows past `limitBytes` (or when
 * Content-Length already says it will). After a refusal the rest of the body is drained and discarded,
 * so the client can finish sending and read the refusal.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      request.resume();
      reject(new BodyTooLargeError(limitBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > limitBytes) {
        refused = true;
        chunks.length = 0;
        reject(new BodyTooLargeError(limitBytes));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    // An IncomingMessage errors only when its connection breaks mid-body ("aborted", ECONNRESET).
    request.on('error', (error) => {
      if (!refused) reject(new ClientGoneError(error.message, { cause: error }));
    });
  });
}
