import { nextFloat, type RngState } from '../kernels/rng.js';
import type { Kernels } from '../kernels/wasm.js';
import { sharedFloat32 } from '../memory/shared.js';
import { PositiveMask, type NegativeSampler } from './sampler.js';

/**
 * The exact sampler: Q(j) = P(j|u) = softmax over the user's non-positive
 * items of x_uj (Eq. 2), with the scores of the user's embedding at the start
 * of the visit. Every item is scored once per user visit, so a visit costs
 * O(N d): a reference for the cluster samplers, practical on small catalogues.
 * ln Q~(j) = x_uj. With `maskTop` > 0, the user's `maskTop` highest-scored
 * non-positive items are excluded too (the authors' guard against false
 * negatives; off by default).
 */
export class ExactSampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  private readonly mask: PositiveMask;
  private readonly scores: Float32Array;
  private readonly cdf: Float64Array;
  private total = 0;
  private shift = 0;

  constructor(
    private readonly nItems: number,
    private readonly dim: number,
    private readonly user: Float32Array,
    private readonly item: Float32Array,
    private readonly kern: Kernels,
    private readonly maskTop: number,
  ) {
    this.mask = new PositiveMask(nItems);
    this.scores = sharedFloat32(nItems);
    this.cdf = new Float64Array(nItems);
  }

  beginUser(u: number, pos: Int32Array, from: number, to: number): boolean {
    const n = this.nItems;
    this.mask.set(pos, from, to);
    this.kern.scoreRows(this.user.byteOffset + u * this.dim * 4, this.item.byteOffset, n, this.dim, this.scores.byteOffset);
    const s = this.scores;
    const mask = this.mask;
    if (this.maskTop > 0) this.maskHighest();
    let mx = -Infinity;
    for (let j = 0; j < n; j++) if (!mask.has(j) && s[j]! > mx) mx = s[j]!;
    if (mx === -Infinity) return false;
    let acc = 0;
    for (let j = 0; j < n; j++) {
      if (!mask.has(j)) acc += Math.exp(s[j]! - mx);
      this.cdf[j] = acc;
    }
    this.total = acc;
    this.shift = mx;
    return true;
  }

  lnMass(): number {
    return Math.log(this.total) + this.shift;
  }

  /** Adds the maskTop best-scored non-positives to the mask (a simple partial selection). */
  private maskHighest(): void {
    const s = this.scores;
    for (let t = 0; t < this.maskTop; t++) {
      let arg = -1;
      let top = -Infinity;
      for (let j = 0; j < this.nItems; j++) {
        if (!this.mask.has(j) && s[j]! > top) {
          top = s[j]!;
          arg = j;
        }
      }
      if (arg < 0) return;
      this.mask.mark[arg] = this.mask.stamp;
    }
  }

  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows = 1, lnqStride = L): void {
    const cdf = this.cdf;
    for (let row = 0; row < rows; row++) {
      for (let l = 0; l < L; l++) {
        const r = nextFloat(rng) * this.total;
        let lo = 0;
        let hi = this.nItems - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid]! > r) hi = mid;
          else lo = mid + 1;
        }
        negs[row * L + l] = lo;
        lnq[row * lnqStride + l] = this.scores[lo]!;
      }
    }
    this.draws += rows * L;
    this.accepted += rows * L;
  }
}
