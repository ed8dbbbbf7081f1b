import type { Kernels } from '../kernels/wasm.js';
import { ItemSampler } from './item-sampler.js';

/**
 * Algorithm 1: uniform over all items, rejecting the user's positives, which is
 * exactly uniform over the user's non-positives (Eq. 7). ln Q~ is constant, so
 * the weights are softmax(x_j) (Eq. 8).
 */
export class UniformSampler extends ItemSampler {
  constructor(nItems: number, kern: Kernels) {
    super(nItems, undefined, kern);
  }
  beginUser(_u: number, pos: Int32Array, from: number, to: number): boolean {
    this.bits.set(pos, from, to);
    return to - from < this.nItems;
  }
}
