import type { Csr } from '../data/csr.js';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, adamStepSize } from '../kernels/codes.js';
import { nextInt, type RngState } from '../kernels/rng.js';
import { paddedNegatives, scratchFloats, type Kernels } from '../kernels/wasm.js';
import { sharedFloat32, sharedInt32 } from '../memory/shared.js';
import type { Model } from '../model/store.js';
import type { NegativeSampler } from '../samplers/sampler.js';

/**
 * Jointly learned clustering (section 4.3). Parameters: the bilinear
 * similarity W (d x d), w_C (d) and the codewords C (K x d), in one block
 * [W | w_C | C] with its own Adam. For an item embedding v (stop-gradient):
 *
 *   s_k = 1/2 v'W c_k + w_C'c_k,   y = argmax_k s_k   (Eq. 16),   bhat = softmax(s / T)   (Eq. 17)
 *
 * The codeword c_y stands for v: straight-through, b = onehot(y) + bhat -
 * stop_gradient(bhat) and codeword = C b, so c_y forward and the soft
 * assignment's gradient backward. The cluster loss L^C is the PRIS loss (Eq. 6) of one sample with
 * the scores r = u . c_y (user with stop-gradient), plus a distillation term
 * `distill * ||v - c_y||^2` per item and an activity penalty `reg/2 ||c_y||^2`,
 * as in the authors' code. It is trained on samples of the training data
 * with negatives from the current sampler, in mini-batches, by the clustering
 * worker alone: the SGD workers never touch these parameters.
 */
export interface JointState {
  k: number;
  dim: number;
  /** [W (d*d) | w_C (d) | C (K*d)] and its Adam moments and gradient sum */
  params: Float32Array;
  mom1: Float32Array;
  mom2: Float32Array;
  grad: Float32Array;
  /** Adam steps taken, [0] */
  steps: Int32Array;
  /** 1 once the codewords have been initialised */
  ready: Int32Array;
}

export function createJointState(k: number, d: number): JointState {
  const n = d * d + d + k * d;
  return {
    k,
    dim: d,
    params: sharedFloat32(n),
    mom1: sharedFloat32(n),
    mom2: sharedFloat32(n),
    grad: sharedFloat32(n),
    steps: sharedInt32(1),
    ready: sharedInt32(1),
  };
}

export const offsets = (d: number) => ({ W: 0, wC: d * d, C: d * d + d });

export interface JointOptions {
  loss: number;
  negatives: number;
  temperature: number;
  lr: number;
  batch: number;
  distill: number;
  reg: number;
}

/** The worker-local machinery around a JointState: scratch, derived A and beta, the training loop. */
export class JointLearner {
  private readonly d: number;
  private readonly k: number;
  private readonly A: Float32Array;
  private readonly beta: Float32Array;
  private readonly negBeta: Float32Array;
  private readonly bhat: Float32Array;
  private readonly items: Int32Array;
  private readonly ys: Int32Array;
  private readonly lnq: Float32Array;
  private readonly out: Float32Array;
  private readonly g: Float32Array;
  private readonly sc: Float32Array;
  private readonly ds: Float32Array;
  private readonly z: Float32Array;
  private readonly q: Float32Array;
  private readonly negs: Int32Array;
  private inBatch = 0;
  private temperature: number;
  lossSum = 0;
  samples = 0;

  constructor(
    private readonly s: JointState,
    private readonly kern: Kernels,
    private readonly model: Model,
    private readonly train: Csr,
    private readonly opts: JointOptions,
  ) {
    const d = s.dim;
    const k = s.k;
    const L = opts.negatives;
    this.d = d;
    this.k = k;
    this.A = sharedFloat32(k * d);
    this.beta = sharedFloat32(k);
    this.negBeta = sharedFloat32(k);
    this.bhat = sharedFloat32((L + 1) * k);
    this.items = sharedInt32(L + 1);
    this.ys = sharedInt32(L);
    this.lnq = sharedFloat32(paddedNegatives(L));
    this.out = sharedFloat32((L + 2) * d);
    this.g = sharedFloat32(d);
    this.sc = sharedFloat32(scratchFloats(d, L));
    this.ds = sharedFloat32(k);
    this.z = sharedFloat32(d);
    this.q = sharedFloat32(d);
    this.negs = sharedInt32(L);
    this.temperature = opts.temperature;
    this.refreshDerived();
  }

  setTemperature(T: number): void {
    this.temperature = T;
  }

  /** Codewords from given centers (K-means), W = 2I so that s_k = v . c_k, w_C = 0. */
  initialise(centers: Float32Array): void {
    const { W, wC, C } = offsets(this.d);
    const p = this.s.params;
    p.fill(0, W, C);
    for (let a = 0; a < this.d; a++) p[W + a * this.d + a] = 2;
    void wC;
    p.set(centers.subarray(0, this.k * this.d), C);
    this.s.mom1.fill(0);
    this.s.mom2.fill(0);
    this.s.grad.fill(0);
    this.s.steps[0] = 0;
    this.s.ready[0] = 1;
    this.refreshDerived();
  }

  /** A_k = 1/2 W c_k (so s_k = v . A_k + beta_k) and beta_k = w_C . c_k. */
  private refreshDerived(): void {
    const d = this.d;
    const { W, wC, C } = offsets(d);
    const p = this.s.params;
    // A (K x d): row k, column a = 1/2 W[a] . c_k: codeword k scored against W's rows.
    for (let c = 0; c < this.k; c++) this.kern.scoreRows(p.byteOffset + (C + c * d) * 4, p.byteOffset + W * 4, d, d, this.A.byteOffset + c * d * 4);
    for (let x = 0; x < this.A.length; x++) this.A[x]! *= 0.5;
    this.kern.scoreRows(p.byteOffset + wC * 4, p.byteOffset + C * 4, this.k, d, this.beta.byteOffset);
    // assignNearest maximises x . c_k - halfNorm[k]: with A as the centers, halfNorm = -beta.
    for (let c = 0; c < this.k; c++) this.negBeta[c] = -this.beta[c]!;
  }

  /** Hard assignment of every item: labels[j] = argmax_k s_k(v_j) = argmax_k (v_j . A_k + beta_k). */
  assign(labels: Int32Array, best: Float32Array): void {
    const m = this.model;
    this.kern.assignNearest(m.item.byteOffset, m.nItems, this.A.byteOffset, this.k, this.d, this.negBeta.byteOffset, labels.byteOffset, best.byteOffset);
  }

  codewords(): Float32Array {
    const { C } = offsets(this.d);
    return this.s.params.subarray(C, C + this.k * this.d);
  }

  /** Trains on `count` samples: a random training interaction and L negatives from `sampler`. */
  run(count: number, sampler: NegativeSampler, rng: RngState): void {
    const { indptr, indices } = this.train;
    const nnz = indptr[this.train.nUsers]!;
    const L = this.opts.negatives;
    for (let t = 0; t < count; t++) {
      const e = nextInt(rng, nnz);
      // The user owning interaction e: the last u with indptr[u] <= e.
      let lo = 0;
      let hi = this.train.nUsers - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (indptr[mid]! <= e) lo = mid;
        else hi = mid - 1;
      }
      const u = lo;
      if (!sampler.beginUser(u, indices, indptr[u]!, indptr[u + 1]!)) continue;
      sampler.draw(rng, L, this.negs, this.lnq);
      this.items[0] = indices[e]!;
      this.items.set(this.negs, 1);
      this.step(u);
      if (++this.inBatch === this.opts.batch) this.apply();
    }
  }

  private step(u: number): void {
    const d = this.d;
    const k = this.k;
    const L = this.opts.negatives;
    const kern = this.kern;
    const invT = 1 / this.temperature;
    const p = this.s.params;
    const { W, wC, C } = offsets(d);
    const V = this.model.item;
    const rb = d * 4;
    let yi = 0;
    for (let x = 0; x <= L; x++) {
      const y = kern.jointForward(V.byteOffset + this.items[x]! * rb, this.A.byteOffset, this.beta.byteOffset, k, d, invT, this.bhat.byteOffset + x * k * 4);
      if (x === 0) yi = y;
      else this.ys[x - 1] = y;
    }
    // PRIS loss on the codeword scores: gradients w.r.t. each item's codeword land in out[(1 + x) d ..].
    const uPtr = this.model.user.byteOffset + u * rb;
    this.lossSum += kern.sampleGrads(this.opts.loss, d, L, this.opts.reg, uPtr, p.byteOffset + C * 4, yi, this.ys.byteOffset, this.lnq.byteOffset, this.sc.byteOffset, this.out.byteOffset);
    this.samples++;
    const gr = this.s.grad;
    const two = 2 * this.opts.distill;
    for (let x = 0; x <= L; x++) {
      const y = x === 0 ? yi : this.ys[x - 1]!;
      const vo = this.items[x]! * d;
      const co = C + y * d;
      for (let a = 0; a < d; a++) this.g[a] = this.out[(1 + x) * d + a]! + two * (p[co + a]! - V[vo + a]!);
      kern.jointBackward(
        V.byteOffset + vo * 4, y, this.g.byteOffset, this.bhat.byteOffset + x * k * 4,
        p.byteOffset + C * 4, p.byteOffset + W * 4, p.byteOffset + wC * 4, k, d, invT,
        gr.byteOffset + C * 4, gr.byteOffset + W * 4, gr.byteOffset + wC * 4,
        this.ds.byteOffset, this.z.byteOffset, this.q.byteOffset,
      );
    }
  }

  /** One Adam step on the mean gradient of the batch, then the derived A and beta. */
  apply(): void {
    if (this.inBatch === 0) return;
    const st = this.s;
    const t = ++st.steps[0]!;
    const lrT = adamStepSize(this.opts.lr, t);
    this.kern.adamDense(st.params.byteOffset, st.mom1.byteOffset, st.mom2.byteOffset, st.grad.byteOffset, st.params.length, lrT, ADAM_BETA1, ADAM_BETA2, ADAM_EPS, 1 / this.inBatch);
    this.inBatch = 0;
    this.refreshDerived();
  }
}
