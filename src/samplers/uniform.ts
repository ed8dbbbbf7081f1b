import { nextInt, type RngState } from '../kernels/rng.js';
import { PositiveMask, type NegativeSampler } from './sampler.js';

/**
 * Algorithm 1: uniform over all items, rejecting the user's positives, which is
 * exactly uniform over the user's non-positives (Eq. 7). ln Q~ is constant, so
 * the weights are softmax(x_j) (Eq. 8).
 */
export class UniformSampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  private readonly mask: PositiveMask;
  constructor(private readonly nItems: number) {
    this.mask = new PositiveMask(nItems);
  }
  private left = 0;
  beginUser(_u: number, pos: Int32Array, from: number, to: number): boolean {
    this.mask.set(pos, from, to);
    this.left = this.nItems - (to - from);
    return this.left > 0;
  }
  lnMass(): number {
    return Math.log(this.left);
  }
  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows = 1, lnqStride = L): void {
    const n = this.nItems;
    const mask = this.mask;
    let draws = 0;
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < L; l++) {
        let j: number;
        do {
          j = nextInt(rng, n);
          draws++;
        } while (mask.has(j));
        negs[r * L + l] = j;
        lnq[r * lnqStride + l] = 0;
      }
    }
    this.draws += draws;
    this.accepted += rows * L;
  }
}
