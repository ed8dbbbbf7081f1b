import type { SamplerKind, SamplerTables } from '../samplers/index.js';
import type { JointOptions, JointState } from '../cluster/joint.js';

/**
 * The training half of `PoolData.train`: fixed for the whole run, shared
 * memory or small plain values only. Given to workers once at pool start.
 */
export interface TrainShared {
  dim: number;
  negatives: number;
  lossCode: number;
  reg: number;
  /** per entry of the train CSR's indices: the positive's weight (scales its step); absent = all 1 */
  posWeights?: Float32Array;
  /** cosine scores: 1 / temperature; 0 for dot products */
  invTau: number;
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
  /** joint samplers: the learned clustering's parameters and settings */
  joint?: { state: JointState; options: Omit<JointOptions, 'temperature'>; samples: number };
  /** [0]: positives done in the running epoch, for the progress bar */
  progress: Int32Array;
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
  positives: number;
  lossSum: number;
  draws: number;
  accepted: number;
  skippedUsers: number;
  seconds: number;
}
