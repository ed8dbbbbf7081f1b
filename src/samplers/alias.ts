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
  const scaled = new Float64Array(n);
  const small = new Int32Array(n);
  const large = new Int32Array(n);
  let ns = 0;
  let nl = 0;
  for (let k = 0; k < n; k++) {
    scaled[k] = (weights[k]! * n) / total;
    if (scaled[k]! < 1) small[ns++] = k;
    else large[nl++] = k;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns]!;
    const l = large[nl - 1]!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  // Leftovers are 1 up to rounding.
  while (nl > 0) {
    const l = large[--nl]!;
    prob[l] = 1;
    alias[l] = l;
  }
  while (ns > 0) {
    const s = small[--ns]!;
    prob[s] = 1;
    alias[s] = s;
  }
  return { n, prob, alias };
}

export function drawAlias(t: AliasTable, rng: RngState): number {
  // One 32-bit draw for the column, one for the coin.
  const k = Math.floor(nextU32(rng) * 2.3283064365386963e-10 * t.n);
  return nextU32(rng) * 2.3283064365386963e-10 < t.prob[k]! ? k : t.alias[k]!;
}
