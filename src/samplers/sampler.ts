import type { RngState } from '../kernels/rng.js';
import { inSharedMemory, sharedUint32, sharedInt32 } from '../memory/shared.js';

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

/**
 * The current user's positives as a bitset (bit j of word j >> 5): 48 KB
 * for 384 K items, so the kernels' check stays in L1/L2 where a stamp per
 * item (1.5 MB) misses. The positives set are remembered and their words
 * zeroed at the next user (every bit set in those words is one of theirs).
 * In shared memory, so sampling kernels can read it.
 */
export class PositiveBits {
  readonly words: Uint32Array;
  private held = new Int32Array(64);
  private n = 0;
  constructor(nItems: number) {
    this.words = sharedUint32((nItems + 31) >>> 5);
  }
  set(pos: Int32Array, from: number, to: number): void {
    const w = this.words;
    for (let k = 0; k < this.n; k++) w[this.held[k]! >>> 5] = 0;
    if (to - from > this.held.length) this.held = new Int32Array(Math.max(to - from, 2 * this.held.length));
    const held = this.held;
    for (let k = from; k < to; k++) {
      const j = pos[k]!;
      held[k - from] = j;
      w[j >>> 5]! |= 1 << (j & 31);
    }
    this.n = to - from;
  }
  has(j: number): boolean {
    return ((this.words[j >>> 5]! >>> (j & 31)) & 1) === 1;
  }
}

/** The kernels read and write the caller's arrays in place: they must live in the shared memory. */
export function kernelAddress(a: Int32Array | Float32Array, who: string, name: string): number {
  if (!inSharedMemory(a)) throw new Error(`${who}: ${name} must be allocated in shared memory`);
  return a.byteOffset;
}

/**
 * The addresses of a caller's negs and lnq arrays for a sampling kernel,
 * looked up (and checked) again only when the arrays change: the same
 * arrays come back every call in training.
 */
export class DrawTargets {
  private negs: Int32Array | undefined;
  private lnq: Float32Array | undefined;
  pNegs = 0;
  pLnq = 0;
  constructor(private readonly who: string) {}
  use(negs: Int32Array, lnq: Float32Array): void {
    if (negs !== this.negs) this.pNegs = kernelAddress((this.negs = negs), this.who, 'negs');
    if (lnq !== this.lnq) this.pLnq = kernelAddress((this.lnq = lnq), this.who, 'lnq');
  }
}

/**
 * A kernel-side copy of the caller's generator state: copied in before a
 * sampling kernel runs and back after, so the draws continue the worker's
 * stream exactly.
 */
export class KernelRng {
  private readonly state = sharedUint32(4);
  readonly address = this.state.byteOffset;
  load(rng: RngState): void {
    const st = this.state;
    st[0] = rng[0]!;
    st[1] = rng[1]!;
    st[2] = rng[2]!;
    st[3] = rng[3]!;
  }
  store(rng: RngState): void {
    const st = this.state;
    rng[0] = st[0]!;
    rng[1] = st[1]!;
    rng[2] = st[2]!;
    rng[3] = st[3]!;
  }
}
