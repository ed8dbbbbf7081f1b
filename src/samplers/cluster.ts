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
/** The kernels read and write the caller's arrays in place: they must live in the shared memory. */
function kernelAddress(a: Int32Array | Float32Array, name: string): number {
  if (!inSharedMemory(a)) throw new Error(`ClusterSampler: ${name} must be allocated in shared memory`);
  return a.byteOffset;
}

export class ClusterSampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  private readonly mask: PositiveMask;
  /** the caller's generator state, copied in and out around each kernel call */
  private readonly rngState: Uint32Array;
  // Kernel arguments are addresses, read once: a typed array's byteOffset is a
  // slow getter. The sampler's own shared scratch, known only by address: per
  // user the scores of the centers, the mass left per cluster, cumulative
  // group weights and guide table, and groupLeft's two K-slot sums.
  private readonly pRng: number;
  private readonly pUser: number;
  private readonly pScores: number;
  private readonly pLeft: number;
  private readonly pCdf: number;
  private readonly pGuide: number;
  private readonly pRemoved: number;
  private readonly pRemovedAlive: number;
  private readonly pMask: number;
  private readonly pF: number;
  private readonly pLnf: number;
  // ... those of the published half in use
  private pCenters = 0;
  private pLabels = 0;
  private pMass = 0;
  private pAlive = 0;
  private pPtr = 0;
  private pEntries = 0;
  // ... and those of the caller's arrays (the same every call in training)
  private pos: Int32Array | undefined;
  private negs: Int32Array | undefined;
  private lnq: Float32Array | undefined;
  private pPos = 0;
  private pNegs = 0;
  private pLnq = 0;
  private half: ClusterHalf | undefined;
  private total = 0;
  private lnTotal = 0;
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
    this.rngState = sharedUint32(4);
    this.pRng = this.rngState.byteOffset;
    this.pUser = user.byteOffset;
    this.pScores = sharedFloat32(k).byteOffset;
    this.pLeft = sharedFloat32(k).byteOffset;
    this.pCdf = sharedFloat32(k).byteOffset;
    this.pGuide = sharedInt32(k).byteOffset;
    this.pRemoved = sharedFloat64(k).byteOffset;
    this.pRemovedAlive = sharedInt32(k).byteOffset;
    this.pMask = this.mask.mark.byteOffset;
    this.pF = pop ? pop.f.byteOffset : 0;
    this.pLnf = pop ? pop.lnf.byteOffset : 0;
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
    if (pos !== this.pos) this.pPos = kernelAddress((this.pos = pos), 'pos');
    this.kern.groupLeft(this.pPos + from * 4, to - from, this.pLabels, this.pF, this.pMass, this.pAlive, k, this.pLeft, this.pRemoved, this.pRemovedAlive);
    this.total = this.kern.groupTable(
      this.pUser + u * d * 4, this.pCenters, k, d, this.pLeft, this.pScores, this.pCdf, this.pGuide,
    );
    this.lnTotal = Math.log(this.total) + this.kern.groupTableShift();
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
    if (negs !== this.negs) this.pNegs = kernelAddress((this.negs = negs), 'negs');
    if (lnq !== this.lnq) this.pLnq = kernelAddress((this.lnq = lnq), 'lnq');
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

  lnMass(): number {
    return this.usingBase ? this.base.lnMass() : this.lnTotal;
  }

  /** End of a task: this worker no longer reads any published version. */
  release(): void {
    releaseReader(this.t.vc, this.reader);
  }
}
