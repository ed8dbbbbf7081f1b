import os from 'node:os';
import { Piscina } from 'piscina';
import { workerUrl } from '../paths.js';
import { sharedMemory } from '../memory/shared.js';
import type { PoolData } from './pool-data.js';

/** Every core by default, as users expect; `--threads` overrides. */
export function defaultThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * One piscina pool per run, `threads` workers started up front. The shared
 * buffers reach each worker once, through `workerData`; tasks then carry only
 * small messages (a shard, an epoch, a seed). Task functions are the named
 * exports of workers/pool.ts, chosen per task with `{ name }`.
 */
export function createPool(threads: number, data: PoolData): Piscina {
  return new Piscina({
    filename: workerUrl('pool'),
    minThreads: threads,
    maxThreads: threads,
    // Workers live for the whole run; never reap them between epochs.
    idleTimeout: 0x7fffffff,
    workerData: { ...data, memory: sharedMemory() },
    // Workers run compiled JS: they need none of the parent's flags (under tap,
    // inheriting its TypeScript loader made each pool start 10x slower).
    execArgv: [],
    // Long tasks (an epoch shard) with no per-task transfer: keep the default atomics wait.
  });
}
