import { nextFloat, nextInt, type RngState } from '../kernels/rng.js';
import type { Kernels } from '../kernels/wasm.js';
import { acquireVersion, releaseReader, sharedFloat32, sharedInt32 } from '../memory/shared.js';
import { halfOf, type ClusterHalf, type ClusterTables } from '../cluster/tables.js';
import { drawAliasSegment } from './alias.js';
import type { PopularityTables } from './popularity.js';
import { PositiveMask, type NegativeSampler } from './sampler.js';

/**
 * Cluster-uniform (Algorithm 3, Eq. 12) and cluster-popularity (Algorithm 4,
 * Eq. 14) sampling. Per user visit: the score of each cluster center,
 * x_uk = u . c_k, and the mass left in each cluster once the user's positives
 * are removed, N^k - N_u^k (or P_Q(I^k) - P_Q(I_u^k)), give the group
 * probabilities of Theorems 4.4 / 4.5 (max-shifted before exp). Per negative: a
 * group through a guide table over their cumulative sums, then an item of the group
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
  /** per user: mass left per cluster, cumulative group weights, guide table (kernel arguments) */
  private readonly left: Float32Array;
  private readonly cdf: Float32Array;
  private readonly guide: Int32Array;
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
    this.left = sharedFloat32(k);
    this.cdf = sharedFloat32(k);
    this.guide = sharedInt32(k);
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

    // Mass left in each cluster once the user's positives are removed (zero
    // where no drawable item is left).
    const left = this.left;
    const removed = this.removed;
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
      if (w > 0) {
        removed[c]! += w;
        this.removedAlive[c]!++;
      }
    }
    for (let c = 0; c < k; c++) left[c] = h.mass[c]!;
    for (let q = 0; q < nt; q++) {
      const c = this.touched[q]!;
      // In float64, then rounded once: the mass left can be a small difference of large sums.
      const rest = h.mass[c]! - removed[c]!;
      left[c] = h.alive[c]! - this.removedAlive[c]! > 0 && rest > 0 ? rest : 0;
      removed[c] = 0;
      this.removedAlive[c] = 0;
      this.isTouched[c] = 0;
    }
    this.total = this.kern.groupTable(
      this.user.byteOffset + u * d * 4, h.centers.byteOffset, k, d,
      left.byteOffset, this.scores.byteOffset, this.cdf.byteOffset, this.guide.byteOffset,
    );
    return this.total > 0;
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
    const guide = this.guide;
    const k = this.t.k;
    const mask = this.mask;
    const lnf = this.pop?.lnf;
    let draws = 0;
    for (let l = 0; l < L; l++) {
      // Group: the first c with cdf[c] > r, from the guide table's start.
      const u01 = nextFloat(rng);
      const r = u01 * this.total;
      let c = guide[Math.floor(u01 * k)]!;
      while (cdf[c]! <= r && c < k - 1) c++;
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
