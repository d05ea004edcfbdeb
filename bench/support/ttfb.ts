/**
 * Time to first byte: sequential GETs over one keep-alive connection, each timed from sending the
 * request to the first body byte (headers alone are not a byte of the page).
 */
import http from 'node:http';
import { percentile } from './stats';

export interface TtfbResult {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
}

function once(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let first: number | undefined;
    const request = http.get(url, { agent, headers }, (response) => {
      response.on('data', () => {
        first ??= Number(process.hrtime.bigint() - started) / 1e6;
      });
      response.on('end', () =>
        first === undefined ? reject(new Error(`empty body from ${url}`)) : resolve(first),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** `samples` sequential requests (after `warmup` unmeasured ones); milliseconds. */
export async function measureTtfb(
  url: string,
  headers: Record<string, string>,
  samples = 200,
  warmup = 20,
): Promise<TtfbResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const target = new URL(url);
    for (let i = 0; i < warmup; i += 1) await once(agent, target, headers);
    const times: number[] = [];
    for (let i = 0; i < samples; i += 1) times.push(await once(agent, target, headers));
    times.sort((a, b) => a - b);
    const round = (value: number) => Math.round(value * 100) / 100;
    return {
      samples,
      p50: round(percentile(times, 50)),
      p99: round(percentile(times, 99)),
      mean: round(times.reduce((sum, t) => sum + t, 0) / times.length),
    };
  } finally {
    agent.destroy();
  }
}
