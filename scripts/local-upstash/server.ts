import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hasValidToken, UNAUTHORIZED_MESSAGE } from './auth.ts';
import { type CommandBackend, RedisCommandError } from './backend.ts';
import {
  commandFromPath,
  encodeOutcome,
  encodeReply,
  type JsonValue,
  ProtocolError,
  parseCommand,
  parseCommandList,
  parseJsonBody,
} from './protocol.ts';
import { BodyTooLargeError, ClientGoneError, readBody } from './read-body.ts';

/** Options of the HTTP front end. */
export interface UpstashHttpOptions {
  backend: CommandBackend;
  token: string;
  /** Largest accepted request body; larger ones get `400 ERR max request size exceeded`, as on Upstash. */
  maxBodyBytes?: number;
  /** Where failures of the backend are reported (never request contents or tokens). */
  log?: (message: string) => void;
}

/** Upstash's max request size for Free and Pay-as-you-go databases (redis/troubleshooting): 10 MB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT']);

type ResponseBody = { result: JsonValue } | { error: string } | ({ result: JsonValue } | { error: string })[];

/**
 * An HTTP server speaking the Upstash Redis REST protocol in front of `backend`:
 * `POST /` (one command), `POST /pipeline`, `POST /multi-exec` (atomic) and path-style commands
 * (`GET /set/foo/bar`), all behind the bearer token.
 */
export function createUpstashHttpServer(options: UpstashHttpOptions): Server {
  const {
    backend,
    token,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    log = (message) => console.error(message),
  } = options;
  // Upstash answers every request with a token that later requests send back for read-your-writes.
  // One local server is always consistent with itself, so a counter is all the token needs to be.
  let syncToken = 0;

  const send = (response: ServerResponse, status: number, body: ResponseBody, extraHeaders = {}) => {
    if (response.headersSent) return;
    syncToken += 1;
    response.writeHead(status, {
      'Content-Type': 'application/json',
      'upstash-sync-token': String(syncToken),
      ...extraHeaders,
    });
    response.end(JSON.stringify(body));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://local-upstash');
    if (!ALLOWED_METHODS.has(method)) {
      request.resume();
      send(
        response,
        405,
        { error: `ERR method ${method} is not allowed (use GET, HEAD, POST or PUT)` },
        {
          Allow: [...ALLOWED_METHODS].join(', '),
        },
      );
      return;
    }
    if (!hasValidToken(request, url.searchParams, token)) {
      request.resume();
      send(response, 401, { error: UNAUTHORIZED_MESSAGE });
      return;
    }
    const format = headerValue(request, 'upstash-response-format');
    if (format !== undefined && format.toLowerCase() !== 'json') {
      request.resume();
      send(response, 400, {
        error: `ERR Upstash-Response-Format "${format}" is not supported here; use json`,
      });
      return;
    }
    const base64 = headerValue(request, 'upstash-encoding')?.toLowerCase() === 'base64';
    const body = await readBody(request, maxBodyBytes);
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (path === '/pipeline' || path === '/multi-exec') {
      if (method !== 'POST') {
        send(response, 405, { error: `ERR ${path} accepts POST only` }, { Allow: 'POST' });
        return;
      }
      const commands = parseCommandList(parseJsonBody(body));
      const outcomes =
        path === '/pipeline' ? await backend.pipeline(commands) : await backend.transaction(commands);
      send(
        response,
        200,
        outcomes.map((outcome) => encodeOutcome(outcome, base64)),
      );
      return;
    }

    const command =
      path === '/' && (method === 'POST' || method === 'PUT') && body.length > 0
        ? parseCommand(parseJsonBody(body))
        : commandFromPath(path, url.searchParams, body);
    const reply = await backend.execute(command);
    send(response, 200, { result: encodeReply(reply, base64) });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Nobody is left to answer, and nothing of ours failed: neither a response nor a log line.
      if (error instanceof ClientGoneError) return;
      if (error instanceof BodyTooLargeError) {
        send(response, 400, { error: error.message }, { Connection: 'close' });
      } else if (error instanceof ProtocolError || error instanceof RedisCommandError) {
        send(response, 400, { error: error.message });
      } else {
        const message = error instanceof Error ? error.message : String(error);
        log(`local-upstash: backend failure: ${message}`);
        send(response, 500, { error: `ERR backend failure: ${message}` });
      }
    });
  });
  server.on('clientError', (_error, socket) => {
    // Malformed HTTP (not a malformed command): answer if the socket still can, never throw.
    if (socket.writable) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket.destroy();
    }
  });
  return server;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
