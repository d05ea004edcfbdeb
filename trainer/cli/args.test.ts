/**
 * The trainer commands' option parser: every way a command line can be wrong is refused with a
 * usage error that names the option, and what is right keeps parsing as before.
 */
import { describe, expect, it } from 'vitest';
import { HelpRequested, parseArgs, UsageError, wantsHelp } from './args';

const KNOWN = ['format', 'input', 'out', 'json'];
const parse = (...argv: string[]) => parseArgs(argv, KNOWN);
const refusal = (...argv: string[]): string => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it('reads --name value and --name=value (a value may hold "=" and, inline, start with "--")', () => {
    expect(Object.fromEntries(parse('--format', 'movielens', '--input=a=b.csv', '--out=--odd'))).toEqual({
      format: 'movielens',
      input: 'a=b.csv',
      out: '--odd',
    });
  });

  it('refuses an option given twice, in either form, without quoting either value', () => {
    const twice = refusal('--input', 'a.csv', '--out', 'm', '--input', 'b.csv');
    expect(twice).toBe('--input is given more than once; give it once');
    expect(refusal('--out=x', '--out', 'y')).toBe('--out is given more than once; give it once');
    const uri = refusal('--input', 'mongodb://rx:s3cret@h/shop', '--input', 'mongodb://rx:s3cret@h/other');
    expect(uri).not.toMatch(/s3cret/);
  });

  it('refuses a missing or empty value instead of taking the next option or a default', () => {
    expect(refusal('--format', 'movielens', '--out')).toBe('--out needs a value');
    expect(refusal('--out', '--input', 'x')).toBe('--out needs a value');
    expect(refusal('--json=')).toBe('--json needs a value');
    expect(refusal('--out', '')).toBe('--out needs a value');
  });

  it('names unknown options, single-dash ones and words that belong to no option', () => {
    expect(refusal('--data', 'a.csv')).toBe('unknown option --data');
    expect(refusal('-o', 'x')).toMatch(/^unknown option "-o": options start with "--"/);
    expect(refusal('--=x')).toBe('unknown option "--=x"');
    // `npm run train --format x` (no `--`): npm keeps the options and passes only their values.
    expect(refusal('movielens', 'u.data')).toMatch(
      /^unexpected argument "movielens": .*put -- between the command and them \(npm run \S+ -- --format …\)/,
    );
    // `--input *.csv` expanded by the shell: the second file is no option's value.
    expect(refusal('--input', 'a.csv', 'b.csv')).toMatch(
      /^unexpected argument "b\.csv": each option takes one value/,
    );
    expect(refusal('--', '--format', 'x')).toMatch(
      /^unexpected argument "--": give the options after a single --/,
    );
  });

  it('never prints the password of a connection string given where no value belongs', () => {
    const message = refusal('mongodb://rx:s3cret@db.example.net/shop');
    expect(message).toMatch(/^unexpected argument "mongodb:\/\/…@db\.example\.net\/shop"/);
    expect(message).not.toMatch(/s3cret|rx:/);
  });

  it('boolean flags take no value and may be given once', () => {
    expect(parseArgs(['--dry-run', '--out', 'x'], ['out'], ['dry-run']).get('dry-run')).toBe('true');
    expect(() => parseArgs(['--dry-run', '--dry-run'], [], ['dry-run'])).toThrow(
      '--dry-run is given more than once',
    );
    expect(() => parseArgs(['--dry-run=false'], [], ['dry-run'])).toThrow('--dry-run takes no value');
  });

  it('takes -h as help only where an option goes: after --out it is the file name', () => {
    expect(parse('--out', '-h').get('out')).toBe('-h');
    expect(wantsHelp(['--out', '-h'])).toBe(false);
    expect(() => parse('--format', 'movielens', '-h')).toThrow(HelpRequested);
    expect(() => parseArgs(['--dry-run', '-h'], [], ['dry-run'])).toThrow(HelpRequested);
    expect(() => parse('--out', 'x', '--help')).toThrow(HelpRequested);
    expect(wantsHelp(['-h'])).toBe(true);
    expect(wantsHelp(['--out', 'x', '--help'])).toBe(true);
  });
});
