import { RedisCommandError } from '../backend.ts';

/**
 * The value types the in-memory store keeps, by the name Redis gives them in TYPE, except `hll`: Redis
 * keeps a HyperLogLog as a specially encoded string, which we emulate exactly as the set of its distinct
 * elements (see `redisTypeName`).
 */
interface ValueTypes {
  string: Buffer;
  list: Buffer[];
  hash: Map<string, Buffer>;
  set: Set<string>;
  zset: Map<string, number>;
  hll: Set<string>;
}

/** A stored value with its type tag. */
export type StoredValue = { [K in keyof ValueTypes]: { type: K; value: ValueTypes[K] } }[keyof ValueTypes];

type ValueOfType<T extends keyof ValueTypes> = ValueTypes[T];

interface Entry {
  stored: StoredValue;
  /** Absolute expiry in ms since the epoch, or undefined for no expiry. */
  expiresAt: number | undefined;
  /** Creation order, used as the SCAN cursor so keys present for a whole scan are all returned. */
  sequence: number;
}

export const WRONG_TYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/**
 * Redis would read a HyperLogLog as its binary encoding (GET, GETDEL, SET ... GET); our exact emulation
 * has no such encoding, so reading one as a string is refused, in words that say why.
 */
export const HLL_HAS_NO_STRING_FORM =
  'WRONGTYPE the in-memory backend keeps a HyperLogLog as its elements, with no string form';

/** The name TYPE and SCAN TYPE give a stored type: a HyperLogLog is a string to Redis. */
export function redisTypeName(type: keyof ValueTypes | 'none'): string {
  return type === 'hll' ? 'string' : type;
}

/**
 * The keys of the in-memory store with Redis expiry semantics: an expired key is gone the moment its
 * time passes (checked lazily on every access, and swept before listing keys).
 */
export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  private nextSequence = 1;

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  has(key: string): boolean {
    return this.live(key) !== undefined;
  }

  typeOf(key: string): keyof ValueTypes | 'none' {
    return this.live(key)?.stored.type ?? 'none';
  }

  /** The value of `key` if it holds type `type`; undefined when missing; WRONGTYPE otherwise. */
  read<T extends keyof ValueTypes>(key: string, type: T): ValueOfType<T> | undefined {
    const entry = this.live(key);
    if (entry === undefined) return undefined;
    if (entry.stored.type !== type) {
      const hllAsString = type === 'string' && entry.stored.type === 'hll';
      throw new RedisCommandError(hllAsString ? HLL_HAS_NO_STRING_FORM : WRONG_TYPE);
    }
    // The type tag was just checked; TypeScript cannot narrow a generic union through it.
    return entry.stored.value as ValueOfType<T>;
  }

  /** Like `read`, but creates an empty value of `type` when the key is missing. */
  readOrCreate<T extends keyof ValueTypes>(
    key: string,
    type: T,
    create: () => ValueOfType<T>,
  ): ValueOfType<T> {
    const existing = this.read(key, type);
    if (existing !== undefined) return existing;
    const value = create();
    this.entries.set(key, {
      stored: { type, value } as StoredValue,
      expiresAt: undefined,
      sequence: this.nextSequence++,
    });
    return value;
  }

  /** Replaces the value of `key` (any previous type), clearing its expiry unless `keepTtl`. */
  write(key: string, stored: StoredValue, keepTtl = false): void {
    const previous = this.live(key);
    this.entries.set(key, {
      stored,
      expiresAt: keepTtl ? previous?.expiresAt : undefined,
      sequence: previous?.sequence ?? this.nextSequence++,
    });
  }

  delete(key: string): boolean {
    const existed = this.has(key);
    this.entries.delete(key);
    return existed;
  }

  /**
   * Deletes `key` if its collection became empty, as Redis does. An empty HyperLogLog stays: it is a
   * string to Redis, and PFADD with no elements makes one.
   */
  dropIfEmpty(key: string): void {
    const entry = this.live(key);
    if (entry === undefined || entry.stored.type === 'string' || entry.stored.type === 'hll') return;
    const size = Array.isArray(entry.stored.value) ? entry.stored.value.length : entry.stored.value.size;
    if (size === 0) this.entries.delete(key);
  }

  /** Expiry of a live key in ms since the epoch; undefined = no expiry; null = no such key. */
  expiryOf(key: string): number | undefined | null {
    const entry = this.live(key);
    return entry === undefined ? null : entry.expiresAt;
  }

  /** Sets (or with undefined, removes) the expiry of a live key; returns whether the key exists. */
  setExpiry(key: string, expiresAt: number | undefined): boolean {
    const entry = this.live(key);
    if (entry === undefined) return false;
    if (expiresAt !== undefined && expiresAt <= this.now()) {
      this.entries.delete(key);
    } else {
      entry.expiresAt = expiresAt;
    }
    return true;
  }

  /** All live keys, in creation order. */
  keys(): string[] {
    return this.scan(0, Number.POSITIVE_INFINITY).keys;
  }

  size(): number {
    return this.keys().length;
  }

  /**
   * Up to `count` live keys created at or after `cursor` (a sequence number), in creation order, and the
   * cursor to continue from (0 when done). A key that exists for the whole scan is returned exactly once.
   */
  scan(cursor: number, count: number): { next: number; keys: string[] } {
    const keys: string[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.sequence < cursor || this.live(key) === undefined) continue;
      if (keys.length >= count) return { next: entry.sequence, keys };
      keys.push(key);
    }
    return { next: 0, keys };
  }

  flush(): void {
    this.entries.clear();
  }

  currentTime(): number {
    return this.now();
  }
}
