/**
 * Users and per-connection authentication state. With no users configured the server is open, as
 * before; with users, every command other than the handshake and the SASL exchange needs an
 * authenticated connection, as on a MongoDB started with `--auth` (and on every Atlas cluster).
 */
import { type ScramConversation, type ScramUser, scramUser, type UserCredentials } from './scram.ts';

export type { UserCredentials } from './scram.ts';

/** The database users are defined in (the driver's default `authSource` when the URI names none). */
export const AUTH_DATABASE = 'admin';

/** The users of one server, with their SCRAM keys derived once at start. */
export class UserRegistry {
  private readonly users = new Map<string, ScramUser>();

  constructor(credentials: readonly UserCredentials[] = []) {
    for (const user of credentials) {
      if (this.users.has(user.username)) throw new Error(`local-mongo: user "${user.username}" given twice`);
      this.users.set(user.username, scramUser(user));
    }
  }

  /** Whether commands need an authenticated connection (some user is configured). */
  get required(): boolean {
    return this.users.size > 0;
  }

  /** A user of `database`; users exist in `admin` only. */
  find(database: string, username: string): ScramUser | undefined {
    return database === AUTH_DATABASE ? this.users.get(username) : undefined;
  }
}

/** One connection's authentication: who it is, and SASL conversations in progress. */
export class ConnectionAuth {
  user: string | undefined;
  readonly conversations = new Map<number, ScramConversation>();
  private nextConversationId = 1;

  /** Keeps a conversation until its `saslContinue`; returns its id. */
  open(conversation: ScramConversation): number {
    const id = this.nextConversationId++;
    this.conversations.set(id, conversation);
    return id;
  }
}

/**
 * Commands a connection may run before it authenticates: the handshake, liveness, the SASL
 * exchange itself and what drivers send while closing, as on MongoDB.
 */
export const OPEN_COMMANDS: ReadonlySet<string> = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'connectionStatus',
  'endSessions',
]);
