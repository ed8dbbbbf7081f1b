import type { Csr } from '../data/csr.js';
import type { SplitName } from '../data/dataset.js';
import type { Model } from '../model/store.js';
import { AucCounter } from './auc.js';
import { UserMetrics, addExact, aucSlot, emptySums, type MetricSums } from './metrics.js';
import { createScorer, type BlockScorer, type ScorerKind } from './create-scorer.js';
import { TopK } from './topk.js';
import type { ItemClusters } from './item-clusters.js';
import { PrunedTopK } from './pruned-topk.js';

/** What evaluation reads: the model and the splits whose items are targets or exclusions. */
export interface EvalData {
  model: Model;
  splits: { train: Csr; valid: Csr; test: Csr };
}

/** Runs one block task somewhere (a pool worker, or this thread) and resolves with its result. */
export type BlockRunner = (task: EvalTask) => Promise<EvalBlockResult>;

/**
 * One task of evaluation or recommendation: a block of users, scored against
 * every item in one go, then handled row by row. The message is small (a user
 * range or a short list); the model and splits come from the pool's shared data.
 */
export interface EvalTask {
  kind: 'metrics' | 'recommend';
  /**
   * Changes with every evaluation run: a worker re-reads the item table when it
   * sees a new id (the model trains between runs) and reuses it otherwise.
   */
  runId: number;
  /** Users `from .. to-1`, unless `users` lists them explicitly (a sample). */
  from: number;
  to: number;
  users?: number[];
  /** Split whose items are the relevance targets (metrics only). */
  target: SplitName;
  /** Splits whose items are removed from each user's ranking. */
  exclude: SplitName[];
  /** Cutoffs, ascending, unique; the list length is the largest. */
  ks: number[];
  auc: boolean;
  scorer: ScorerKind;
  /**
   * The item table by cluster (shared memory, built once per run): top-K
   * skips clusters that cannot reach a user's list (pruned-topk.ts). Never
   * with AUC, which needs every score.
   */
  clusters?: ItemClusters;
  /** The item table packed for the wasm scorer (shared memory, packed once per run by the coordinator for every thread). */
  packedItems?: Float32Array;
}

export interface MetricsBlockResult extends MetricSums {
  kind: 'metrics';
}

/** Row b of a block: user `users[b]`, `counts[b]` items at `items[b*k ..]`, best first. */
export interface RecommendBlockResult {
  kind: 'recommend';
  k: number;
  users: Int32Array;
  counts: Int32Array;
  items: Int32Array;
  scores: Float32Array;
}

export type EvalBlockResult = MetricsBlockResult | RecommendBlockResult;

/**
 * Per-thread state for block tasks: the scorer (reading the run's packed
 * item table, or its own copy), the top-K heap, the test-item marks. Allocated once, reused for
 * every user of every task.
 */
export class BlockEvaluator {
  private scorer: BlockScorer | undefined;
  private loadedRun = -1;
  private topk: TopK | undefined;
  private metrics: UserMetrics | undefined;
  private metricsKey = '';
  private readonly auc = new AucCounter();
  private readonly isTest: Uint8Array;
  private userBuf = new Int32Array(0);
  private nMasked = new Int32Array(0);
  private pruned: PrunedTopK | undefined;
  private prunedRun = -1;

  constructor(private readonly data: EvalData) {
    this.isTest = new Uint8Array(data.model.nItems);
  }

  run(task: EvalTask): EvalBlockResult {
    const { model } = this.data;
    const blockLen = task.users ? task.users.length : task.to - task.from;
    const K = task.ks[task.ks.length - 1]!;
    if (task.clusters) {
      if (task.auc) throw new Error('pris: AUC needs every score; a pruned evaluation cannot give it');
      if (this.prunedRun !== task.runId || this.pruned?.heap(0).capacity !== K) {
        this.pruned ??= new PrunedTopK();
        this.pruned.load(model, task.clusters, K);
        this.prunedRun = task.runId;
      }
      if (this.userBuf.length < blockLen) this.userBuf = new Int32Array(blockLen);
      return task.kind === 'metrics' ? this.runMetrics(task) : this.runRecommend(task, K);
    }
    if (!this.scorer || this.scorer.kind !== task.scorer || this.scorer.maxUsers < blockLen) {
      this.scorer = createScorer(task.scorer, blockLen);
      this.loadedRun = -1;
    }
    if (this.loadedRun !== task.runId) {
      this.scorer.loadItems(model, task.packedItems);
      this.loadedRun = task.runId;
    }
    if (!this.topk || this.topk.capacity !== K) this.topk = new TopK(K);
    if (this.userBuf.length < blockLen) this.userBuf = new Int32Array(blockLen);
    if (this.nMasked.length < this.scorer.maxUsers) this.nMasked = new Int32Array(this.scorer.maxUsers);
    return task.kind === 'metrics' ? this.runMetrics(task) : this.runRecommend(task, K);
  }

  /** Users of the task, optionally only those with target items, into userBuf; returns the count. */
  private collectUsers(task: EvalTask, target: Csr | undefined): number {
    let n = 0;
    const take = (u: number) => {
      if (!target || target.indptr[u + 1]! > target.indptr[u]!) this.userBuf[n++] = u;
    };
    if (task.users) for (const u of task.users) take(u);
    else for (let u = task.from; u < task.to; u++) take(u);
    return n;
  }

  /** Sets the user's items in the `exclude` splits to -Infinity; returns how many entries it set. */
  private maskExcluded(row: Float32Array, off: number, u: number, exclude: SplitName[]): number {
    let masked = 0;
    for (const name of exclude) {
      const c = this.data.splits[name];
      const end = c.indptr[u + 1]!;
      for (let k = c.indptr[u]!; k < end; k++) {
        const p = off + c.indices[k]!;
        if (row[p] !== -Infinity) {
          row[p] = -Infinity;
          masked++;
        }
      }
    }
    return masked;
  }

  /**
   * The top-K list of each of userBuf[0..n), in order, through `fn(j, list,
   * count, row)`: from the plain scorer (every item scored; `row` is the
   * user's masked row, for AUC) or from the pruned one (clusters skipped).
   */
  private eachTopK(task: EvalTask, n: number, fn: (j: number, list: TopK, count: number, row?: { rows: Float32Array; off: number; nMasked: number; b: number }) => void): void {
    const users = this.userBuf;
    if (task.clusters) {
      const pruned = this.pruned!;
      const exclude = task.exclude.map((name) => this.data.splits[name]);
      for (let j = 0; j < n; j += 2) {
        const two = j + 1 < n;
        const [ca, cb] = pruned.pair(users[j]!, two ? users[j + 1]! : -1, exclude);
        fn(j, pruned.heap(0), ca);
        if (two) fn(j + 1, pruned.heap(1), cb);
      }
      return;
    }
    const topk = this.topk!;
    const scorer = this.scorer!;
    const { model } = this.data;
    for (let start = 0; start < n; start += scorer.maxUsers) {
      const m = Math.min(scorer.maxUsers, n - start);
      const block = users.subarray(start, start + m);
      const rows = scorer.score(model, block, m);
      const stride = scorer.stride;
      // Mask first: the chunk maxima must be those of the masked rows.
      for (let b = 0; b < m; b++) this.nMasked[b] = this.maskExcluded(rows, b * stride, block[b]!, task.exclude);
      const maxima = scorer.chunkMaxima?.();
      const chunk = scorer.chunkItems ?? 1;
      for (let b = 0; b < m; b++) {
        const off = b * stride;
        const count = topk.select(rows, off, model.nItems, maxima, off / chunk, chunk);
        fn(start + b, topk, count, { rows, off, nMasked: this.nMasked[b]!, b });
      }
    }
  }

  private runMetrics(task: EvalTask): MetricsBlockResult {
    const key = task.ks.join(',');
    if (!this.metrics || this.metricsKey !== key) {
      this.metrics = new UserMetrics(task.ks);
      this.metricsKey = key;
    }
    const metrics = this.metrics;
    const target = this.data.splits[task.target];
    const out: MetricsBlockResult = { kind: 'metrics', ...emptySums(metrics.ks.length) };
    const auc = aucSlot(metrics.ks.length);
    const n = this.collectUsers(task, target);
    out.evaluated = n;
    out.skipped = (task.users ? task.users.length : task.to - task.from) - n;
    const isTest = this.isTest;
    const nItems = this.data.model.nItems;
    this.eachTopK(task, n, (j, list, count, row) => {
      const u = this.userBuf[j]!;
      const from = target.indptr[u]!;
      const to = target.indptr[u + 1]!;
      let nTest = 0;
      for (let k = from; k < to; k++) {
        const i = target.indices[k]!;
        if (isTest[i] === 0) {
          isTest[i] = 1;
          nTest++;
        }
      }
      metrics.add(list.items, count, isTest, nTest, out.sums);
      if (task.auc && row) {
        // Last: it overwrites the test items' scores.
        this.auc.count(row.rows, row.off, nItems, target.indices, from, to, row.nMasked, this.scorer!, row.b);
        if (this.auc.candidates > 0) {
          addExact(out.sums, auc, this.auc.wins / (nTest * this.auc.candidates));
          out.aucUsers++;
        }
      }
      for (let k = from; k < to; k++) isTest[target.indices[k]!] = 0;
    });
    return out;
  }

  private runRecommend(task: EvalTask, K: number): RecommendBlockResult {
    const n = this.collectUsers(task, undefined);
    const res: RecommendBlockResult = {
      kind: 'recommend',
      k: K,
      users: this.userBuf.slice(0, n),
      counts: new Int32Array(n),
      items: new Int32Array(n * K),
      scores: new Float32Array(n * K),
    };
    this.eachTopK(task, n, (j, list, count) => {
      res.counts[j] = count;
      res.items.set(list.items.subarray(0, count), j * K);
      for (let r = 0; r < count; r++) res.scores[j * K + r] = list.scores[r]!;
    });
    return res;
  }
}
