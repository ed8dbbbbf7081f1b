import type { Kernels } from '../kernels/wasm.js';
import { sharedFloat32 } from '../memory/shared.js';
import type { Model } from '../model/store.js';
import { TopK } from './topk.js';

/**
 * The best items for one query vector (a folded-in user, an item for its
 * neighbours), scored against the whole item table by the kernel. Scores are
 * inner products, or cosines with `cosine` (item-to-item similarity, where an
 * item's length says how popular it is rather than how alike). Ties: lower
 * item index first, as everywhere in pris.
 */
export class QueryScorer {
  private readonly q: Float32Array;
  private readonly scores: Float32Array;
  private norms: Float32Array | undefined;

  /** Allocates in the current arena: construct inside the model's arena (withArena). */
  constructor(
    private readonly kern: Kernels,
    private readonly model: Model,
  ) {
    this.q = sharedFloat32(model.dim);
    this.scores = sharedFloat32(model.nItems);
  }

  private itemNorms(): Float32Array {
    if (this.norms) return this.norms;
    const { nItems, dim: d, item } = this.model;
    const norms = new Float32Array(nItems);
    for (let j = 0; j < nItems; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += item[j * d + k]! ** 2;
      norms[j] = Math.sqrt(s);
    }
    return (this.norms = norms);
  }

  /** The top `k` items for `query` (length d), leaving out `exclude` (item indices). */
  top(query: ArrayLike<number>, k: number, exclude: ArrayLike<number>, cosine: boolean): { items: number[]; scores: number[] } {
    const { nItems, dim: d } = this.model;
    this.q.set(query);
    this.kern.scoreRows(this.q.byteOffset, this.model.item.byteOffset, nItems, d, this.scores.byteOffset);
    const s = this.scores;
    if (cosine) {
      let qn = 0;
      for (let c = 0; c < d; c++) qn += this.q[c]! ** 2;
      qn = Math.sqrt(qn);
      const norms = this.itemNorms();
      // A zero vector is like nothing: it goes last rather than dividing by zero.
      for (let j = 0; j < nItems; j++) s[j] = norms[j]! > 0 && qn > 0 ? s[j]! / (norms[j]! * qn) : -2;
    }
    for (let x = 0; x < exclude.length; x++) s[exclude[x]!] = -Infinity;
    const topk = new TopK(Math.min(k, nItems));
    const n = topk.select(s, 0, nItems);
    return { items: Array.from(topk.items.subarray(0, n)), scores: Array.from(topk.scores.subarray(0, n)) };
  }
}
