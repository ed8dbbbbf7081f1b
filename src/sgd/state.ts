import type { SamplerKind, SamplerTables } from '../samplers/index.js';

/**
 * What an SGD worker reads besides the model and the training split: fixed
 * for the whole run, arena arrays or small plain values only. Given to
 * workers once, at pool start (src/pool).
 */
export interface SgdShared {
  dim: number;
  negatives: number;
  lossCode: number;
  reg: number;
  /** ccl only */
  margin: number;
  negativeWeight: number;
  /** per entry of the train CSR's indices: the positive's weight, which scales its step; absent = all 1 */
  posWeights?: Float32Array;
  sampler: SamplerKind;
  tables: SamplerTables;
  /** users of shard s are shardUsers[shardPtr[s] .. shardPtr[s+1]) */
  shardUsers: Int32Array;
  shardPtr: Int32Array;
  optCode: number;
  batchSize: number;
  /** adagrad: sum of squared gradients; adam: second moment. accWidth floats per row (d, 1 for adagrad-row, 0 for sgd). */
  userAcc: Float32Array;
  itemAcc: Float32Array;
  accWidth: number;
  /** adam: first moment (empty otherwise) */
  userMom: Float32Array;
  itemMom: Float32Array;
  /** adam: mini-batches applied so far by shard s, for the bias correction */
  adamSteps: Float64Array;
  /** [0]: positives done in the running epoch, for the progress bar */
  progress: Int32Array;
  /** [0] set to 1 asks every worker to stop its task at the next user (an interrupt); the epoch is then incomplete */
  abort: Int32Array;
}

/** One epoch of one shard: the only per-task message. */
export interface SgdTask {
  epoch: number;
  shard: number;
  seed: number;
  lr: number;
}

export interface SgdResult {
  shard: number;
  /** false when the task stopped early on the abort flag */
  complete: boolean;
  positives: number;
  lossSum: number;
  draws: number;
  accepted: number;
  skippedUsers: number;
  seconds: number;
}
