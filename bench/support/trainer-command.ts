/**
 * Runs a trainer command in a child process as `npm run COMMAND` does (`node --import tsx
 * trainer/cli/COMMAND.ts …`), for the benchmarks that time one (`train`, `report`): wall time from here,
 * the load average around it, and what the child printed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';

export interface CommandRun {
  code: number;
  stdout: string;
  /** Empty unless `usage` was asked (otherwise the child's stderr is this process's). */
  stderr: string;
  seconds: number;
  /** The higher of the load averages before and after: other work on the machine stretches wall time. */
  load: number;
  /** The child's own getrusage figures (`usage`), from bench/support/exit-usage.ts. */
  usage?: { cpuSeconds: number; maxRssMiB: number };
}

export async function runTrainerCommand(
  command: string,
  args: string[],
  options: {
    /** Copy the child's stdout to ours as it comes (long runs). */
    echo?: boolean;
    /** Measure the child's CPU time and peak RSS (its stderr is then captured, not shown). */
    usage?: boolean;
    /** `--max-old-space-size` of the child, MiB. */
    heapMiB?: number;
  } = {},
): Promise<CommandRun> {
  const load = loadavg()[0] ?? 0;
  const started = performance.now();
  const preload = options.usage ? ['--import', './bench/support/exit-usage.ts'] : [];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...preload, `trainer/cli/${command}.ts`, ...args],
    {
      stdio: ['ignore', 'pipe', options.usage ? 'pipe' : 'inherit'],
      env: options.heapMiB
        ? { ...process.env, NODE_OPTIONS: `--max-old-space-size=${options.heapMiB}` }
        : process.env,
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (options.echo) process.stdout.write(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const run: CommandRun = {
    code: code ?? 1,
    stdout,
    stderr,
    seconds: (performance.now() - started) / 1000,
    load: Math.max(load, loadavg()[0] ?? 0),
  };
  const usage = /^rx-usage (.+)$/m.exec(stderr)?.[1];
  if (usage) run.usage = JSON.parse(usage) as CommandRun['usage'];
  return run;
}

/**
 * The CPU time and peak RSS `npm run train` reports as its last line (`peak RSS 622 MiB, CPU 50.7 s`,
 * trainer/cli/train.ts). Throws when the line is not there (its format changed, or the trainer ended
 * before it): a table would otherwise show NaN for both.
 */
export function trainerReportedUsage(output: string): { cpuSeconds: number; peakRssMiB: number } {
  // The last such line: the one the training process prints when it is done.
  const line = [...output.matchAll(/^peak RSS (\d+) MiB, CPU (\d+(?:\.\d+)?) s$/gm)].at(-1);
  if (!line) {
    throw new Error(
      'the trainer printed no "peak RSS N MiB, CPU N s" line: CPU time and peak RSS unknown (did the line change in trainer/cli/train.ts?)',
    );
  }
  return { cpuSeconds: Number(line[2]), peakRssMiB: Number(line[1]) };
}
