import { UserError } from '../errors.js';
import type { RatingFilter } from './dataset.js';
import type { UserGroups } from './order.js';

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

/** The row filters an import request names, in the order they apply. */
export function weightFilters(req: { minRating?: string; minCount?: number }): WeightFilter[] {
  const filters: WeightFilter[] = [];
  if (req.minRating !== undefined) filters.push(ratingFilter(parseMinRating(req.minRating)));
  if (req.minCount !== undefined) filters.push(countFilter(req.minCount));
  return filters;
}

export function countFilter(n: number): WeightFilter {
  if (!Number.isFinite(n)) throw new UserError(`--min-count must be a number (got ${n})`);
  return { name: 'minCount', flag: `--min-count ${n}`, keep: (w) => w >= n };
}

export interface Folded {
  /** Row numbers of the kept rows, in (user, item) order: a prefix of the groups' perm, reused. */
  keep: Int32Array;
  /** How many of `keep` are kept. */
  m: number;
  duplicates: number;
  /** Rows and users removed by --min-user-interactions (after duplicates). */
  droppedRows: number;
  droppedUsers: number;
}

/**
 * Duplicates, then --min-user-interactions, in one pass over rows grouped by
 * user and sorted by item (`groups`, whose perm is reused for the result).
 * Of duplicates, the first row in input order survives and keeps the largest
 * weight, the latest timestamp, and stays in train if any copy was a train
 * row (an item the user has in train must not be a test item). `itemKey`
 * is the item order `groups` was sorted by, if not the raw numbers.
 */
export function foldDuplicates(rows: Rows, groups: UserGroups, min = 0, itemKey?: Int32Array): Folded {
  const { perm, start } = groups;
  const { item, weight, timestamp, test } = rows;
  const nUsers = start.length - 1;
  let w = 0;
  let duplicates = 0;
  let droppedRows = 0;
  let droppedUsers = 0;
  for (let u = 0; u < nUsers; u++) {
    const first = w;
    let lastKey = -1;
    for (let k = start[u]!; k < start[u + 1]!; k++) {
      const r = perm[k]!;
      const key = itemKey ? itemKey[item[r]!]! : item[r]!;
      if (w > first && key === lastKey) {
        const s = perm[w - 1]!;
        if (weight && weight[r]! > weight[s]!) weight[s] = weight[r]!;
        if (timestamp && timestamp[r]! > timestamp[s]!) timestamp[s] = timestamp[r]!;
        if (test && test[r] === 0) test[s] = 0;
        duplicates++;
      } else {
        perm[w++] = r;
        lastKey = key;
      }
    }
    if (w > first && w - first < min) {
      droppedRows += w - first;
      droppedUsers++;
      w = first;
    }
  }
  return { keep: perm, m: w, duplicates, droppedRows, droppedUsers };
}
