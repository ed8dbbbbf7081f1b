/**
 * The piscina worker entry: thin, it only adopts the coordinator's shared
 * memory and names the task functions that live in src/ (compiled to
 * dist/src). The coordinator picks one per task with `{ name }`.
 */
import { workerData } from 'node:worker_threads';
import { attachSharedMemory } from '../src/memory/shared.js';

attachSharedMemory((workerData as { memory: WebAssembly.Memory }).memory);

export { evalTask as evaluate } from '../src/eval/eval-task.js';
export { sgdTask as sgd } from '../src/train/sgd-task.js';
export { clusterTask as cluster } from '../src/cluster/cluster-task.js';
