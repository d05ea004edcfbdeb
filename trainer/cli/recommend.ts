/**
 * `npm run recommend -- --model DIR --format F --input PATH --k 10 --out FILE.csv [--role personal]`
 * Top-k for every user in the input from their history in it, computed by the bundle's exported
 * ONNX graph in onnxruntime-web; items the user interacted with are excluded.
 * CSV header: user_id,item_id,rank,score.
 */

import { ModelRoleSchema } from '../../contracts/manifest';
import { isFormat } from '../data/sources';
import { recommendToCsv } from '../pipeline/recommend';
import { parseArgs, positiveInt, required, runCommand, UsageError } from './args';
import { checkOutputFile } from './output-file';

const USAGE = `usage: npm run recommend -- --model DIR --format online-retail|movielens|events|mongodb --input PATH --k 10 --out FILE.csv
  [--role personal|similar|complements]   which model of the bundle (default personal)`;

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), ['model', 'format', 'input', 'k', 'out', 'role']);
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const role = ModelRoleSchema.safeParse(args.get('role') ?? 'personal');
  if (!role.success) throw new UsageError(`unknown --role "${args.get('role')}"`);
  // Every option is read (and a usage error thrown) before the output check creates --out's parent.
  const options = {
    model: required(args, 'model'),
    format,
    input: required(args, 'input'),
    k: positiveInt(args, 'k', 10),
    out: required(args, 'out'),
    role: role.data,
    log: (line: string) => console.log(line),
  };
  await checkOutputFile('out', options.out);
  const summary = await recommendToCsv(options);
  console.log(`wrote ${summary.rows} rows for ${summary.users} users to ${summary.out}`);
});
