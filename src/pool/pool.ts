import os from 'node:os';
import { Piscina } from 'piscina';
import { workerUrl } from '../paths.js';
import type { EvalBlockResult, EvalTask } from '../eval/block-eval.js';
import { evaluateWith, type EvalOptions, type EvalResult } from '../eval/evaluate.js';
import { recommendWith, type RecommendOptions, type Recommendations } from '../eval/recommend.js';
import type { SgdResult, SgdTask } from '../sgd/state.js';
import type { ClusterResult, ClusterTask } from '../cluster/refresh-task.js';
import type { WorkerCall, WorkerReturn } from './worker.js';
import { WORKER_LOADED, type WorkerData } from './worker-data.js';

/** The machine's cores: every one by default, as users expect. */
export function availableCores(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** Every core by default; `--threads` overrides. */
export function defaultThreads(): number {
  return availableCores();
}

/** A piscina pool and the moment all its threads have loaded their modules. */
export interface Threads {
  pool: Pick<Piscina, 'run' | 'destroy'>;
  loaded: Promise<void>;
}

/** How long close() waits for a worker still loading before terminating it anyway. */
const LOAD_WAIT_MS = 30_000;

/** A pool of `threads` workers over `data`; its `loaded` settles once each thread has loaded or died. */
export function startThreads(threads: number, data: WorkerData): Threads {
  const pool = new Piscina({
    filename: workerUrl('pool'),
    minThreads: threads,
    maxThreads: threads,
    // Workers live as long as the pool; never reap them between epochs.
    idleTimeout: 0x7fffffff,
    workerData: data,
    // Workers run compiled JS: they need none of the parent's flags (under tap,
    // inheriting its TypeScript loader made each pool start 10x slower).
    execArgv: [],
  });
  // Settled once every thread has loaded, or died trying (a thread that failed
  // to load is gone and cannot be terminated mid-load). Messages carry no
  // thread identity, so a thread that dies after loading counts twice and its
  // replacement is not waited for; piscina replaces only crashed threads.
  const loaded = new Promise<void>((resolve) => {
    let n = 0;
    const count = (m: unknown) => {
      if (m === WORKER_LOADED || m === undefined) n++;
      if (n < threads) return;
      pool.off('message', count);
      pool.off('workerDestroy', died);
      resolve();
    };
    const died = () => count(undefined);
    pool.on('message', count);
    pool.on('workerDestroy', died);
  });
  return { pool, loaded };
}

/**
 * Terminates the threads, but never one still loading its modules: Node 20
 * aborts the whole process (a V8 fatal error in the module loader) when a
 * worker is terminated mid-load, which a short command (a pool started, one
 * small task, closed) hit on a 2-core machine.
 */
export async function stopThreads(t: Threads, waitMs = LOAD_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([t.loaded, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  await t.pool.destroy();
}

/**
 * The worker threads of one run or one loaded model, with typed calls. The
 * shared arrays reach each worker once, through `workerData`; a call carries
 * a few numbers (a shard, an epoch, a block of users). Training's clustering
 * runs on one more thread of its own (started on the first `cluster` call), so
 * a refresh never waits behind an epoch's shards.
 */
export class WorkerPool {
  private readonly main: Threads;
  private clusterThread: Threads | undefined;
  private closed = false;

  constructor(
    readonly threads: number,
    readonly data: WorkerData,
  ) {
    this.main = startThreads(threads, data);
  }

  private call<K extends WorkerCall['kind']>(threads: Threads, call: WorkerCall & { kind: K }): Promise<WorkerReturn[K]> {
    if (this.closed) return Promise.reject(new Error('pris: the worker pool is closed'));
    return threads.pool.run(call) as Promise<WorkerReturn[K]>;
  }

  /** One epoch of one shard of users (src/sgd). */
  sgd(task: SgdTask): Promise<SgdResult> {
    return this.call(this.main, { kind: 'sgd', task });
  }

  /** One refresh of the cluster samplers' tables, on the clustering thread. */
  cluster(task: ClusterTask): Promise<ClusterResult> {
    this.clusterThread ??= startThreads(1, this.data);
    return this.call(this.clusterThread, { kind: 'cluster', task });
  }

  /** One block of users scored against every item (evaluation or recommendation). */
  evalBlock(task: EvalTask): Promise<EvalBlockResult> {
    return this.call(this.main, { kind: 'eval', task });
  }

  /** Ranking metrics of the pool's model (src/eval/evaluate.ts). */
  evaluate(opts: EvalOptions): Promise<EvalResult> {
    return evaluateWith((t) => this.evalBlock(t), this.data, opts, this.threads, this.data.memory);
  }

  /** Every user's top-k of the pool's model. */
  recommend(opts: RecommendOptions): Promise<Recommendations> {
    return recommendWith((t) => this.evalBlock(t), this.data, opts, this.threads, this.data.memory);
  }

  /** Stops the workers; the arena is freed once nothing references it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([stopThreads(this.main), this.clusterThread && stopThreads(this.clusterThread)]);
  }
}
