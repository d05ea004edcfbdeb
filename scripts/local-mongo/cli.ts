import { parseArgs } from 'node:util';
import { startLocalMongo } from './index.ts';

/**
 * `tsx scripts/local-mongo/cli.ts --port 27018 --data .rx-data/mongo [--host 127.0.0.1]`
 * Runs the local MongoDB-compatible server until Ctrl-C.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27018' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.rx-data/mongo' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number from 0 to 65535, got '${values.port}'`);
  }
  const server = await startLocalMongo({ host: values.host, port, dataDir: values.data });
  console.log(`local-mongo listening on ${server.uri} (data in ${server.dataDir})`);
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

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
