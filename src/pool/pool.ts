import os from 'node:os';
import { Piscina } from 'piscina';
import { workerUrl } from '../paths.js';
import type { EvalBlockResult, EvalTask } from '../eval/block-eval.js';
import { evaluateWith, type EvalOptions, type EvalResult } from '../eval/evaluate.js';
import { recommendWith, type RecommendOptions, type Recommendations } from '../eval/recommend.js';
import type { SgdResult, SgdTask } from '../sgd/state.js';
import type { ClusterResult, ClusterTask } from '../cluster/refresh-task.js';
import type { WorkerCall, WorkerReturn } from './worker.js';
import type { WorkerData } from './worker-data.js';

/** The machine's cores: every one by default, as users expect. */
export function availableCores(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** Every core by default; `--threads` overrides. */
export function defaultThreads(): number {
  return availableCores();
}

function startPiscina(threads: number, data: WorkerData): Piscina {
  return new Piscina({
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
}

/**
 * The worker threads of one run or one loaded model, with typed calls. The
 * shared arrays reach each worker once, through `workerData`; a call carries
 * a few numbers (a shard, an epoch, a block of users). Training's clustering
 * runs on one more thread of its own (started on the first `cluster` call), so
 * a refresh never waits behind an epoch's shards.
 */
export class WorkerPool {
  private readonly main: Piscina;
  private clusterThread: Piscina | undefined;
  private closed = false;

  constructor(
    readonly threads: number,
    readonly data: WorkerData,
  ) {
    this.main = startPiscina(threads, data);
  }

  private call<K extends WorkerCall['kind']>(pool: Piscina, call: WorkerCall & { kind: K }): Promise<WorkerReturn[K]> {
    if (this.closed) return Promise.reject(new Error('pris: the worker pool is closed'));
    return pool.run(call) as Promise<WorkerReturn[K]>;
  }

  /** One epoch of one shard of users (src/sgd). */
  sgd(task: SgdTask): Promise<SgdResult> {
    return this.call(this.main, { kind: 'sgd', task });
  }

  /** One refresh of the cluster samplers' tables, on the clustering thread. */
  cluster(task: ClusterTask): Promise<ClusterResult> {
    this.clusterThread ??= startPiscina(1, this.data);
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
    await Promise.all([this.main.destroy(), this.clusterThread?.destroy()]);
  }
}
