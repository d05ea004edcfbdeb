/** Minimal `--name value` argument parsing for the trainer's commands, with usage errors. */

/** A command-line usage error: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `--key value` pairs (and `--flag` booleans listed in `flags`). */
export function parseArgs(argv: string[], known: string[], flags: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const [key = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flags.includes(key)) {
      out.set(key, inline ?? 'true');
      continue;
    }
    if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${key} needs a value`);
    out.set(key, value);
  }
  return out;
}

/** The value of a required option. */
export function required(args: Map<string, string>, key: string): string {
  const value = args.get(key);
  if (!value) throw new UsageError(`--${key} is required`);
  return value;
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

/** Whether the command line asks for help (`--help` or `-h` anywhere). */
export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
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
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${usage}`);
      process.exit(2);
    }
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.RX_DEBUG && error instanceof Error) console.error(error.stack);
    process.exit(1);
  });
}
