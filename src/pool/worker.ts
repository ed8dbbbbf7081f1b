import { parentPort, workerData } from 'node:worker_threads';
import { attachSharedMemory } from '../memory/shared.js';
import { BlockEvaluator, type EvalBlockResult, type EvalTask } from '../eval/block-eval.js';
import { sgdTask } from '../sgd/epoch-task.js';
import type { SgdResult, SgdTask } from '../sgd/state.js';
import { clusterTask, type ClusterResult, type ClusterTask } from '../cluster/refresh-task.js';
import { WORKER_LOADED, type WorkerData } from './worker-data.js';

/**
 * The worker side of the pool: every task is one typed call. A worker serves
 * one pool (one run or one model) for its whole life, so it adopts the pool's
 * arena once and keeps per-thread state (sampler, evaluator scratch) across
 * calls.
 */
export type WorkerCall = { kind: 'sgd'; task: SgdTask } | { kind: 'cluster'; task: ClusterTask } | { kind: 'eval'; task: EvalTask };

/** What each call resolves to. */
export interface WorkerReturn {
  sgd: SgdResult;
  cluster: ClusterResult;
  eval: EvalBlockResult;
}

const data = workerData as WorkerData;
attachSharedMemory(data.memory);
// The pool never terminates a thread before this arrives (stopThreads in
// pool.ts). A microtask runs once the whole module graph has loaded, and
// before piscina's atomics wait loop blocks this thread's event loop (a timer
// or setImmediate would wait for the first task).
queueMicrotask(() => parentPort?.postMessage(WORKER_LOADED));

let evaluator: BlockEvaluator | undefined;

function need<T>(part: T | undefined, what: string): T {
  if (part === undefined) throw new Error(`pris: this pool was started without ${what}`);
  return part;
}

export default function dispatch(call: WorkerCall): WorkerReturn[WorkerCall['kind']] {
  switch (call.kind) {
    case 'sgd':
      return sgdTask({ model: data.model, train: data.splits.train, sgd: need(data.sgd, 'training state') }, call.task);
    case 'cluster':
      return clusterTask({ model: data.model, train: data.splits.train, cluster: need(data.cluster, 'cluster tables') }, call.task);
    case 'eval':
      return (evaluator ??= new BlockEvaluator(data)).run(call.task);
  }
}
