import type { ConnectionAuth, UserRegistry } from '../auth/index.ts';
import type { CursorRegistry } from '../cursors.ts';
import type { StorageEngine } from '../storage/engine.ts';
import type { Doc } from '../types.ts';
import type { QueryLimits } from './plan.ts';

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
  /** The memory a blocking sort may take, and whether `allowDiskUse` lifts that limit (plan.ts). */
  limits: QueryLimits;
}

/** Runs one command: returns the reply body (without `ok`, added by the dispatcher) or throws CommandError. */
export type CommandHandler = (body: Doc, context: CommandContext) => Doc;
