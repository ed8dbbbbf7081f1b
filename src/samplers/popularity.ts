import type { Kernels } from '../kernels/wasm.js';
import { sharedFloat32, sharedInt32, toShared } from '../memory/shared.js';
import { fillAlias } from './alias.js';
import { ItemSampler } from './item-sampler.js';

/** Item popularity shared by every worker: f_j, ln f_j and the alias table over f packed for the kernels. */
export interface PopularityTables {
  f: Float64Array;
  /** float32: the cluster samplers' second pass over their draws reads it, and half the bytes miss less */
  lnf: Float32Array;
  total: number;
  /** the largest f_j */
  fMax: number;
  /**
   * Walker's alias table over f, one 16-byte entry per column k (so a draw
   * reads one cache line): [alias item, keep probability, ln f_k, ln f of
   * the alias item], the last three float32 bits.
   */
  entries: Int32Array;
}

/** The tables for item weights f (>= 0, finite, not all zero), all in shared memory. */
export function popularityTables(f: Float64Array): PopularityTables {
  const n = f.length;
  const lnf = sharedFloat32(n);
  let total = 0;
  let fMax = 0;
  for (let k = 0; k < n; k++) {
    const w = f[k]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`popularity weights must be finite and >= 0 (item ${k}: ${w})`);
    lnf[k] = Math.log(w);
    total += w;
    fMax = Math.max(fMax, w);
  }
  if (!(total > 0)) throw new RangeError('popularity weights sum to zero');
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  fillAlias(f, 0, n, prob, alias, new Float64Array(n), new Int32Array(n), new Int32Array(n));
  const entries = sharedInt32(4 * n);
  const asFloat = new Float32Array(entries.buffer, entries.byteOffset, entries.length);
  for (let k = 0; k < n; k++) {
    entries[4 * k] = alias[k]!;
    asFloat[4 * k + 1] = prob[k]!;
    asFloat[4 * k + 2] = lnf[k]!;
    asFloat[4 * k + 3] = lnf[alias[k]!]!;
  }
  return { f: toShared(f), lnf, total, fMax, entries };
}

/** Users whose positives hold more than this share of the proposal mass are skipped (acceptance < 1e-4). */
export const MAX_POSITIVE_MASS_SHARE = 1 - 1e-4;

/**
 * Algorithm 2: draw from P_Q(j) = f_j / sum f over all items and reject the
 * user's positives: exactly Q^P of Eq. 9. ln Q~(j) = ln f_j gives Eq. 10.
 * Items with f_j = 0 (no training interaction) are never drawn.
 */
export class PopularitySampler extends ItemSampler {
  constructor(
    private readonly t: PopularityTables,
    kern: Kernels,
  ) {
    super(t.f.length, t.entries, kern);
  }
  beginUser(_u: number, pos: Int32Array, from: number, to: number): boolean {
    this.bits.set(pos, from, to);
    // Most users hold far less than the bound even at f_max each: no need to read f per positive.
    if ((to - from) * this.t.fMax < this.t.total * MAX_POSITIVE_MASS_SHARE) return true;
    let posMass = 0;
    for (let k = from; k < to; k++) posMass += this.t.f[pos[k]!]!;
    return posMass < this.t.total * MAX_POSITIVE_MASS_SHARE;
  }
}
