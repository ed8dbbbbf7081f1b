import { nextInt, nextGaussian, seedRng, shuffleRange } from '../kernels/rng.js';
import { paddedNegatives, scratchFloats, type Kernels } from '../kernels/wasm.js';
import { sharedFloat32, sharedInt32 } from '../memory/shared.js';
import type { Model } from '../model/store.js';

/**
 * Fold-in: a new user's embedding learned from their items with the item
 * embeddings held fixed, by the same PRIS loss the model was trained with
 * (implicit calls this recalculate_user). Negatives are drawn uniformly from
 * the items the user does not have (ln Q = 0, the paper's Eq. 8), the user
 * row follows row-wise Adagrad. Deterministic for a seed.
 */
export interface FoldInOptions {
  loss: number;
  negatives: number;
  lr: number;
  reg: number;
  /** passes over the user's items */
  epochs: number;
  seed: number;
}

/** Scratch for fold-ins in one arena, reused (allocated inside the model's arena by the caller). */
export class FoldIn {
  private readonly u: Float32Array;
  private readonly acc: Float32Array;
  private readonly negs: Int32Array;
  private readonly lnq: Float32Array;
  private readonly scratch: Float32Array;
  private readonly grads: Float32Array;
  private readonly mark: Int32Array;
  private stamp = 0;

  constructor(
    private readonly kern: Kernels,
    private readonly model: Model,
    readonly maxNegatives: number,
  ) {
    const d = model.dim;
    this.u = sharedFloat32(d);
    this.acc = sharedFloat32(1);
    this.negs = sharedInt32(maxNegatives);
    this.lnq = sharedFloat32(paddedNegatives(maxNegatives));
    this.scratch = sharedFloat32(scratchFloats(d, maxNegatives));
    this.grads = sharedFloat32((maxNegatives + 2) * d);
    this.mark = new Int32Array(model.nItems);
  }

  /** The user vector for `items` (item indices, duplicates ignored), written into `out`. */
  run(items: Int32Array, o: FoldInOptions, out: Float32Array): void {
    const { model, kern, u, acc, negs, lnq, scratch, grads, mark } = this;
    const d = model.dim;
    const n = model.nItems;
    const L = Math.min(o.negatives, this.maxNegatives);
    if (++this.stamp === 0x7fffffff) {
      mark.fill(0);
      this.stamp = 1;
    }
    const own = Int32Array.from(new Set(items));
    for (const i of own) mark[i] = this.stamp;
    if (own.length === 0 || own.length + L > n) throw new RangeError(`fold-in needs between 1 and ${n - L} distinct items (got ${own.length})`);
    const rng = seedRng(o.seed, 0xf01d);
    // A small random start: at zero every score ties and the first gradients are symmetric.
    const std = Math.sqrt(2 / (model.nUsers + d));
    for (let k = 0; k < d; k++) u[k] = nextGaussian(rng) * std;
    acc[0] = 0;
    lnq.fill(0);
    for (let e = 0; e < o.epochs; e++) {
      shuffleRange(rng, own, 0, own.length);
      for (const i of own) {
        for (let l = 0; l < L; l++) {
          let j: number;
          do j = nextInt(rng, n);
          while (mark[j] === this.stamp);
          negs[l] = j;
        }
        kern.sampleGrads(o.loss, d, L, o.reg, u.byteOffset, model.item.byteOffset, i, negs.byteOffset, lnq.byteOffset, scratch.byteOffset, grads.byteOffset);
        // Row-wise Adagrad on the user row only: the items stay as trained.
        let ss = 0;
        for (let k = 0; k < d; k++) ss += grads[k]! * grads[k]!;
        acc[0]! += ss / d;
        const step = o.lr / (Math.sqrt(acc[0]!) + 1e-8);
        for (let k = 0; k < d; k++) u[k]! -= step * grads[k]!;
      }
    }
    out.set(u);
  }
}
