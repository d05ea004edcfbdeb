import { Binary } from 'bson';
import { AUTH_DATABASE } from '../auth/index.ts';
import { finishScram, ScramFailure, startScram } from '../auth/scram.ts';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import type { CommandContext, CommandHandler } from './context.ts';

/** The one mechanism offered (MongoDB's default since 4.0; SCRAM-SHA-1 is not offered). */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

/** MongoDB tells a client only this, whatever went wrong, so as not to reveal which users exist. */
const authenticationFailed = () => new CommandError('AuthenticationFailed', 'Authentication failed.');

function payloadText(payload: unknown): string {
  // `buffer` may be longer than the value; toString reads only the value's bytes.
  if (payload instanceof Binary) return payload.toString('utf8');
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('utf8');
  if (typeof payload === 'string') return payload;
  throw new CommandError('BadValue', 'payload must be binary data');
}

const binary = (text: string) => new Binary(Buffer.from(text, 'utf8'));

/** The first step; also run for a `hello`'s `speculativeAuthenticate`. */
export const saslStart: CommandHandler = (body, context) => {
  if (body.mechanism !== SCRAM_SHA_256) {
    throw new CommandError(
      'MechanismUnavailable',
      `Received authentication for mechanism ${String(body.mechanism)} which is unknown or not enabled`,
    );
  }
  const clientFirst = payloadText(body.payload);
  try {
    const { conversation, serverFirst } = startScram(clientFirst, (name) =>
      context.users.find(context.db, name),
    );
    const conversationId = context.auth.open(conversation);
    return { conversationId, done: false, payload: binary(serverFirst) };
  } catch (error) {
    if (error instanceof ScramFailure) throw authenticationFailed();
    throw error;
  }
};

export const saslContinue: CommandHandler = (body, context) => {
  const conversationId = Number(body.conversationId);
  const conversation = context.auth.conversations.get(conversationId);
  if (!conversation) {
    throw new CommandError('ProtocolError', `No SASL session state found for conversation ${conversationId}`);
  }
  context.auth.conversations.delete(conversationId);
  try {
    const serverFinal = finishScram(conversation, payloadText(body.payload));
    context.auth.user = conversation.user.username;
    // `done: true` at once: the driver asks for this (`skipEmptyExchange`) and accepts it.
    return { conversationId, done: true, payload: binary(serverFinal) };
  } catch (error) {
    if (error instanceof ScramFailure) throw authenticationFailed();
    throw error;
  }
};

/**
 * What a `hello` adds for a client that brings credentials: `saslSupportedMechs` for the user it
 * names (`admin.name`), and the answer to its `speculativeAuthenticate` (the driver's saslStart
 * sent along with the handshake, saving a round trip). An unknown user gets neither, as on MongoDB;
 * the driver then runs saslStart itself and is refused there.
 */
export function helloAuthFields(body: Doc, context: CommandContext): Doc {
  if (!context.users.required) return {};
  const fields: Doc = {};
  const named = typeof body.saslSupportedMechs === 'string' ? body.saslSupportedMechs : '';
  const dot = named.indexOf('.');
  if (dot > 0 && context.users.find(named.slice(0, dot), named.slice(dot + 1))) {
    fields.saslSupportedMechs = [SCRAM_SHA_256];
  }
  const speculative = body.speculativeAuthenticate;
  if (speculative && typeof speculative === 'object' && !Array.isArray(speculative)) {
    const request = speculative as Doc;
    const db = typeof request.db === 'string' ? request.db : AUTH_DATABASE;
    try {
      fields.speculativeAuthenticate = saslStart(request, { ...context, db });
    } catch {
      // A speculative attempt that fails is simply not answered.
    }
  }
  return fields;
}
