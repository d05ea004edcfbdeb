import {
  type CommandBackend,
  type CommandOutcome,
  type RedisCommand,
  RedisCommandError,
  type RedisReply,
  refusalOverRest,
  TransactionAbortedError,
} from './backend.ts';
import { collectionCommands } from './memory/collection-commands.ts';
import type { CommandSpec, CommandTable } from './memory/command-spec.ts';
import { hyperLogLogCommands } from './memory/hyperloglog-commands.ts';
import { keyCommands } from './memory/key-commands.ts';
import { Keyspace } from './memory/keyspace.ts';
import { serverCommands } from './memory/server-commands.ts';
import { stringCommands } from './memory/string-commands.ts';
import { zsetCommands } from './memory/zset-commands.ts';

const COMMANDS: CommandTable = {
  ...stringCommands,
  ...keyCommands,
  ...collectionCommands,
  ...zsetCommands,
  ...hyperLogLogCommands,
  ...serverCommands,
};

/** The commands the in-memory fallback understands (upper case). */
export const MEMORY_COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS).sort();

/**
 * Serves the commands the product uses from memory, with Redis's replies, errors and expiry, for machines
 * without redis-server. Commands run synchronously, so pipelines and transactions are trivially atomic.
 */
export function createMemoryBackend(now: () => number = Date.now): CommandBackend {
  const keyspace = new Keyspace(now);

  /** The spec of a command, or the error Redis would give before running it (unknown, arity, refused). */
  const resolve = (command: RedisCommand): CommandSpec | string => {
    const refusal = refusalOverRest(command);
    if (refusal !== undefined) return refusal;
    const [name, ...args] = command;
    const spec = Object.hasOwn(COMMANDS, name.toUpperCase()) ? COMMANDS[name.toUpperCase()] : undefined;
    if (spec === undefined) {
      const preview = args
        .slice(0, 3)
        .map((arg) => `'${arg.slice(0, 64)}' `)
        .join('');
      return `ERR unknown command '${name}', with args beginning with: ${preview}`;
    }
    const count = command.length;
    if (spec.arity > 0 ? count !== spec.arity : count < -spec.arity) {
      return `ERR wrong number of arguments for '${name.toLowerCase()}' command`;
    }
    return spec;
  };

  const run = (command: RedisCommand): RedisReply => {
    const spec = resolve(command);
    if (typeof spec === 'string') throw new RedisCommandError(spec);
    return spec.run(command.slice(1), keyspace);
  };

  const outcomeOf = (command: RedisCommand): CommandOutcome => {
    try {
      return { ok: true, reply: run(command) };
    } catch (error) {
      if (error instanceof RedisCommandError) return { ok: false, error: error.message };
      throw error;
    }
  };

  return {
    async execute(command) {
      return run(command);
    },
    async pipeline(commands) {
      return commands.map(outcomeOf);
    },
    async transaction(commands) {
      const refusals = commands.map(resolve).filter((spec): spec is string => typeof spec === 'string');
      if (refusals.length > 0) throw new TransactionAbortedError(refusals);
      return commands.map(outcomeOf);
    },
    async close() {
      keyspace.flush();
    },
  };
}
