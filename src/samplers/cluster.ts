import { nextFloat, nextInt, type RngState } from '../kernels/rng.js';
import type { Kernels } from '../kernels/wasm.js';
import { acquireVersion, releaseReader, sharedFloat32 } from '../memory/shared.js';
import { halfOf, type ClusterHalf, type ClusterTables } from '../cluster/tables.js';
import { drawAliasSegment } from './alias.js';
import type { PopularityTables } from './popularity.js';
import { PositiveMask, type NegativeSampler } from './sampler.js';

/**
 * Cluster-uniform (Algorithm 3, Eq. 12) and cluster-popularity (Algorithm 4,
 * Eq. 14) sampling. Per user visit: the score of each cluster center,
 * x_uk = u . c_k, and the mass left in each cluster once the user's positives
 * are removed, N^k - N_u^k (or P_Q(I^k) - P_Q(I_u^k)), give the group
 * probabilities of Theorems 4.4 / 4.5, computed in log space. Per negative: a
 * group by bisection of their cumulative sums, then an item of the group
 * (uniformly, or by popularity through the group's alias table), rejecting
 * the user's positives. ln Q~(j) = x_u,y_j (+ ln f_j) enters the weights of
 * Eq. 13 / 15.
 *
 * Until the clustering worker has published a first version, the base
 * sampler (uniform or popularity) is used, as in the authors' code.
 */
export class ClusterSampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  private readonly mask: PositiveMask;
  private readonly scores: Float32Array;
  private readonly cdf: Float64Array;
  private readonly removed: Float64Array;
  private readonly removedAlive: Int32Array;
  private readonly isTouched: Uint8Array;
  private readonly touched: Int32Array;
  private half: ClusterHalf | undefined;
  private total = 0;
  private usingBase = false;

  constructor(
    private readonly popularity: boolean,
    private readonly t: ClusterTables,
    private readonly base: NegativeSampler,
    private readonly user: Float32Array,
    private readonly kern: Kernels,
    private readonly reader: number,
    private readonly pop: PopularityTables | undefined,
  ) {
    const k = t.k;
    this.mask = new PositiveMask(t.nItems);
    this.scores = sharedFloat32(k);
    this.cdf = new Float64Array(k);
    this.removed = new Float64Array(k);
    this.removedAlive = new Int32Array(k);
    this.touched = new Int32Array(k);
    this.isTouched = new Uint8Array(k);
    if (popularity && !pop) throw new Error('cluster-popularity needs popularity tables');
  }

  beginUser(u: number, pos: Int32Array, from: number, to: number): boolean {
    const version = acquireVersion(this.t.vc, this.reader);
    if (version === 0) {
      this.usingBase = true;
      this.half = undefined;
      return this.base.beginUser(u, pos, from, to);
    }
    this.usingBase = false;
    const h = halfOf(this.t, version);
    this.half = h;
    const k = this.t.k;
    const d = this.t.dim;
    this.mask.set(pos, from, to);
    this.kern.scoreRows(this.user.byteOffset + u * d * 4, h.centers.byteOffset, k, d, this.scores.byteOffset);

    // Mass of the user's positives per cluster (only clusters they touch).
    let nt = 0;
    const f = this.pop?.f;
    for (let q = from; q < to; q++) {
      const j = pos[q]!;
      const c = h.labels[j]!;
      if (this.isTouched[c] === 0) {
        this.isTouched[c] = 1;
        this.touched[nt++] = c;
      }
      const w = f ? f[j]! : 1;
      this.removed[c]! += w;
      if (w > 0) this.removedAlive[c]!++;
    }
    // Group weights in log space: x_uk + ln(mass left), max-shifted before exp.
    let mx = -Infinity;
    for (let c = 0; c < k; c++) {
      const left = h.alive[c]! - this.removedAlive[c]!;
      const lw = left > 0 ? this.scores[c]! + Math.log(Math.max(h.mass[c]! - this.removed[c]!, Number.MIN_VALUE)) : -Infinity;
      this.cdf[c] = lw;
      if (lw > mx) mx = lw;
    }
    for (let q = 0; q < nt; q++) {
      const c = this.touched[q]!;
      this.removed[c] = 0;
      this.removedAlive[c] = 0;
      this.isTouched[c] = 0;
    }
    if (mx === -Infinity) return false;
    let acc = 0;
    for (let c = 0; c < k; c++) {
      acc += Math.exp(this.cdf[c]! - mx);
      this.cdf[c] = acc;
    }
    this.total = acc;
    return true;
  }

  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array): void {
    if (this.usingBase) {
      const d0 = this.base.draws;
      this.base.draw(rng, L, negs, lnq);
      this.draws += this.base.draws - d0;
      this.accepted += L;
      return;
    }
    const h = this.half!;
    const cdf = this.cdf;
    const k = this.t.k;
    const mask = this.mask;
    const lnf = this.pop?.lnf;
    let draws = 0;
    for (let l = 0; l < L; l++) {
      // Group: the first c with cdf[c] > r.
      const r = nextFloat(rng) * this.total;
      let lo = 0;
      let hi = k - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! > r) hi = mid;
        else lo = mid + 1;
      }
      const c = lo;
      const p0 = h.ptr[c]!;
      const size = h.ptr[c + 1]! - p0;
      let j: number;
      do {
        const q = this.popularity ? drawAliasSegment(h.aliasProb, h.aliasIdx, p0, size, rng) : nextInt(rng, size);
        j = h.members[p0 + q]!;
        draws++;
      } while (mask.has(j));
      negs[l] = j;
      lnq[l] = lnf ? this.scores[c]! + lnf[j]! : this.scores[c]!;
    }
    this.draws += draws;
    this.accepted += L;
  }

  /** End of a task: this worker no longer reads any published version. */
  release(): void {
    releaseReader(this.t.vc, this.reader);
  }
}
