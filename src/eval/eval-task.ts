import { workerData } from 'node:worker_threads';
import type { PoolData } from '../train/pool-data.js';
import { BlockEvaluator, type EvalBlockResult, type EvalTask } from './block-eval.js';

export type { EvalTask, EvalBlockResult } from './block-eval.js';

// One evaluator per worker thread, kept across tasks and runs: it holds the
// kernel's copy of the item table and the per-user scratch buffers.
let evaluator: BlockEvaluator | undefined;

/** The pool's `evaluate` task (workers/pool.ts): one block of users. */
export function evalTask(task: EvalTask): EvalBlockResult {
  evaluator ??= new BlockEvaluator(workerData as PoolData);
  return evaluator.run(task);
}
