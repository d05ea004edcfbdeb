import type { CommandOutcome, RedisCommand, RedisReply } from './backend.ts';

/**
 * The Upstash REST wire format: JSON command arrays in, `{"result": ...}` / `{"error": ...}` out.
 */

/** A JSON value as it appears in a response body. */
export type JsonValue = null | number | string | JsonValue[];

/** A request that does not follow the protocol; answered with `400 {"error": message}`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/**
 * Reads one command from a parsed JSON body. Upstash clients send strings, numbers and booleans
 * (`["SET","k",1,"EX",10]`); Redis itself only knows strings, so each argument becomes its text.
 */
export function parseCommand(value: unknown, where = 'body'): RedisCommand {
  if (!Array.isArray(value)) {
    throw new ProtocolError(`ERR ${where} must be a JSON array of strings like ["SET","key","value"]`);
  }
  if (value.length === 0) {
    throw new ProtocolError(`ERR ${where} is an empty command`);
  }
  const args = value.map((argument, index) => {
    if (typeof argument === 'string') return argument;
    if (typeof argument === 'number' || typeof argument === 'boolean') return String(argument);
    throw new ProtocolError(
      `ERR ${where}[${index}] must be a string, number or boolean, got ${argument === null ? 'null' : typeof argument}`,
    );
  });
  const [name, ...rest] = args;
  if (name === undefined || name === '') {
    throw new ProtocolError(`ERR ${where}[0] must be the command name`);
  }
  return [name, ...rest];
}

/** Reads the body of `/pipeline` or `/multi-exec`: a non-empty JSON array of command arrays. */
export function parseCommandList(value: unknown): RedisCommand[] {
  if (!Array.isArray(value)) {
    throw new ProtocolError('ERR body must be a JSON array of commands like [["SET","k","v"],["GET","k"]]');
  }
  if (value.length === 0) {
    throw new ProtocolError('ERR body is an empty list of commands');
  }
  return value.map((command, index) => parseCommand(command, `body[${index}]`));
}

/** Parses a JSON request body, turning a syntax error into a protocol error. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ProtocolError(
      `ERR request body is not valid JSON: ${error instanceof Error ? error.message : ''}`,
    );
  }
}

/**
 * Encodes a reply for the response body.
 *
 * With `Upstash-Encoding: base64` every string is base64 of its bytes, at any depth, except a top-level
 * "OK": @upstash/redis passes a top-level "OK" through as is (Upstash sends status OK unencoded) but
 * base64-decodes every string nested in an array, so there "OK" must be encoded like any other value.
 * Without the header, strings are UTF-8 text (bytes that are not valid UTF-8 cannot survive that).
 */
export function encodeReply(reply: RedisReply, base64: boolean): JsonValue {
  if (base64 && Buffer.isBuffer(reply) && reply.length === 2 && reply.toString('latin1') === 'OK') {
    return 'OK';
  }
  return encodeNested(reply, base64);
}

function encodeNested(reply: RedisReply, base64: boolean): JsonValue {
  if (reply === null || typeof reply === 'number') {
    return reply;
  }
  if (Array.isArray(reply)) {
    return reply.map((element) => encodeNested(element, base64));
  }
  return reply.toString(base64 ? 'base64' : 'utf8');
}

/** One entry of a `/pipeline` or `/multi-exec` response. */
export function encodeOutcome(
  outcome: CommandOutcome,
  base64: boolean,
): { result: JsonValue } | { error: string } {
  return outcome.ok ? { result: encodeReply(outcome.reply, base64) } : { error: outcome.error };
}

/**
 * The command of a path-style request (`GET /set/foo/bar?EX=100` → `SET foo bar EX 100`). As in Upstash,
 * a POST/PUT body becomes the last path argument, before the query parameters.
 */
export function commandFromPath(pathname: string, query: URLSearchParams, body: Buffer): RedisCommand {
  const segments = pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw new ProtocolError('ERR request path is not valid percent-encoding');
      }
    });
  if (body.length > 0) {
    segments.push(body.toString('utf8'));
  }
  for (const [name, value] of query) {
    if (name === '_token') continue;
    segments.push(name);
    if (value !== '') segments.push(value);
  }
  return parseCommand(segments, 'path');
}
