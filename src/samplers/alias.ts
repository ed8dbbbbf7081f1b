import { sharedFloat64, sharedInt32 } from '../memory/shared.js';
import { nextU32, type RngState } from '../kernels/rng.js';

/**
 * Walker's alias table (Vose's construction): O(1) draws from a fixed discrete
 * distribution. The paper bisects a cumulative table (O(log N)); the alias
 * table draws from exactly the same distribution, only faster.
 */
export interface AliasTable {
  n: number;
  /** probability of keeping column k (else take alias[k]) */
  prob: Float64Array;
  alias: Int32Array;
}

export function buildAlias(weights: ArrayLike<number>): AliasTable {
  const n = weights.length;
  const prob = sharedFloat64(n);
  const alias = sharedInt32(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const w = weights[k]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`alias weights must be finite and >= 0 (index ${k}: ${w})`);
    total += w;
  }
  if (!(total > 0)) throw new RangeError('alias weights sum to zero');
  fillAlias(weights, 0, n, prob, alias, new Float64Array(n), new Int32Array(n), new Int32Array(n));
  return { n, prob, alias };
}

/**
 * Vose's construction for the segment [from, to) of `weights`, written into the
 * same segment of `prob` / `alias` with alias entries relative to `from` (so
 * one pair of arrays holds a table per segment, e.g. per cluster). The three
 * scratch arrays need at least to - from entries. An all-zero segment gets
 * uniform columns (callers never draw from it).
 */
export function fillAlias(
  weights: ArrayLike<number>,
  from: number,
  to: number,
  prob: Float64Array,
  alias: Int32Array,
  scaled: Float64Array,
  small: Int32Array,
  large: Int32Array,
): void {
  const n = to - from;
  let total = 0;
  for (let k = 0; k < n; k++) total += weights[from + k]!;
  let ns = 0;
  let nl = 0;
  for (let k = 0; k < n; k++) {
    scaled[k] = total > 0 ? (weights[from + k]! * n) / total : 1;
    if (scaled[k]! < 1) small[ns++] = k;
    else large[nl++] = k;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!;
    const l = large[nl - 1]!;
    prob[from + s] = scaled[s]!;
    alias[from + s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  // Leftovers are 1 up to rounding.
  while (nl > 0) {
    const l = large[--nl]!;
    prob[from + l] = 1;
    alias[from + l] = l;
  }
  while (ns > 0) {
    const s = small[--ns]!;
    prob[from + s] = 1;
    alias[from + s] = s;
  }
}

export function drawAlias(t: AliasTable, rng: RngState): number {
  return drawAliasSegment(t.prob, t.alias, 0, t.n, rng);
}

/** A draw from the table of segment [from, from + n): an index relative to `from`. */
export function drawAliasSegment(prob: Float64Array, alias: Int32Array, from: number, n: number, rng: RngState): number {
  // One 32-bit draw for the column, one for the coin.
  const k = Math.floor(nextU32(rng) * 2.3283064365386963e-10 * n);
  return nextU32(rng) * 2.3283064365386963e-10 < prob[from + k]! ? k : alias[from + k]!;
}
