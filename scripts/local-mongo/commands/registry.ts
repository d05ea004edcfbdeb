import { OPEN_COMMANDS } from '../auth/index.ts';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import { aggregate, count, distinct } from './aggregate.ts';
import { saslContinue, saslStart } from './auth.ts';
import { create, drop, dropDatabase, listCollections, listDatabases } from './catalog.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import { deleteCommand } from './delete.ts';
import { checkCommandFields } from './fields.ts';
import { find, getMore, killCursors } from './find.ts';
import { findAndModify } from './find-and-modify.ts';
import { handshakeCommands } from './handshake.ts';
import { createIndexes, dropIndexes, listIndexes } from './indexes.ts';
import { insert } from './insert.ts';
import { update } from './update.ts';

const COMMANDS: Record<string, CommandHandler> = {
  ...handshakeCommands,
  saslStart,
  saslContinue,
  insert,
  find,
  getMore,
  killCursors,
  aggregate,
  count,
  distinct,
  update,
  delete: deleteCommand,
  findAndModify,
  findandmodify: findAndModify,
  createIndexes,
  listIndexes,
  dropIndexes,
  listCollections,
  listDatabases,
  create,
  drop,
  dropDatabase,
};

/** Names of the commands this server implements. */
export const supportedCommands: readonly string[] = Object.keys(COMMANDS);

function errorReply(error: CommandError): Doc {
  return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName };
}

/**
 * Runs one command and always returns a reply document: `{ ...result, ok: 1 }`, or
 * `{ ok: 0, errmsg, code, codeName }`. Writes are flushed to disk before the reply exists,
 * including the partial work of a failed ordered insert. Writes the disk could not take are
 * undone and answered with that error (14031 OutOfDiskSpace when it is full), never with ok: 1.
 */
export function runCommand(body: Doc, context: CommandContext): Doc {
  const name = Object.keys(body)[0] ?? '';
  const handler = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!handler) return errorReply(new CommandError('CommandNotFound', `no such command: '${name}'`));
  if (context.users.required && context.auth.user === undefined && !OPEN_COMMANDS.has(name)) {
    return errorReply(new CommandError('Unauthorized', `Command ${name} requires authentication`));
  }
  // A standalone keeps no session transaction state, so, like mongod, it refuses what needs it
  // (transactions; the driver sends no retryable-write txnNumber to a standalone) instead of
  // running such a command as if it were not part of a transaction.
  if (body.txnNumber !== undefined) {
    return errorReply(
      new CommandError(
        'IllegalOperation',
        'Transaction numbers are only allowed on a replica set member or mongos',
      ),
    );
  }
  // As MongoDB's command parser: a field the command does not take fails it whole (40415), before it runs.
  try {
    checkCommandFields(name, body);
  } catch (error) {
    if (error instanceof CommandError) return errorReply(error);
    throw error;
  }
  let reply: Doc = { ok: 1 };
  let failed = false;
  let failure: unknown;
  try {
    reply = { ...handler(body, context), ok: 1 };
  } catch (error) {
    failed = true;
    failure = error;
  }
  try {
    context.storage.flush();
  } catch (flushError) {
    // The command's writes were undone: its own answer (a result, or an error after partial
    // work) no longer describes the data, the failed write does.
    console.error(`local-mongo: could not persist the writes of '${name}'`, flushError);
    failed = true;
    failure = flushError;
  }
  if (!failed) return reply;
  if (failure instanceof CommandError) return errorReply(failure);
  console.error(`local-mongo: command '${name}' failed`, failure);
  const message = failure instanceof Error ? failure.message : String(failure);
  return { ok: 0, errmsg: `internal error in '${name}': ${message}`, code: 1, codeName: 'InternalError' };
}
