import { RedisCommandError } from '../backend.ts';
import { bulk } from './arguments.ts';
import type { CommandTable } from './command-spec.ts';

/** PING, ECHO and TIME. */
export const serverCommands: CommandTable = {
  PING: {
    arity: -1,
    run: (args) => {
      if (args.length > 1) throw new RedisCommandError("ERR wrong number of arguments for 'ping' command");
      return bulk(args[0] ?? 'PONG');
    },
  },
  ECHO: { arity: 2, run: ([message = '']) => bulk(message) },
  TIME: {
    arity: 1,
    run: (_args, keyspace) => {
      const nowMs = keyspace.currentTime();
      return [bulk(String(Math.floor(nowMs / 1000))), bulk(String((nowMs % 1000) * 1000))];
    },
  },
};
