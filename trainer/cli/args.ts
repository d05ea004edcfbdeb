/** Minimal `--name value` argument parsing for the trainer's commands, with usage errors. */
import path from 'node:path';
import { utcDayStart } from '../data/utc-day';

/** A command-line usage error: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `-h` or `--help` where an option goes: the command prints its usage and exits 0 (runCommand). */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

/**
 * Parses `--key value` and `--key=value` pairs (and `--flag` booleans listed in `flags`). Every
 * option may be given once: a second `--input` or `--out` used to replace the first silently, so a
 * run meant for one file trained on another. Values are never quoted back in errors: `--input` of
 * `--format mongodb` is a connection string that may hold a password.
 */
export function parseArgs(argv: string[], known: string[], flags: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    // Only here, where an option goes: `--out -h` writes a file named "-h", it does not ask for help.
    if (arg === '-h' || arg === '--help') throw new HelpRequested();
    if (!arg.startsWith('--')) throw new UsageError(unexpectedArgument(arg, i === 0));
    const [key = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (key === '') throw new UsageError(unexpectedArgument(arg, i === 0));
    const isFlag = flags.includes(key);
    if (!isFlag && !known.includes(key)) throw new UsageError(`unknown option --${key}`);
    if (out.has(key)) throw new UsageError(`--${key} is given more than once; give it once`);
    if (isFlag) {
      // `--backtest=false` meaning "on" would run what was switched off; a flag takes no value.
      if (inline !== undefined) throw new UsageError(`--${key} takes no value`);
      out.set(key, 'true');
      continue;
    }
    // `--out --data x`: the next option is no value. An inline value may start with `--` (`--out=--x`).
    const value = inline ?? (argv[i + 1]?.startsWith('--') ? undefined : argv[++i]);
    // An empty value (`--json=`, `--out ""`) would fall back to a default or fail only at the end.
    if (value === undefined || value === '') throw new UsageError(`--${key} needs a value`);
    out.set(key, value);
  }
  return out;
}

/**
 * Why a word that is no option was refused. First on the line it is mostly `npm run train --format x`
 * without the `--` after the script name: npm then keeps the options and passes only their values.
 */
function unexpectedArgument(arg: string, first: boolean): string {
  const example = `npm run ${path.parse(process.argv[1] ?? 'train').name} -- --format …`;
  if (arg === '--') return `unexpected argument "--": give the options after a single -- (${example})`;
  // A connection string typed bare must not have its password printed back.
  const shown = `"${arg.replace(/\/\/.*@/s, '//…@')}"`;
  if (arg.startsWith('--')) return `unknown option ${shown}`;
  if (arg.startsWith('-')) return `unknown option ${shown}: options start with "--" (--name value)`;
  const why = first
    ? `options are --name value; with npm run, put -- between the command and them (${example})`
    : 'each option takes one value (quote a value with spaces; a shell pattern may have matched several files)';
  return `unexpected argument ${shown}: ${why}`;
}

/** The value of a required option. */
export function required(args: Map<string, string>, key: string): string {
  const value = args.get(key);
  if (!value) throw new UsageError(`--${key} is required`);
  return value;
}

/** An option that takes one of a few words, with a default (`--history full|served`, `--per store|item`). */
export function choice<T extends string>(
  args: Map<string, string>,
  key: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = args.get(key) ?? fallback;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`--${key} must be ${choices.join(' or ')}, got "${value}"`);
  return value as T;
}

/** A positive integer option with a default. */
export function positiveInt(args: Map<string, string>, key: string, fallback: number): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`--${key} must be a positive integer, got "${raw}"`);
  return value;
}

/** A positive number option (required to be present: callers check `args.has` first). */
export function positiveNumber(args: Map<string, string>, key: string): number {
  const raw = required(args, key);
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${key} must be a positive number, got "${raw}"`);
  return value;
}

/**
 * A day option, `YYYY-MM-DD` (UTC), as the epoch ms its day starts; undefined when absent. A day
 * that does not exist (2026-02-30) is refused, not rolled over into March.
 */
export function dayOption(args: Map<string, string>, key: string): number | undefined {
  const raw = args.get(key);
  if (raw === undefined) return undefined;
  const time = utcDayStart(raw);
  if (!Number.isFinite(time)) throw new UsageError(`--${key} must be a day as YYYY-MM-DD, got "${raw}"`);
  return time;
}

/**
 * Whether the command line asks for help before anything is parsed: `--help` anywhere (no option's
 * value can start with `--`) or `-h` first. A later `-h` is help only where an option goes, which
 * parseArgs decides (HelpRequested): after `--out` it is a file name.
 */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv[0] === '-h';
}

/**
 * Runs a command's main, mapping errors to messages and exit codes (2 usage, 1 anything else);
 * `--help`/`-h` prints the usage to stdout and exits 0 without running it.
 */
export function runCommand(usage: string, main: () => Promise<void>, argv = process.argv.slice(2)): void {
  if (wantsHelp(argv)) {
    console.log(usage);
    return;
  }
  main().catch((error: unknown) => {
    if (error instanceof HelpRequested) {
      console.log(usage);
      return;
    }
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${usage}`);
      process.exit(2);
    }
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.RX_DEBUG && error instanceof Error) console.error(error.stack);
    process.exit(1);
  });
}
