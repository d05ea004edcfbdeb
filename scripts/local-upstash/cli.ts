/**
 * Runs the local Upstash-compatible server from the command line:
 *
 *   tsx scripts/local-upstash/cli.ts [--port 8079] [--host 127.0.0.1] [--token dev]
 *                                    [--backend auto|redis-server|memory] [--redis-url redis://host:port]
 *
 * Prints the URL, token and backend; Ctrl-C stops it and the redis-server it started. If that
 * redis-server exits on its own (a crash, a kill), it says so and exits with code 1.
 */
import { parseArgs } from 'node:util';
import { type LocalUpstashOptions, startLocalUpstash } from './index.ts';

const USAGE =
  'usage: tsx scripts/local-upstash/cli.ts [--port N] [--host H] [--token T] [--backend auto|redis-server|memory] [--redis-url URL]';

function parseOptions(argv: string[]): LocalUpstashOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      backend: { type: 'string' },
      'redis-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const options: LocalUpstashOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535)
      throw new Error(`--port must be 0..65535, got "${values.port}"`);
    options.port = port;
  }
  if (values.host !== undefined) options.host = values.host;
  if (values.token !== undefined) options.token = values.token;
  if (values['redis-url'] !== undefined) options.redisUrl = values['redis-url'];
  if (values.backend !== undefined) {
    if (values.backend !== 'auto' && values.backend !== 'redis-server' && values.backend !== 'memory') {
      throw new Error(`--backend must be auto, redis-server or memory, got "${values.backend}"`);
    }
    options.backend = values.backend;
  }
  return options;
}

async function main(): Promise<void> {
  const server = await startLocalUpstash(parseOptions(process.argv.slice(2)));
  console.log(`local Upstash-compatible server (${server.backend})`);
  console.log(`  UPSTASH_REDIS_REST_URL=${server.url}`);
  console.log(`  UPSTASH_REDIS_REST_TOKEN=${server.token}`);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`error while stopping: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Already said by the server; serving 500 to every command from here on helps nobody.
  void server.redisExited.then(() => {
    console.error('local-upstash: stopping, as its redis-server is gone.');
    server.close().finally(() => process.exit(1));
  });
}

main().catch((error: unknown) => {
  // A user-facing message, not a stack trace: these are configuration problems (port taken, bad flag).
  console.error(`local-upstash: ${error instanceof Error ? error.message : String(error)}`);
  console.error(USAGE);
  process.exit(1);
});
