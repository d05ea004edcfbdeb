/**
 * `npm run train -- --format F --input PATH --out DIR [--catalogue FILE] [--k 50] [--personal auto|ease|autoencoder|item-item] ...`
 * Trains every model on the input and writes a model bundle atomically.
 */
import { currencyCode } from '../data/currency-code';
import { isFormat } from '../data/sources';
import { isPersonalModel, PERSONAL_MODELS, type PersonalModel } from '../pipeline/personal-models';
import { MODEL_TOP_K } from '../pipeline/top-k';
import { parseArgs, positiveInt, positiveNumber, required, runCommand, UsageError } from './args';
import { checkBundleOutput } from './output-file';

const USAGE = `usage: npm run train -- --format online-retail|movielens|events|mongodb --input PATH --out DIR
  [--catalogue FILE.json]  shop catalogue: restricts and describes the items
  [--currency GBP]         currency of prices the data does not name (an online-retail file
                           without a Currency column; catalogue entries without one)
  [--k 50]                 top-k each model returns
  [--personal auto|ease|autoencoder|item-item]   default auto: trains EASE and the TF.js
                           Mult-DAE on one temporal validation, scores the lists each would
                           serve, ships the better refitted on all data
  [--lambda N]             EASE regularisation; default: chosen on the temporal validation
                           (the last 10 % of the data in time) from 10-3000
  [--half-life-days N|none]   EASE fits interactions faded 2^(-age/N) (none: no decay);
                           default: chosen on the validation from none, 30, 90
  [--popularity-exponent E]   EASE scores × popularity^-E; default: chosen from 0, 0.25
  [--hidden 128] [--epochs 16]   Mult-DAE (autoencoder)
  [--rank 128]             rank of factorised graphs above 1,000 items`;

/** The options of each personal model; `auto` trains both EASE and the Mult-DAE. */
const MODEL_OPTIONS: Readonly<Record<string, readonly PersonalModel[]>> = {
  lambda: ['auto', 'ease'],
  'half-life-days': ['auto', 'ease'],
  'popularity-exponent': ['auto', 'ease'],
  hidden: ['auto', 'autoencoder'],
  epochs: ['auto', 'autoencoder'],
};

/** An option the chosen model does not read is a usage error, not a setting silently ignored. */
function refuseUnusedOptions(args: ReadonlyMap<string, string>, personal: PersonalModel): void {
  for (const [option, models] of Object.entries(MODEL_OPTIONS)) {
    if (args.has(option) && !models.includes(personal))
      throw new UsageError(
        `--${option} does not apply to --personal ${personal} (it is for ${models.filter((m) => m !== 'auto').join(', ')})`,
      );
  }
}

/** `--half-life-days`: positive days, or `none` (no decay). */
function halfLifeOption(args: ReadonlyMap<string, string>): number | null {
  const raw = args.get('half-life-days') ?? '';
  if (raw === 'none') return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--half-life-days must be a positive number of days or "none", got "${raw}"`);
  return value;
}

/** `--popularity-exponent`: a number ≥ 0 (0: no popularity scale). */
function exponentOption(args: ReadonlyMap<string, string>): number {
  const raw = args.get('popularity-exponent') ?? '';
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new UsageError(`--popularity-exponent must be a number ≥ 0, got "${raw}"`);
  return value;
}

/** `--currency`: a three-letter code, read in upper case. */
function currencyOption(raw: string): string {
  const code = currencyCode(raw);
  if (!code) throw new UsageError(`--currency must be a three-letter code such as EUR, got "${raw}"`);
  return code;
}

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), [
    'format',
    'input',
    'out',
    'catalogue',
    'k',
    'personal',
    'hidden',
    'epochs',
    'rank',
    'lambda',
    'half-life-days',
    'popularity-exponent',
    'currency',
  ]);
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const personal = args.get('personal') ?? 'auto';
  if (!isPersonalModel(personal))
    throw new UsageError(`unknown --personal "${personal}" (one of ${PERSONAL_MODELS.join(', ')})`);
  refuseUnusedOptions(args, personal);
  const out = required(args, 'out');
  // Every option is read (and a usage error thrown) before anything touches the filesystem: the
  // output check creates --out's parent folders, which a run refused for a missing --input left behind.
  const options = {
    format,
    input: required(args, 'input'),
    ...(args.has('catalogue') ? { catalogue: required(args, 'catalogue') } : {}),
    ...(args.has('currency') ? { currency: currencyOption(required(args, 'currency')) } : {}),
    k: positiveInt(args, 'k', MODEL_TOP_K),
    rank: positiveInt(args, 'rank', 128),
    personal,
    hidden: positiveInt(args, 'hidden', 128),
    epochs: positiveInt(args, 'epochs', 16),
    ...(args.has('lambda') ? { lambda: positiveNumber(args, 'lambda') } : {}),
    ...(args.has('half-life-days') ? { easeHalfLifeDays: halfLifeOption(args) } : {}),
    ...(args.has('popularity-exponent') ? { popularityExponent: exponentOption(args) } : {}),
    log: (line: string) => console.log(line),
  };
  // Before reading and training, which take minutes on a real shop's data.
  await checkBundleOutput(out);
  const started = Date.now();
  // Loaded only now: TF.js and the training code take about a second to load, which a usage error or
  // `--help` need not wait for.
  const [{ trainBundle }, { writeBundle }] = await Promise.all([
    import('../pipeline/train'),
    import('../bundle/write-bundle'),
  ]);
  const result = await trainBundle(options);
  const manifest = await writeBundle(out, result.contents);
  console.log(
    `wrote bundle ${manifest.version} to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s:`,
  );
  for (const m of manifest.models) console.log(`  ${m.file} (${m.role}, ${(m.bytes / 1024).toFixed(0)} KiB)`);
  const cpu = process.cpuUsage();
  console.log(
    `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
  );
});
