import { isUtf8 } from 'node:buffer';
import { getHeapStatistics } from 'node:v8';
import { UserError } from '../errors.js';

/**
 * Raw ids → dense indices. While reading, every distinct raw id gets a
 * provisional number in order of first appearance (`Interner`), so rows are
 * stored as Int32s, not strings. The final indices are assigned once the
 * filters have decided which ids stay (`denseOrder`): the rule does not depend
 * on the order of the input lines, so the same data gives the same indices.
 *
 * Rule: if every kept id is a canonical decimal integer (`0`, `17`, `-3`; no
 * sign on zero, no leading zeros, no blanks), ids are sorted numerically, so
 * 0-based dense ids (LightGCN, CiteULike) map to themselves; otherwise all ids
 * are sorted as strings by UTF-16 code units (byte order for ASCII).
 */

/** An interner's ids as bytes: id k is bytes[offset[k], offset[k + 1]). */
export interface InternedIds {
  bytes: Uint8Array;
  offset: Int32Array;
}

/** Int32s per hash-table slot: hash, id + 1 (0: empty), arena offset, length. */
const SLOT = 4;

/**
 * Raw ids as bytes → provisional numbers, in order of first appearance. An
 * open-addressing hash table over an arena of the distinct ids' bytes: a
 * lookup hashes the field where it lies in the read buffer, so a 48M-row
 * file costs no string per field, only one per distinct id at the end. A
 * slot holds the hash, the id and where its bytes are, so a lookup touches
 * one cache line of the table and the id's bytes (at 10^6 ids the table no
 * longer fits in cache: every extra array read is a miss).
 */
export class Interner {
  private slots = new Int32Array(SLOT << 12);
  private mask = (1 << 12) - 1;
  /** Id k's bytes are arena[offset[k], offset[k + 1]). */
  private offset = new Int32Array(1 << 10);
  private arena: Uint8Array = new Uint8Array(1 << 16);
  private count = 0;
  private names: string[] | undefined;
  private lastId = -1;
  private lastAt = 0;
  private lastLen = -1;

  /**
   * The id of bytes `buf[start, end)`, new ones numbered in order of first
   * appearance; -1 (and nothing stored) if the bytes are not valid UTF-8.
   */
  internBytes(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const arena = this.arena;
    // Row files are usually grouped by user: most lookups repeat the previous id.
    if (len === this.lastLen) {
      const at = this.lastAt;
      let j = 0;
      while (j < len && arena[at + j] === buf[start + j]) j++;
      if (j === len) return this.lastId;
    }
    let h = 0x811c9dc5 | 0;
    let high = 0;
    for (let j = start; j < end; j++) {
      const b = buf[j]!;
      high |= b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slots = this.slots;
    let slot = (h ^ (h >>> 15)) & this.mask;
    for (;;) {
      const p = slot * SLOT;
      const entry = slots[p + 1]!;
      if (entry === 0) break;
      if (slots[p] === h && slots[p + 3] === len) {
        const at = slots[p + 2]!;
        let j = 0;
        while (j < len && arena[at + j] === buf[start + j]) j++;
        if (j === len) {
          this.lastId = entry - 1;
          this.lastAt = at;
          this.lastLen = len;
          return entry - 1;
        }
      }
      slot = (slot + 1) & this.mask;
    }
    if (high >= 0x80 && !isUtf8(buf.subarray(start, end))) return -1;
    const k = this.add(buf, start, len);
    const p = slot * SLOT;
    slots[p] = h;
    slots[p + 1] = k + 1;
    slots[p + 2] = this.offset[k]!;
    slots[p + 3] = len;
    if (2 * this.count > this.mask + 1) this.rehash();
    this.lastId = k;
    this.lastAt = this.offset[k]!;
    this.lastLen = len;
    return k;
  }

  /** The id of a string (its UTF-8 bytes). */
  intern(id: string): number {
    const bytes = Buffer.from(id, 'utf8');
    return this.internBytes(bytes, 0, bytes.length);
  }

  get size(): number {
    return this.count;
  }

  /** The distinct ids as strings, index k = provisional id k (decoded once, then kept). */
  get ids(): string[] {
    if (this.names?.length !== this.count) {
      const dec = Buffer.from(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
      const names = new Array<string>(this.count);
      for (let k = 0; k < this.count; k++) names[k] = dec.toString('utf8', this.offset[k]!, this.offset[k + 1]!);
      this.names = names;
    }
    return this.names;
  }

  /** The distinct ids' bytes, to rebuild them in another thread's interner (`internAll`). */
  export(): InternedIds {
    const n = this.count;
    return { bytes: this.arena.slice(0, this.offset[n]!), offset: this.offset.slice(0, n + 1) };
  }

  /** Interns every id of `ids` in order; returns their ids here, by their index there. */
  internAll(ids: InternedIds): Int32Array {
    const n = ids.offset.length - 1;
    const map = new Int32Array(n);
    for (let k = 0; k < n; k++) map[k] = this.internBytes(ids.bytes, ids.offset[k]!, ids.offset[k + 1]!);
    return map;
  }

  private add(buf: Uint8Array, start: number, len: number): number {
    const k = this.count;
    if (k + 2 > this.offset.length) this.offset = grow(this.offset, this.offset.length * 2);
    const at = this.offset[k]!;
    if (at + len > this.arena.length) {
      if (at + len > 0x7fffffff) throw new UserError('more than 2 GiB of distinct id text: pris id maps cannot hold it');
      const next = new Uint8Array(Math.min(0x7fffffff, Math.max(2 * this.arena.length, at + len)));
      next.set(this.arena.subarray(0, at));
      this.arena = next;
    }
    this.arena.set(buf.subarray(start, start + len), at);
    this.offset[k + 1] = at + len;
    this.count = k + 1;
    return k;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length / SLOT - 1;
    for (let p = 0; p < old.length; p += SLOT) {
      if (old[p + 1] === 0) continue;
      const h = old[p]!;
      let slot = (h ^ (h >>> 15)) & mask;
      while (slots[slot * SLOT + 1] !== 0) slot = (slot + 1) & mask;
      slots.set(old.subarray(p, p + SLOT), slot * SLOT);
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function grow(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(n);
  out.set(a);
  return out;
}

const CANONICAL_INT = /^(0|-?[1-9][0-9]*)$/;

export const isIntegerId = (id: string): boolean => CANONICAL_INT.test(id);

/** Numeric order of canonical integer strings of any length, without conversion. */
export function compareIntegerIds(a: string, b: string): number {
  const na = a.charCodeAt(0) === 45; // '-'
  const nb = b.charCodeAt(0) === 45;
  if (na !== nb) return na ? -1 : 1;
  const sign = na ? -1 : 1;
  if (a.length !== b.length) return sign * (a.length - b.length);
  return a < b ? -sign : a > b ? sign : 0;
}

export const compareStringIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface IdOrder {
  /** Final id list: index k holds the raw id of dense index k. */
  ids: string[];
  numeric: boolean;
}

/** Whether the ids (those with `keep[k] === 1`, if given) are all canonical integers. */
export function allIntegerIds(ids: readonly string[], keep?: Uint8Array): boolean {
  for (let k = 0; k < ids.length; k++) if ((!keep || keep[k] === 1) && !isIntegerId(ids[k]!)) return false;
  return true;
}

/**
 * Each id's position in the order of the rule above (numeric or string
 * order, as `numeric` says), without sorting the strings themselves: the
 * import orders rows by these ranks, then numbers the ids that stay.
 */
export function rankIds(ids: readonly string[], numeric: boolean): Int32Array {
  const order = Int32Array.from({ length: ids.length }, (_, k) => k);
  const cmp = numeric ? compareIntegerIds : compareStringIds;
  order.sort((a, b) => cmp(ids[a]!, ids[b]!));
  const rank = new Int32Array(ids.length);
  for (let k = 0; k < order.length; k++) rank[order[k]!] = k;
  return rank;
}

/** Sorts ids by the rule above. */
export function denseOrder(ids: readonly string[]): IdOrder {
  const numeric = ids.every(isIntegerId);
  const sorted = ids.slice().sort(numeric ? compareIntegerIds : compareStringIds);
  return { ids: sorted, numeric };
}

/** Dense indices are Int32. */
export const MAX_INDEX = 2 ** 31 - 1;

/**
 * Memory a catalogue id costs while the import holds it (its string, its
 * slot in the id list, its share of the written id map): about 87 bytes of
 * resident memory per id measured with 2 M and 8 M catalogue items.
 */
const CATALOG_BYTES_PER_ID = 90;

/**
 * Refuses, before anything is read, a `--catalog-items` that cannot be an
 * Int32 index or whose ids would not fit the memory this Node process may
 * use (V8's heap limit), instead of running out of memory after the read.
 */
export function checkCatalogSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`--catalog-items must be a positive integer (got ${n})`);
  if (n > MAX_INDEX) throw new UserError(`--catalog-items ${n} is beyond Int32: pris numbers items with 32-bit integers (at most ${MAX_INDEX})`);
  const need = n * CATALOG_BYTES_PER_ID;
  const limit = getHeapStatistics().heap_size_limit;
  if (need > limit) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new UserError(
      `--catalog-items ${n} needs about ${gib(need)} GiB for the item ids, more than the ${gib(limit)} GiB this Node process may use ` +
        `(raise it with NODE_OPTIONS=--max-old-space-size=${Math.ceil((need * 1.5) / 2 ** 20)} if the machine has the memory)`,
    );
  }
}

/**
 * The item catalogue declared with `--catalog-items n`: the kept item ids plus
 * the smallest non-negative integers not among them, until there are `n`.
 * For 0-based dense ids (CiteULike's 25,975 articles, of which 25,584 have a
 * reader) that restores exactly 0..n-1. Only integer ids can be completed.
 */
export function completeCatalog(kept: readonly string[], n: number, rawDistinct: number): { ids: string[]; added: number } {
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`--catalog-items must be a positive integer (got ${n})`);
  if (n < rawDistinct) {
    throw new UserError(`--catalog-items ${n} is smaller than the ${rawDistinct} distinct items in the input`);
  }
  const missing = n - kept.length;
  if (missing === 0) return { ids: kept.slice(), added: 0 };
  if (!kept.every(isIntegerId)) {
    throw new UserError(
      `--catalog-items ${n} declares ${missing} items without interactions, but item ids are not all integers, ` +
        'so the missing ids cannot be named; add the items to the input instead',
    );
  }
  const have = new Set(kept);
  const ids = kept.slice();
  for (let k = 0; ids.length < n; k++) {
    const id = String(k);
    if (!have.has(id)) ids.push(id);
  }
  return { ids, added: missing };
}
