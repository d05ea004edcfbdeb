import type { RedisReply } from '../backend.ts';
import type { Keyspace } from './keyspace.ts';

/**
 * One in-memory command. `arity` follows Redis's COMMAND convention (the name counts): positive means
 * exactly that many, negative means at least its absolute value. `run` gets the arguments after the name
 * and throws `RedisCommandError` for a Redis error reply.
 */
export interface CommandSpec {
  arity: number;
  run(args: readonly string[], keyspace: Keyspace): RedisReply;
}

export type CommandTable = Record<string, CommandSpec>;
