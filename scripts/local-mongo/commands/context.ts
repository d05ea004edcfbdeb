import type { ConnectionAuth, UserRegistry } from '../auth/index.ts';
import type { CursorRegistry } from '../cursors.ts';
import type { StorageEngine } from '../storage/engine.ts';
import type { Doc } from '../types.ts';

/** What a command handler may use besides its own body. */
export interface CommandContext {
  /** The `$db` the command was sent to. */
  db: string;
  storage: StorageEngine;
  cursors: CursorRegistry;
  connectionId: number;
  /** The server's users (none: no authentication required). */
  users: UserRegistry;
  /** This connection's authentication state. */
  auth: ConnectionAuth;
}

/** Runs one command: returns the reply body (without `ok`, added by the dispatcher) or throws CommandError. */
export type CommandHandler = (body: Doc, context: CommandContext) => Doc;
