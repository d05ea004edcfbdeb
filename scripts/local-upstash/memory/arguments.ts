import { RedisCommandError, type RedisReply } from '../backend.ts';

/** Argument parsing and reply helpers shared by the in-memory commands, with Redis's error texts. */

export const OK: RedisReply = Buffer.from('OK');
export const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';
export const NOT_A_FLOAT = 'ERR value is not a valid float';
export const SYNTAX_ERROR = 'ERR syntax error';

export function bulk(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/**
 * An integer argument, written as Redis's string2ll accepts it: an optional `-`, then digits without a
 * leading zero, or `0` alone (so `+5`, `05`, `-0` and ` 5` are refused, as by Redis). Redis takes any
 * 64-bit value; this backend refuses those beyond ±(2^53 - 1), which JavaScript numbers cannot hold
 * exactly, with the same error (deliberate: it covers every product use; see README.md).
 */
export function integerArgument(text: string, message = NOT_AN_INTEGER): number {
  if (!/^(0|-?[1-9]\d*)$/.test(text)) throw new RedisCommandError(message);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RedisCommandError(message);
  return value;
}

/** A float argument as Redis reads it, including `inf`, `+inf` and `-inf`. */
export function floatArgument(text: string, message = NOT_A_FLOAT): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (text.trim() !== text || text === '') throw new RedisCommandError(message);
  const value = Number(text);
  if (Number.isNaN(value)) throw new RedisCommandError(message);
  return value;
}

/**
 * A double as Redis 7.0 prints it in replies: C's `%.17g` (so 0.1 is "0.10000000000000001"), and
 * `inf` / `-inf`. Redis 7.2 switched to the shortest round-trip form; 7.0 is what Debian and Ubuntu ship.
 */
export function formatDouble(value: number): string {
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0';
  const [mantissa = '', exponentText = '0'] = value.toExponential(16).split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 17) {
    const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(Math.abs(exponent));
    return `${stripZeros(mantissa)}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  return stripZeros(value.toFixed(16 - exponent));
}

function stripZeros(decimal: string): string {
  return decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;
}

/** Increments a stored integer string the way INCRBY does, refusing results outside the safe range. */
export function addToInteger(
  current: Buffer | undefined,
  increment: number,
  notIntegerMessage = NOT_AN_INTEGER,
): number {
  const base = current === undefined ? 0 : integerArgument(current.toString('utf8'), notIntegerMessage);
  const result = base + increment;
  if (!Number.isSafeInteger(result)) {
    throw new RedisCommandError('ERR increment or decrement would overflow');
  }
  return result;
}

/** Converts Redis's inclusive start/stop indexes (negative = from the end) into a slice range. */
export function indexRange(start: number, stop: number, length: number): [number, number] {
  const from = Math.max(start < 0 ? length + start : start, 0);
  const to = Math.min(stop < 0 ? length + stop : stop, length - 1);
  return from > to || from >= length ? [0, 0] : [from, to + 1];
}
