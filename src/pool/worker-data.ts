import type { EvalData } from '../eval/block-eval.js';
import type { SgdShared } from '../sgd/state.js';
import type { ClusterShared } from '../cluster/refresh-task.js';

/**
 * What every pool worker receives once, through `workerData`: the arena, and
 * views of shared memory only (structured clone shares SharedArrayBuffers, it
 * does not copy). Training adds the SGD and clustering state.
 */
export interface WorkerData extends EvalData {
  /** the arena every kernel-addressed array below lives in */
  memory: WebAssembly.Memory;
  sgd?: SgdShared;
  cluster?: ClusterShared;
}

/** What a worker posts to the pool once its modules are loaded. */
export const WORKER_LOADED = 'pris-worker-loaded';
