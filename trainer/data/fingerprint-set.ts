/**
 * A set of strings kept as 64-bit fingerprints in typed arrays (open addressing), for telling a
 * repeated messageId among a million events. A `Set` of the strings themselves held ~70 MB of heap
 * there (`npm run bench -- report` ran out of its 192 MiB heap); this holds 9 bytes per slot, with two
 * to four slots per entry (it doubles once half full), outside the V8 heap. Two different strings share a fingerprint with
 * probability about n² / 2^65 (3 in 100 million for a million strings): one of such a pair would be
 * taken for a repeat of the other.
 */
export class FingerprintSet {
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  private used = new Uint8Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `value`; false when it (its fingerprint) was there already. */
  add(value: string): boolean {
    const [high, low] = fingerprint(value);
    if (!this.insert(high, low)) return false;
    this.count += 1;
    if (this.count * 2 > this.used.length) this.grow();
    return true;
  }

  private insert(high: number, low: number): boolean {
    const mask = this.used.length - 1;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      if (this.used[slot] === 0) {
        this.used[slot] = 1;
        this.high[slot] = high;
        this.low[slot] = low;
        return true;
      }
      if (this.high[slot] === high && this.low[slot] === low) return false;
    }
  }

  private grow(): void {
    const { high, low, used } = this;
    this.high = new Uint32Array(used.length * 2);
    this.low = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] === 1) this.insert(high[slot] ?? 0, low[slot] ?? 0);
    }
  }
}

/** Two 32-bit hashes of the string's UTF-16 code units (FNV-1a and a Murmur-style mix, each finalised). */
function fingerprint(value: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [finalise(a), finalise(b)];
}

/** MurmurHash3's fmix32: every input bit reaches every output bit. */
function finalise(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
