import type { Model } from '../model/store.js';

/**
 * Scores a block of users against every item. Evaluation and recommendation
 * are both "all scores of a block of users, then per-user work on each row",
 * so the kernel behind this interface is the only place that knows about
 * memory layout and SIMD.
 */
export interface BlockScorer {
  readonly kind: ScorerKind;
  /** Most users one `score` call accepts. */
  readonly maxUsers: number;
  /**
   * Takes the current item table. Call once per evaluation: training changes
   * the model between evaluations, and a kernel may keep its own copy, or
   * read `packed`, the table already in its layout (one copy for every thread).
   */
  loadItems(model: Model, packed?: Float32Array): void;
  /**
   * Scores `users[0..n)` against all items. Row b (user `users[b]`) is
   * `result[b * stride .. b * stride + nItems)`; the row is writable scratch
   * (the caller masks excluded items in place) and is overwritten by the
   * next call (for the wasm scorer: the next call of any wasm scorer of the
   * thread, which share one set of buffers in the shared memory).
   */
  score(model: Model, users: Int32Array, n: number): Float32Array;
  /** Row stride of the score matrix, in floats (>= nItems). */
  readonly stride: number;
  /**
   * Optional: computes, for the rows of the last scored block as they are
   * now (call it after masking), the maximum of every run of `chunkItems`
   * scores, NaN ignored; row b's chunks start at b * stride / chunkItems.
   * Top-K relies on them being exact maxima to skip chunks.
   */
  chunkMaxima?(): Float32Array;
  readonly chunkItems?: number;
  /**
   * Optional: in row `row` of the last scored block, counts entries below
   * and equal to `t` into `below`/`equal` (NaN entries count in neither).
   */
  countBelowEqual?(row: number, t: number): void;
  readonly below?: number;
  readonly equal?: number;
}

export type ScorerKind = 'wasm' | 'js';
