import type { BlockRunner, EvalBlockResult, EvalTask } from './block-eval.js';

/** An evaluation or recommendation stopped by its abort signal before every block ran. */
export class EvaluationInterrupted extends Error {
  constructor(
    readonly doneBlocks: number,
    readonly totalBlocks: number,
  ) {
    super(`evaluation interrupted after ${doneBlocks} of ${totalBlocks} blocks`);
    this.name = 'EvaluationInterrupted';
  }
}

/**
 * Runs every task through `run`, at most `window` at a time, and resolves
 * with the results in task order. Tasks are handed out as others finish,
 * not queued all at once: at a million users there are hundreds of
 * thousands of blocks, and an abort then waits only for the blocks already
 * running (at most `window`), never for the queue. Two per thread keep
 * each worker one block ahead.
 */
export async function runBlocks<R extends EvalBlockResult>(
  tasks: EvalTask[],
  run: BlockRunner,
  window: number,
  opts: { signal?: AbortSignal; onProgress?: (doneBlocks: number, totalBlocks: number) => void } = {},
): Promise<R[]> {
  const results = new Array<R>(tasks.length);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length && !opts.signal?.aborted) {
      const k = next++;
      try {
        results[k] = (await run(tasks[k]!)) as R;
      } catch (e) {
        next = tasks.length; // the other lanes stop too
        throw e;
      }
      done++;
      opts.onProgress?.(done, tasks.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window, tasks.length)) }, lane));
  if (done < tasks.length) throw new EvaluationInterrupted(done, tasks.length);
  return results;
}
