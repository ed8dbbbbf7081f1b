import type { RngState } from '../kernels/rng.js';
import { sharedInt32 } from '../memory/shared.js';

/**
 * One interface for every negative sampler (uniform, popularity, the cluster
 * samplers, exact). A sampler instance belongs to one worker: its state and
 * counters are never shared.
 *
 * Per user visit the trainer calls `beginUser` once (the user's positives are
 * walked together, so user-dependent work such as cluster probabilities is done
 * once per visit), then `draw` once per positive.
 */
export interface NegativeSampler {
  /**
   * Prepares the proposal for user `u` (whose current embedding the sampler may
   * read from the shared model), whose positives are `pos[from..to)`. Returns false when the user has
   * no item left to draw (every item, or all the proposal's mass, is positive);
   * the trainer then skips the user and counts it.
   */
  beginUser(u: number, pos: Int32Array, from: number, to: number): boolean;
  /**
   * Draws `rows` (default 1) sets of L negatives, none of them a positive of
   * the current user: set r into `negs[r*L .. r*L+L)` and the log of each
   * one's unnormalised proposal probability ln Q~(j) into
   * `lnq[r*lnqStride ..)` (stride default L; any per-user constant may be
   * dropped: the weights are normalised over the L draws). Drawing a user's
   * sets in one call is the same stream of draws as one call per set.
   * Kernel-backed samplers (the cluster samplers) read `pos` and write these
   * arrays in place: all three must live in the shared memory
   * (src/memory/shared.ts).
   */
  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows?: number, lnqStride?: number): void;
  /**
   * ln Z_Q: the log of the proposal's total unnormalised mass over the current
   * user's non-positives, in the units of lnq, so ln Q(j) = lnq_j - ln Z_Q
   * (after beginUser; the softmax loss needs it, the others do not).
   */
  lnMass(): number;
  /** End of a task (an epoch's shard): drop any hold on shared published state. */
  release?(): void;
  /** Raw candidates drawn, and negatives accepted, since creation. */
  draws: number;
  accepted: number;
}

/**
 * Membership test for the current user's positives in O(1): mark[j] holds the
 * visit stamp of the last user who has j as a positive. No clearing per user.
 * In shared memory, so sampling kernels can read it.
 */
export class PositiveMask {
  readonly mark: Int32Array;
  stamp = 0;
  constructor(nItems: number) {
    this.mark = sharedInt32(nItems);
  }
  set(pos: Int32Array, from: number, to: number): void {
    if (++this.stamp === 0x7fffffff) {
      this.mark.fill(0);
      this.stamp = 1;
    }
    const s = this.stamp;
    const m = this.mark;
    for (let k = from; k < to; k++) m[pos[k]!] = s;
  }
  has(j: number): boolean {
    return this.mark[j] === this.stamp;
  }
}
