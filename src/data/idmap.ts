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

export class Interner {
  private readonly index = new Map<string, number>();
  readonly ids: string[] = [];
  private lastId = '';
  private lastIndex = -1;

  intern(id: string): number {
    // Row files are usually grouped by user: most lookups repeat the previous id,
    // and a string compare is far cheaper than a lookup in a map of 10^5+ keys.
    if (id === this.lastId && this.lastIndex >= 0) return this.lastIndex;
    let k = this.index.get(id);
    if (k === undefined) {
      k = this.ids.length;
      // A token cut from a line may be a V8 "sliced string" that keeps the whole
      // 1 MiB read chunk alive; storing a flat copy lets each chunk be freed.
      const own = (' ' + id).slice(1);
      this.index.set(own, k);
      this.ids.push(own);
    }
    this.lastId = id;
    this.lastIndex = k;
    return k;
  }

  get size(): number {
    return this.ids.length;
  }
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

/** Sorts ids by the rule above. */
export function denseOrder(ids: readonly string[]): IdOrder {
  const numeric = ids.every(isIntegerId);
  const sorted = ids.slice().sort(numeric ? compareIntegerIds : compareStringIds);
  return { ids: sorted, numeric };
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
