/**
 * The trainer's commands as a user runs them (`npm run train -- …` is `tsx trainer/cli/train.ts …`),
 * for the Node tests of the CLI (trainer-cli.test.ts, trainer-own-data.test.ts).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
/**
 * What `tsx FILE ARGS` runs: the tsx command starts a second Node process, `node --require
 * tsx/dist/preflight.cjs --import tsx/dist/loader.mjs FILE ARGS`, with the same environment, and exits
 * with its code. The tests start that process directly: the same loader, arguments, environment and
 * exit code, without the first Node process, which cost 0.3-0.5 s and as much CPU for every command run
 * (some 60 runs in trainer-cli.test.ts alone).
 */
const TSX_NODE_OPTIONS = [
  '--require',
  require.resolve('tsx/preflight'),
  '--import',
  pathToFileURL(require.resolve('tsx')).href,
];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `trainer/cli/COMMAND.ts` with `args`; a failing run is a result (its exit code), not a throw. */
export function cli(command: string, args: string[]): Promise<CliResult> {
  return runScript(`trainer/cli/${command}.ts`, args);
}

/**
 * Runs a TypeScript file with tsx, as its npm script does; a failing run is a result. `cwd` and `env`
 * (added to this process's) for scripts run from elsewhere than the repository.
 */
export async function runScript(
  file: string,
  args: string[],
  { cwd, env }: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...TSX_NODE_OPTIONS, file, ...args], {
      timeout: 120_000,
      ...(cwd === undefined ? {} : { cwd }),
      ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `train --format FORMAT --input INPUT --out OUT`, then `options` as given (repeats included). */
export function runTrain(
  format: string,
  input: string,
  out: string,
  options: string[] = [],
): Promise<CliResult> {
  return cli('train', ['--format', format, '--input', input, '--out', out, ...options]);
}

/** `recommend --model MODEL --format FORMAT --input INPUT --out OUT`, then `options` (e.g. `--k 5`). */
export function runRecommend(
  model: string,
  format: string,
  input: string,
  out: string,
  options: string[] = [],
): Promise<CliResult> {
  return cli('recommend', ['--model', model, '--format', format, '--input', input, '--out', out, ...options]);
}

/** `forecast --format FORMAT --input INPUT`, then `options` (e.g. `--horizon 2 --out FILE`). */
export function runForecast(format: string, input: string, options: string[] = []): Promise<CliResult> {
  return cli('forecast', ['--format', format, '--input', input, ...options]);
}
