/**
 * The local Upstash-compatible server (scripts/local-upstash/cli.ts) in its own Node process
 * (see service-process.ts for why).
 */
import { startServiceProcess } from './service-process';

export interface LocalUpstashProcess {
  url: string;
  token: string;
  backend: string;
  close(): Promise<void>;
}

export async function startLocalUpstashProcess(
  backend: 'redis-server' | 'auto' = 'redis-server',
): Promise<LocalUpstashProcess> {
  const service = await startServiceProcess(
    'scripts/local-upstash/cli.ts',
    ['--port', '0', '--backend', backend],
    /local Upstash-compatible server \(([^)]+)\)\s+UPSTASH_REDIS_REST_URL=(\S+)\s+UPSTASH_REDIS_REST_TOKEN=(\S+)\r?\n/,
  );
  const [, kind = '', url = '', token = ''] = service.ready;
  return { url, token, backend: kind, close: service.close };
}
