/**
 * `npm start -- --help` printed "npm start: Unknown option '--help'" and exited 1 (start.ts's strict
 * parseArgs). It prints the usage and exits 0, starting nothing; an unknown option points at --help.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function start(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'scripts/start.ts', ...args], {
      cwd: ROOT,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm start -- --help', () => {
  it('prints the options, the port variables and where to read more, and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await start([flag]);
      expect(run.stderr, flag).toBe('');
      expect(run.code, flag).toBe(0);
      expect(run.stdout, flag).toMatch(/^usage: npm start /);
      for (const text of [
        '--script-mode',
        '--quiet',
        'RX_PORT',
        'RX_SHOP_PORT',
        'RX_UPSTASH_PORT',
        'RX_MONGO_PORT',
        'scripts/README.md',
      ]) {
        expect(run.stdout, `${flag}: ${text}`).toContain(text);
      }
      expect(run.stdout, flag).not.toContain('Starting the local stack');
    }
  });

  it('refuses an unknown option with exit 1, pointing at --help', async () => {
    const run = await start(['--bogus']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "npm start: Unknown option '--bogus' (npm start -- --help lists the options)",
    );
  });
});
