import { Long } from 'bson';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE, MAX_WRITE_BATCH_SIZE } from '../wire/op-codes.ts';
import { helloAuthFields, SCRAM_SHA_256 } from './auth.ts';
import type { CommandHandler } from './context.ts';

/** MongoDB 7.0's wire version: inside the range driver 6.x supports. */
export const MAX_WIRE_VERSION = 21;
/** The MongoDB version this server answers like (buildInfo). */
const COMPATIBLE_VERSION = '7.0.0';

/**
 * The handshake reply of a standalone server (no `setName`, no `topologyVersion`, so the
 * driver polls instead of streaming) that does not offer compression.
 */
function helloReply(primaryField: 'isWritablePrimary' | 'ismaster'): CommandHandler {
  return (body, context) => ({
    helloOk: true,
    [primaryField]: true,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ...helloAuthFields(body, context),
  });
}

const PARAMETERS: Record<string, unknown> = {
  featureCompatibilityVersion: { version: '7.0' },
};

/** Connection-level commands: handshake, liveness, server description. */
export const handshakeCommands: Record<string, CommandHandler> = {
  hello: helloReply('isWritablePrimary'),
  isMaster: helloReply('ismaster'),
  ismaster: helloReply('ismaster'),
  ping: () => ({}),
  buildInfo: () => ({
    version: COMPATIBLE_VERSION,
    gitVersion: 'local-mongo',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['local-mongo-jsonl'],
  }),
  getParameter: (body, context) => {
    const parameters: Record<string, unknown> = {
      ...PARAMETERS,
      authenticationMechanisms: context.users.required ? [SCRAM_SHA_256] : [],
    };
    if (body.getParameter === '*') return parameters;
    const reply: Record<string, unknown> = {};
    for (const name of Object.keys(body)) if (name in parameters) reply[name] = parameters[name];
    return reply;
  },
  // Sessions are accepted (drivers send lsid with every command) but carry no server state.
  endSessions: () => ({}),
  connectionStatus: (_body, context) => {
    const user = context.auth.user;
    return {
      authInfo: {
        authenticatedUsers: user === undefined ? [] : [{ user, db: 'admin' }],
        authenticatedUserRoles: user === undefined ? [] : [{ role: 'root', db: 'admin' }],
      },
    };
  },
  serverStatus: (_body, context) => ({
    host: 'local-mongo',
    version: COMPATIBLE_VERSION,
    process: 'local-mongo',
    uptime: Math.floor(process.uptime()),
    localTime: new Date(),
    metrics: { cursor: { open: { total: Long.fromNumber(context.cursors.openCount) } } },
  }),
};
