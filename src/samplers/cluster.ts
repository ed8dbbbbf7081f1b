import type { RngState } from '../kernels/rng.js';
import type { Kernels } from '../kernels/wasm.js';
import { acquireVersion, inSharedMemory, releaseReader, sharedFloat32, sharedFloat64, sharedInt32, sharedUint32 } from '../memory/shared.js';
import { halfOf, type ClusterHalf, type ClusterTables } from '../cluster/tables.js';
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
 * Eq. 13 / 15. Both steps run in the kernels (groupTable, clusterDraw): in
 * JavaScript the per-negative indirections cost twice the SGD step's share.
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
  /** kernel scratch: the user's positives' mass and drawable count per cluster */
  private readonly removed: Float64Array;
  private readonly removedAlive: Int32Array;
  /** the user's positives, copied here when the caller's array is not in shared memory (tests) */
  private posCopy: Int32Array;
  /** the caller's generator state, copied in and out around each kernel call */
  private readonly rngState: Uint32Array;
  // Kernel pointer arguments, read once: a typed array's byteOffset is a slow getter.
  private readonly pRng: number;
  private readonly pUser: number;
  private readonly pScores: number;
  private readonly pLeft: number;
  private readonly pCdf: number;
  private readonly pGuide: number;
  private readonly pLnf: number;
  private readonly pMask: number;
  private readonly pF: number;
  private readonly pRemoved: number;
  private readonly pRemovedAlive: number;
  // ... and those of the published half in use
  private pCenters = 0;
  private pLabels = 0;
  private pMass = 0;
  private pAlive = 0;
  private pPtr = 0;
  private pEntries = 0;
  // ... and the caller's positives array (the same every call in training; 0: not in shared memory)
  private posSeen: Int32Array | undefined;
  private pPos = 0;
  // ... and the caller's output arrays (usually the same every call)
  private negs: Int32Array | undefined;
  private lnq: Float32Array | undefined;
  private pNegs = 0;
  private pLnq = 0;
  private half: ClusterHalf | undefined;
  private total = 0;
  private usingBase = false;

  constructor(
    private readonly popularity: boolean,
    private readonly t: ClusterTables,
    private readonly base: NegativeSampler,
    user: Float32Array,
    private readonly kern: Kernels,
    private readonly reader: number,
    pop: PopularityTables | undefined,
  ) {
    const k = t.k;
    this.mask = new PositiveMask(t.nItems);
    this.scores = sharedFloat32(k);
    this.left = sharedFloat32(k);
    this.cdf = sharedFloat32(k);
    this.guide = sharedInt32(k);
    this.removed = sharedFloat64(k);
    this.removedAlive = sharedInt32(k);
    this.posCopy = sharedInt32(0);
    this.rngState = sharedUint32(4);
    this.pRng = this.rngState.byteOffset;
    this.pUser = user.byteOffset;
    this.pScores = this.scores.byteOffset;
    this.pLeft = this.left.byteOffset;
    this.pCdf = this.cdf.byteOffset;
    this.pGuide = this.guide.byteOffset;
    this.pLnf = pop ? pop.lnf.byteOffset : 0;
    this.pMask = this.mask.mark.byteOffset;
    this.pF = pop ? pop.f.byteOffset : 0;
    this.pRemoved = this.removed.byteOffset;
    this.pRemovedAlive = this.removedAlive.byteOffset;
    if (popularity && !pop) throw new Error('cluster-popularity needs popularity tables');
    if (pop && !(inSharedMemory(pop.f) && inSharedMemory(pop.lnf))) throw new Error('cluster samplers: popularity tables must be in shared memory');
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
    if (h !== this.half) {
      this.half = h;
      this.pCenters = h.centers.byteOffset;
      this.pLabels = h.labels.byteOffset;
      this.pMass = h.mass.byteOffset;
      this.pAlive = h.alive.byteOffset;
      this.pPtr = h.ptr.byteOffset;
      this.pEntries = h.entries.byteOffset;
    }
    const k = this.t.k;
    const d = this.t.dim;
    this.mask.set(pos, from, to);
    if (pos !== this.posSeen) this.positivesFrom(pos);
    const pPos = this.pPos === 0 ? this.copyPositives(pos, from, to) : this.pPos + from * 4;
    this.kern.groupLeft(pPos, to - from, this.pLabels, this.pF, this.pMass, this.pAlive, k, this.pLeft, this.pRemoved, this.pRemovedAlive);
    this.total = this.kern.groupTable(
      this.pUser + u * d * 4, this.pCenters, k, d, this.pLeft, this.pScores, this.pCdf, this.pGuide,
    );
    return this.total > 0;
  }

  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows = 1, lnqStride = L): void {
    if (this.usingBase) {
      const d0 = this.base.draws;
      this.base.draw(rng, L, negs, lnq, rows, lnqStride);
      this.draws += this.base.draws - d0;
      this.accepted += rows * L;
      return;
    }
    if (negs !== this.negs || lnq !== this.lnq) this.target(negs, lnq);
    const st = this.rngState;
    st[0] = rng[0]!;
    st[1] = rng[1]!;
    st[2] = rng[2]!;
    st[3] = rng[3]!;
    this.draws += this.kern.clusterDraw(
      this.pRng, rows, L, lnqStride, this.total, this.t.k, this.pCdf, this.pGuide, this.pScores, this.pPtr, this.pEntries,
      this.popularity ? 1 : 0, this.pLnf, this.pMask, this.mask.stamp, this.pNegs, this.pLnq,
    );
    rng[0] = st[0]!;
    rng[1] = st[1]!;
    rng[2] = st[2]!;
    rng[3] = st[3]!;
    this.accepted += rows * L;
  }

  private positivesFrom(pos: Int32Array): void {
    this.posSeen = pos;
    this.pPos = inSharedMemory(pos) ? pos.byteOffset : 0;
  }

  /** pos[from..to) into the sampler's own shared array; returns its address. */
  private copyPositives(pos: Int32Array, from: number, to: number): number {
    if (this.posCopy.length < to - from) this.posCopy = sharedInt32(to - from);
    for (let q = from; q < to; q++) this.posCopy[q - from] = pos[q]!;
    return this.posCopy.byteOffset;
  }

  /** The kernel writes the caller's arrays in place: they must be in shared memory. */
  private target(negs: Int32Array, lnq: Float32Array): void {
    if (!inSharedMemory(negs) || !inSharedMemory(lnq)) throw new Error('ClusterSampler.draw: negs and lnq must be allocated in shared memory');
    this.negs = negs;
    this.lnq = lnq;
    this.pNegs = negs.byteOffset;
    this.pLnq = lnq.byteOffset;
  }

  /** End of a task: this worker no longer reads any published version. */
  release(): void {
    releaseReader(this.t.vc, this.reader);
  }
}
