/** Port checks for the dev stack: a taken port is a one-line message naming the variable to change, not a stack trace. */
import { createServer } from 'node:net';

/**
 * A port the stack needs is taken. `message` is meant to be printed as is. `advice`, when given, takes
 * the place of "set RX_... to another port" (when the one holding it is known, say).
 */
export class PortTakenError extends Error {
  override readonly name = 'PortTakenError';
  constructor(
    readonly port: number,
    readonly envVar: string,
    readonly what: string,
    advice?: string,
  ) {
    super(
      `port ${port} (${what}) is already in use: ${advice ?? `set ${envVar} to another port (or 0 for a free one)`}`,
    );
  }
}

function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(undefined);
      else reject(error);
    });
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/** Resolves if `port` can be bound on `host`; throws PortTakenError otherwise. Port 0 is always fine. */
export async function assertPortFree(
  host: string,
  port: number,
  envVar: string,
  what: string,
): Promise<void> {
  if (port === 0) return;
  if ((await tryListen(host, port)) === undefined) throw new PortTakenError(port, envVar, what);
}

/** A port that was free a moment ago (for children that cannot be told "port 0", like wrangler dev). */
export async function freePort(host: string): Promise<number> {
  const port = await tryListen(host, 0);
  if (port === undefined) throw new Error(`no free port on ${host}`);
  return port;
}

/**
 * Reads a port from an environment variable; throws a one-line error naming the variable when it is not
 * a port. Blank (only spaces, a CRLF file's `\r`) is unset, as `demo:traffic` reads it: `Number(' ')` is
 * 0, which put the worker on a free port where `demo:traffic` would not look. Only decimal digits: the
 * text is what `demo:traffic` puts in its URL (`0x1F90`, `1e3` read as numbers here but not there).
 */
export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  const trimmed = text?.trim();
  if (text === undefined || trimmed === '') return fallback;
  const port = Number(trimmed);
  if (!/^\d+$/.test(trimmed ?? '') || port > 65_535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}
