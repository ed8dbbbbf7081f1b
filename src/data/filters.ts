import { UserError } from '../errors.js';
import type { RatingFilter } from './dataset.js';
import { groupByUser, takeRows } from './order.js';

/**
 * The import filters, applied in this order (docs/formats.md):
 *   1. row filters on the weight: --min-rating (explicit comparison) and
 *      --min-count (weight >= n), applied while reading;
 *   2. duplicates: one row per (user, item), keeping the largest weight and
 *      the latest timestamp;
 *   3. --min-user-interactions n: users with fewer than n distinct items are
 *      dropped (one pass, not an iterated k-core);
 *   4. items and users left without interactions disappear from the id maps
 *      (unless the item is in the catalogue declared with --catalog-items).
 */

/** Rows under construction: provisional ids, timestamps as doubles until written. */
export interface Rows {
  user: Int32Array;
  item: Int32Array;
  weight?: Float32Array;
  timestamp?: Float64Array;
  /** 1 = the row came from the predefined test file. */
  test?: Uint8Array;
}

/** `'>4'`, `'>=4'` (also `'≥4'`); a bare number is refused: "4 or more" and "above 4" differ. */
export function parseMinRating(s: string): RatingFilter {
  const m = /^\s*(>=|≥|>)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$/.exec(s);
  if (!m) {
    throw new UserError(`--min-rating needs an explicit comparison, e.g. '>4' (ratings above 4) or '>=4' (4 and above); got '${s}'`);
  }
  return { op: m[1] === '>' ? '>' : '>=', value: Number(m[2]) };
}

export const formatRatingFilter = (f: RatingFilter): string => `${f.op}${f.value}`;

export interface WeightFilter {
  /** Key in meta.dropped and the flag named in errors. */
  name: 'minRating' | 'minCount';
  flag: string;
  keep: (w: number) => boolean;
}

export function ratingFilter(f: RatingFilter): WeightFilter {
  const v = f.value;
  return {
    name: 'minRating',
    flag: `--min-rating '${formatRatingFilter(f)}'`,
    keep: f.op === '>' ? (w) => w > v : (w) => w >= v,
  };
}

export function countFilter(n: number): WeightFilter {
  if (!Number.isFinite(n)) throw new UserError(`--min-count must be a number (got ${n})`);
  return { name: 'minCount', flag: `--min-count ${n}`, keep: (w) => w >= n };
}

/**
 * One row per (user, item). Of duplicates, the row keeps the largest weight,
 * the latest timestamp, and stays in train if any copy was a train row (an
 * item the user has in train must not be a test item). Rows come out in
 * (user, item) order.
 */
export function collapseDuplicates(rows: Rows, nUsers: number): { rows: Rows; dropped: number } {
  const { perm } = groupByUser(rows.user, rows.item, nUsers);
  const { user, item, weight, timestamp, test } = rows;
  const n = perm.length;
  // Pass 1: the first row of each run of equal (user, item) is the survivor;
  // fold the others into it.
  const keep = new Int32Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const r = perm[k]!;
    const s = m > 0 ? keep[m - 1]! : -1;
    if (s >= 0 && user[s] === user[r] && item[s] === item[r]) {
      if (weight && weight[r]! > weight[s]!) weight[s] = weight[r]!;
      if (timestamp && timestamp[r]! > timestamp[s]!) timestamp[s] = timestamp[r]!;
      if (test && test[r] === 0) test[s] = 0;
    } else {
      keep[m++] = r;
    }
  }
  if (m === n) return { rows: takeRows(rows, perm), dropped: 0 };
  return { rows: takeRows(rows, keep, m), dropped: n - m };
}

/** Drops users with fewer than `min` rows. Rows must already be one per (user, item). */
export function filterMinUserInteractions(
  rows: Rows,
  nUsers: number,
  min: number,
): { rows: Rows; droppedRows: number; droppedUsers: number } {
  const count = new Int32Array(nUsers);
  for (let r = 0; r < rows.user.length; r++) count[rows.user[r]!]!++;
  let droppedUsers = 0;
  for (let u = 0; u < nUsers; u++) if (count[u]! > 0 && count[u]! < min) droppedUsers++;
  if (droppedUsers === 0) return { rows, droppedRows: 0, droppedUsers: 0 };
  const keep = new Int32Array(rows.user.length);
  let m = 0;
  for (let r = 0; r < rows.user.length; r++) if (count[rows.user[r]!]! >= min) keep[m++] = r;
  return { rows: takeRows(rows, keep, m), droppedRows: rows.user.length - m, droppedUsers };
}
