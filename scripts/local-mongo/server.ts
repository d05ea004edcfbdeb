import net from 'node:net';
import tls from 'node:tls';
import { ConnectionAuth, type UserRegistry } from './auth/index.ts';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from './commands/plan.ts';
import { WireConnection } from './connection.ts';
import type { CursorRegistry } from './cursors.ts';
import type { StorageEngine } from './storage/engine.ts';

/** A PEM certificate (chain) and its private key: the server then speaks TLS only, as Atlas does. */
export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The TCP (or TLS) side: accepts connections and can be paused (listener closed, every connection
 * dropped, as if the server went down) and resumed on the same port, or stalled (connections
 * accepted and read, nothing answered, as a hung server) and unstalled, for fault tests.
 */
export class WireServer {
  private listener: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly connections = new Set<WireConnection>();
  private stalled = false;
  private nextConnectionId = 1;
  private boundPort: number;

  constructor(
    private readonly storage: StorageEngine,
    private readonly cursors: CursorRegistry,
    private readonly users: UserRegistry,
    private readonly host: string,
    port: number,
    private readonly tlsCredentials?: TlsCredentials,
    private readonly limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  ) {
    this.boundPort = port;
  }

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Starts listening (port 0 picks a free one); a taken port is a clear error, not a stack trace. */
  async listen(): Promise<void> {
    if (this.listener) return;
    const listener = this.tlsCredentials
      ? tls.createServer(this.tlsCredentials, (socket) => this.accept(socket))
      : net.createServer((socket) => this.accept(socket));
    // Every raw connection, including one still in its TLS handshake, so `stop()` drops them all.
    listener.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client that refuses our certificate aborts the handshake: routine, and its socket is gone.
    listener.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') {
          // Keeps the code, so a caller (npm start) can name its own setting for the port instead.
          const taken: NodeJS.ErrnoException = new Error(
            `local-mongo: port ${this.boundPort} on ${this.host} is already in use; ` +
              'pick another with --port <n> (or port 0 for any free port)',
            { cause: error },
          );
          taken.code = 'EADDRINUSE';
          reject(taken);
        } else reject(error);
      });
      listener.listen(this.boundPort, this.host, () => resolve());
    });
    listener.on('error', (error) => console.error('local-mongo: listener error', error));
    const address = listener.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    this.listener = listener;
  }

  /**
   * Answers nothing from now on: connections are still accepted (new ones too) and what they send is
   * read, but no command runs and no reply is written, until `unstall()`. A client sees a server that
   * hangs, not one that is down: no error, no closed socket, only silence.
   */
  stall(): void {
    this.stalled = true;
  }

  /** Ends a stall: what each connection sent meanwhile is run and answered, in order. */
  unstall(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const connection of this.connections) connection.proceed();
  }

  /** Stops accepting and drops every open connection; clients see the server as down. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /** A connection ready for commands: plain TCP, or TLS once its handshake is done. */
  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const connection = new WireConnection(
      socket,
      {
        db: 'admin',
        storage: this.storage,
        cursors: this.cursors,
        connectionId: this.nextConnectionId++,
        users: this.users,
        auth: new ConnectionAuth(),
        limits: this.limits,
      },
      () => this.stalled,
    );
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
  }
}
