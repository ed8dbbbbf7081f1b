import type { Csr } from '../data/csr.js';
import type { SplitName } from '../data/dataset.js';
import type { Model } from '../model/store.js';
import { AucCounter } from './auc.js';
import { UserMetrics, addExact, aucSlot, emptySums, type MetricSums } from './metrics.js';
import { createScorer, type BlockScorer, type ScorerKind } from './create-scorer.js';
import { TopK } from './topk.js';

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
 * Per-thread state for block tasks: the scorer (with its copy of the item
 * table), the top-K heap, the test-item marks. Allocated once, reused for
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

  constructor(private readonly data: EvalData) {
    this.isTest = new Uint8Array(data.model.nItems);
  }

  run(task: EvalTask): EvalBlockResult {
    const { model } = this.data;
    const blockLen = task.users ? task.users.length : task.to - task.from;
    if (!this.scorer || this.scorer.kind !== task.scorer || this.scorer.maxUsers < blockLen) {
      this.scorer = createScorer(task.scorer, blockLen);
      this.loadedRun = -1;
    }
    if (this.loadedRun !== task.runId) {
      this.scorer.loadItems(model);
      this.loadedRun = task.runId;
    }
    const K = task.ks[task.ks.length - 1]!;
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

  private runMetrics(task: EvalTask): MetricsBlockResult {
    const key = task.ks.join(',');
    if (!this.metrics || this.metricsKey !== key) {
      this.metrics = new UserMetrics(task.ks);
      this.metricsKey = key;
    }
    const metrics = this.metrics;
    const topk = this.topk!;
    const scorer = this.scorer!;
    const { model } = this.data;
    const target = this.data.splits[task.target];
    const out: MetricsBlockResult = { kind: 'metrics', ...emptySums(metrics.ks.length) };
    const auc = aucSlot(metrics.ks.length);
    const n = this.collectUsers(task, target);
    out.evaluated = n;
    out.skipped = (task.users ? task.users.length : task.to - task.from) - n;
    const isTest = this.isTest;
    const nItems = model.nItems;
    for (let start = 0; start < n; start += scorer.maxUsers) {
      const m = Math.min(scorer.maxUsers, n - start);
      const users = this.userBuf.subarray(start, start + m);
      const rows = scorer.score(model, users, m);
      const stride = scorer.stride;
      // Mask first: the chunk maxima must be those of the masked rows.
      for (let b = 0; b < m; b++) this.nMasked[b] = this.maskExcluded(rows, b * stride, users[b]!, task.exclude);
      const maxima = scorer.chunkMaxima?.();
      const chunk = scorer.chunkItems ?? 1;
      for (let b = 0; b < m; b++) {
        const u = users[b]!;
        const off = b * stride;
        const nMasked = this.nMasked[b]!;
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
        const nRanked = topk.select(rows, off, nItems, maxima, off / chunk, chunk);
        metrics.add(topk.items, nRanked, isTest, nTest, out.sums);
        if (task.auc) {
          // Last: it overwrites the test items' scores.
          this.auc.count(rows, off, nItems, target.indices, from, to, nMasked, scorer, b);
          if (this.auc.candidates > 0) {
            addExact(out.sums, auc, this.auc.wins / (nTest * this.auc.candidates));
            out.aucUsers++;
          }
        }
        for (let k = from; k < to; k++) isTest[target.indices[k]!] = 0;
      }
    }
    return out;
  }

  private runRecommend(task: EvalTask, K: number): RecommendBlockResult {
    const topk = this.topk!;
    const scorer = this.scorer!;
    const { model } = this.data;
    const n = this.collectUsers(task, undefined);
    const res: RecommendBlockResult = {
      kind: 'recommend',
      k: K,
      users: this.userBuf.slice(0, n),
      counts: new Int32Array(n),
      items: new Int32Array(n * K),
      scores: new Float32Array(n * K),
    };
    for (let start = 0; start < n; start += scorer.maxUsers) {
      const m = Math.min(scorer.maxUsers, n - start);
      const users = this.userBuf.subarray(start, start + m);
      const rows = scorer.score(model, users, m);
      for (let b = 0; b < m; b++) this.maskExcluded(rows, b * scorer.stride, users[b]!, task.exclude);
      const maxima = scorer.chunkMaxima?.();
      const chunk = scorer.chunkItems ?? 1;
      for (let b = 0; b < m; b++) {
        const off = b * scorer.stride;
        const count = topk.select(rows, off, model.nItems, maxima, off / chunk, chunk);
        const at = (start + b) * K;
        res.counts[start + b] = count;
        for (let r = 0; r < count; r++) {
          res.items[at + r] = topk.items[r]!;
          res.scores[at + r] = topk.scores[r]!;
        }
      }
    }
    return res;
  }
}
