/**
 * Run by dev-stack-leftovers.test.ts as `node --import tsx spawning-host.ts DIR PORT`: starts the
 * processes the dev stack spawns, wrangler dev (DIR/wrangler.toml, a tiny worker, on PORT, run folder
 * DIR/run) and a redis-server, as startStack does, prints `READY {"wrangler":PID,"redis":PID,...}` and
 * waits, to be killed with SIGKILL (no exit hook runs).
 */
import path from 'node:path';
import { startWranglerDev } from '../../scripts/dev/wrangler-dev';
import { spawnRedisServer } from '../../scripts/local-upstash/spawn-redis';

const [dir = '', port = ''] = process.argv.slice(2);
const worker = await startWranglerDev({
  config: path.join(dir, 'wrangler.toml'),
  host: '127.0.0.1',
  port: Number(port),
  vars: {},
  runDir: path.join(dir, 'run'),
  persistTo: path.join(dir, 'state'),
  readyPath: '/',
  readyTimeoutMs: 120_000,
});
const redis = await spawnRedisServer();
console.log(`READY ${JSON.stringify({ wrangler: worker.pid, redis: redis.pid, socket: redis.socketPath })}`);
setInterval(() => {}, 60_000);
