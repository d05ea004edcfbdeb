import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { startLocalMongo } from './index.ts';

/**
 * `tsx scripts/local-mongo/cli.ts --port 27018 --data .rx-data/mongo [--host 127.0.0.1] [--user NAME]
 *  [--tls-cert FILE --tls-key FILE] [--sort-memory-bytes N] [--ignore-allow-disk-use]`
 * Runs the local MongoDB-compatible server until Ctrl-C. With `--user`, connections must authenticate
 * as that user (SCRAM-SHA-256), whose password is read from `LOCAL_MONGO_PASSWORD`: never from the
 * command line, where other users of the machine could read it. With `--tls-cert` and `--tls-key`
 * (PEM files), it speaks TLS only. `--sort-memory-bytes` is what a blocking sort may hold (default
 * MongoDB's 100 MiB), and `--ignore-allow-disk-use` refuses one past it even with `allowDiskUse`, as
 * Atlas Free and Flex clusters do.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27018' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.rx-data/mongo' },
      user: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'sort-memory-bytes': { type: 'string' },
      'ignore-allow-disk-use': { type: 'boolean' },
    },
  });
  const sortBytes = values['sort-memory-bytes'];
  const blockingSortBytes = sortBytes === undefined ? undefined : Number(sortBytes);
  if (blockingSortBytes !== undefined && !(Number.isInteger(blockingSortBytes) && blockingSortBytes >= 0)) {
    throw new Error(`--sort-memory-bytes must be a whole number of bytes, got '${sortBytes}'`);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number from 0 to 65535, got '${values.port}'`);
  }
  const password = process.env.LOCAL_MONGO_PASSWORD;
  if (values.user !== undefined && !password) {
    throw new Error('--user needs the password in LOCAL_MONGO_PASSWORD');
  }
  const users = values.user === undefined ? [] : [{ username: values.user, password: password ?? '' }];
  const server = await startLocalMongo({
    host: values.host,
    port,
    dataDir: values.data,
    users,
    tls: tlsFiles(values),
    blockingSortBytes,
    ignoreAllowDiskUse: values['ignore-allow-disk-use'] === true,
  });
  const auth = values.user === undefined ? '' : `, user ${values.user} required (SCRAM-SHA-256)`;
  const sorts =
    (blockingSortBytes === undefined ? '' : `, blocking sorts up to ${blockingSortBytes} bytes`) +
    (values['ignore-allow-disk-use'] === true ? ', allowDiskUse ignored' : '');
  console.log(`local-mongo listening on ${server.uri} (data in ${server.dataDir}${auth}${sorts})`);
  const shutdown = (): void => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('local-mongo: error while closing', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** The certificate and key named by `--tls-cert` and `--tls-key` (both or neither), read now. */
function tlsFiles(values: { 'tls-cert'?: string; 'tls-key'?: string }) {
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new Error('--tls-cert and --tls-key go together: the certificate (PEM) and its private key (PEM)');
  }
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
