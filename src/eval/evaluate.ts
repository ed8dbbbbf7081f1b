import type { SplitName } from '../data/dataset.js';
import type { Model } from '../model/store.js';
import { UserError } from '../errors.js';
import { BlockEvaluator, type BlockRunner, type EvalData, type EvalTask, type MetricsBlockResult } from './block-eval.js';
import { defaultScorerKind, type ScorerKind } from './create-scorer.js';
import { packedItemTable } from './score-wasm.js';
import { addSums, emptySums, meanAuc, meansAtK, normalizeKs, type MetricsAtK } from './metrics.js';
import { defaultBlockUsers, planBlocks, sampleUsersWithItems, usersWithItems, type UserBlock } from './plan.js';
import { runBlocks } from './run-blocks.js';
import { buildItemClusters, pruneClusterCount, type ItemClusters } from './item-clusters.js';
import { sharedMemory } from '../memory/shared.js';

export interface EvalOptions {
  /** Split whose items are each user's relevant items. */
  target: 'valid' | 'test';
  /** Splits whose items are removed from each user's ranking (e.g. ['train'] for valid, ['train', 'valid'] for test). */
  exclude: SplitName[];
  /** Cutoffs; several at once cost no more than the largest. */
  ks: number[];
  /** Also compute AUC (one more pass over each user's scores). */
  auc?: boolean;
  /** Users per task; by default sized so a block's scores take <= 4 MB and every thread gets several blocks. */
  blockUsers?: number;
  /**
   * Evaluate a fixed random subset of this many users (among those with
   * target items) instead of all: for cheap validation during training.
   */
  sampleUsers?: number;
  /** Evaluate exactly these users (those with target items among them); not with sampleUsers. */
  users?: Int32Array;
  /** Seed of the subset (default 1). */
  sampleSeed?: number;
  /** Scoring kernel: WebAssembly SIMD by default, plain JS as a fallback or for comparison. */
  scorer?: ScorerKind;
  /** Called after each finished block. */
  onProgress?: (doneBlocks: number, totalBlocks: number) => void;
  /** Aborting stops handing out blocks: the evaluation rejects with EvaluationInterrupted once the running ones end. */
  signal?: AbortSignal;
  /**
   * Skip K-means clusters of items that cannot reach a user's top k (the
   * same lists, fewer scores): by default when it pays (large catalogues,
   * many users, no AUC: pruneClusterCount); true or false to force.
   */
  prune?: boolean;
  /**
   * With auc: AUC over a fixed sample of at most this many of the evaluated
   * users (drawn with sampleSeed), scored in full, when the ranking metrics
   * skip clusters; they stay exact over every user. AUC needs every score,
   * so exact AUC would cost the plain pass the clusters save.
   */
  aucSample?: number;
}

export interface EvalResult {
  target: 'valid' | 'test';
  exclude: SplitName[];
  ks: number[];
  /** Users in the model. */
  users: number;
  /** Users averaged over: those with target items (within the sample, if any). */
  evaluated: number;
  /** Users without target items: skipped (counted over all users, or over the sample's blocks). */
  skipped: number;
  /** The users sampled, when evaluating a subset: the size asked for, or every eligible user when there are fewer. */
  sampleUsers?: number;
  perK: MetricsAtK[];
  /** Mean per-user AUC over users with at least one candidate negative, when asked. */
  auc?: number;
  aucUsers?: number;
  /** The users AUC was sampled from (aucUsers asked and the ranking metrics pruned): AUC is a sample's mean then, the rest exact. */
  aucSample?: number;
  /** Clusters of items the top-k skipped by (pruned evaluations), and the seconds their K-means took. */
  pruned?: { clusters: number; seconds: number };
  seconds: number;
}

/** Flat `name@k` keys (`ndcg@50`, ...; `auc`), convenient for metrics.json and logs. */
export function flatMetrics(r: EvalResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of r.perK) {
    out[`ndcg@${m.k}`] = m.ndcg;
    out[`recall@${m.k}`] = m.recall;
    out[`precision@${m.k}`] = m.precision;
    out[`map@${m.k}`] = m.map;
  }
  if (r.auc !== undefined) out.auc = r.auc;
  return out;
}

/** A diverged model would rank by NaN; say so instead of printing nonsense metrics. */
export function assertFiniteModel(model: Model): void {
  for (const [name, a, d] of [['user', model.user, model.dim], ['item', model.item, model.dim]] as const) {
    for (let k = 0; k < a.length; k++) {
      if (!Number.isFinite(a[k]!)) {
        throw new UserError(`the model has a non-finite ${name} embedding value (row ${Math.floor(k / d)}): it diverged; retrain with a smaller learning rate`);
      }
    }
  }
}

// Distinct per run in this process: a worker re-reads the item table when it changes.
let nextRunId = 1;

interface Plan {
  ks: number[];
  blocks: UserBlock[];
  tasks: EvalTask[];
  pruned?: { clusters: number; seconds: number };
}

/**
 * The item clusters for a pruned evaluation of `users` users, or undefined
 * for the plain one (opts.prune forces either way).
 */
export function clustersFor(data: EvalData, opts: { prune?: boolean; auc?: boolean }, users: number, arena: WebAssembly.Memory): ItemClusters | undefined {
  const { nItems } = data.model;
  if (opts.prune === false || (opts.prune && opts.auc)) return undefined;
  const k = opts.prune ? Math.max(1, Math.min(nItems, Math.round(2 * Math.sqrt(nItems)))) : pruneClusterCount(nItems, users, opts.auc ?? false);
  return k > 0 ? buildItemClusters(data.model, arena, k) : undefined;
}

function plan(data: EvalData, opts: EvalOptions, threads: number, arena: WebAssembly.Memory): Plan {
  const { model, splits } = data;
  const ks = normalizeKs(opts.ks);
  if (opts.exclude.includes(opts.target)) throw new RangeError(`the target split '${opts.target}' cannot also be excluded`);
  const blockUsers = opts.blockUsers ?? defaultBlockUsers(model.nUsers, model.nItems, threads);
  if (!Number.isInteger(blockUsers) || blockUsers < 1) throw new RangeError(`blockUsers must be a positive integer, got ${blockUsers}`);
  let users: Int32Array | undefined = opts.users;
  if (opts.users && opts.sampleUsers !== undefined) throw new RangeError('give users or sampleUsers, not both');
  if (opts.sampleUsers !== undefined) {
    if (!Number.isInteger(opts.sampleUsers) || opts.sampleUsers < 1) throw new RangeError(`sampleUsers must be a positive integer, got ${opts.sampleUsers}`);
    users = sampleUsersWithItems(splits[opts.target], opts.sampleUsers, opts.sampleSeed ?? 1);
  }
  const blocks = planBlocks(model.nUsers, blockUsers, users);
  const runId = nextRunId++;
  const scorer = opts.scorer ?? defaultScorerKind();
  if (opts.prune && opts.auc) throw new RangeError('prune and auc cannot go together: AUC needs every score');
  const t0 = performance.now();
  const clusters = clustersFor(data, opts, users ? users.length : model.nUsers, arena);
  const pruned = clusters ? { clusters: clusters.k, seconds: (performance.now() - t0) / 1000 } : undefined;
  const packedItems = !clusters && scorer === 'wasm' ? packedItemTable(model, arena) : undefined;
  const tasks = blocks.map((b): EvalTask => ({
    kind: 'metrics',
    runId,
    from: b.from,
    to: b.to,
    ...(b.users ? { users: b.users } : {}),
    target: opts.target,
    exclude: [...opts.exclude],
    ks,
    auc: opts.auc ?? false,
    scorer,
    ...(clusters ? { clusters } : {}),
    ...(packedItems ? { packedItems } : {}),
  }));
  return { ks, blocks, tasks, ...(pruned ? { pruned } : {}) };
}

/**
 * One plan, or two when AUC is sampled (opts.aucSample): the ranking metrics
 * of every user without AUC (skipping clusters), then AUC on the sample.
 */
function plans(data: EvalData, opts: EvalOptions, threads: number, arena: WebAssembly.Memory): { main: Plan; auc?: { plan: Plan; opts: EvalOptions } } {
  if (!opts.auc || opts.aucSample === undefined) return { main: plan(data, opts, threads, arena) };
  if (!Number.isInteger(opts.aucSample) || opts.aucSample < 1) throw new RangeError(`aucSample must be a positive integer, got ${opts.aucSample}`);
  if (opts.users) throw new RangeError('aucSample samples every user or the sampleUsers sample, not a list of users');
  const eligible = usersWithItems(data.splits[opts.target]).length;
  const evaluated = Math.min(eligible, opts.sampleUsers ?? eligible);
  const prunes = opts.prune ?? pruneClusterCount(data.model.nItems, evaluated, false) > 0;
  if (!prunes || evaluated <= opts.aucSample) return { main: plan(data, { ...opts, prune: false }, threads, arena) };
  // A seed's sample of n users is the first n of one shuffle: this one lies within the sampleUsers sample.
  const aucOpts: EvalOptions = { ...opts, prune: false, sampleUsers: opts.aucSample };
  return { main: plan(data, { ...opts, auc: false }, threads, arena), auc: { plan: plan(data, aucOpts, threads, arena), opts: aucOpts } };
}

/** The main plan's result, with AUC from the sample's when there is one. */
function finishAll(data: EvalData, opts: EvalOptions, p: ReturnType<typeof plans>, results: MetricsBlockResult[], seconds: number): EvalResult {
  const n = p.main.tasks.length;
  if (!p.auc) return finish(data, opts, p.main, results, seconds);
  const result = finish(data, { ...opts, auc: false }, p.main, results.slice(0, n), seconds);
  const a = finish(data, p.auc.opts, p.auc.plan, results.slice(n), seconds);
  result.auc = a.auc!;
  result.aucUsers = a.aucUsers!;
  result.aucSample = a.evaluated;
  return result;
}

function finish(data: EvalData, opts: EvalOptions, p: Plan, results: MetricsBlockResult[], seconds: number): EvalResult {
  const { ks } = p;
  // Exact sums: the means are the same bits whatever the blocks or threads.
  const total = emptySums(ks.length);
  for (const r of results) addSums(total, r);
  let skipped = total.skipped;
  if (opts.sampleUsers !== undefined) {
    // A sample only holds users with items; report the population's count.
    const t = data.splits[opts.target];
    skipped = 0;
    for (let u = 0; u < t.nUsers; u++) if (t.indptr[u + 1] === t.indptr[u]) skipped++;
  }
  const result: EvalResult = {
    target: opts.target,
    exclude: [...opts.exclude],
    ks,
    users: data.model.nUsers,
    evaluated: total.evaluated,
    skipped,
    perK: meansAtK(ks, total),
    seconds,
  };
  if (opts.sampleUsers !== undefined) result.sampleUsers = total.evaluated;
  if (p.pruned) result.pruned = p.pruned;
  if (opts.auc) {
    result.auc = meanAuc(ks.length, total);
    result.aucUsers = total.aucUsers;
  }
  return result;
}

/**
 * Ranking metrics of `data.model` on `opts.target`, block by block through
 * `run` (a pool's workers, see src/pool). The model must not change while
 * this runs (call it between epochs).
 */
export async function evaluateWith(run: BlockRunner, data: EvalData, opts: EvalOptions, threads: number, arena: WebAssembly.Memory): Promise<EvalResult> {
  const t0 = performance.now();
  assertFiniteModel(data.model);
  const p = plans(data, opts, threads, arena);
  const tasks = p.auc ? [...p.main.tasks, ...p.auc.plan.tasks] : p.main.tasks;
  const results = await runBlocks<MetricsBlockResult>(tasks, run, 2 * threads, opts);
  return finishAll(data, opts, p, results, (performance.now() - t0) / 1000);
}

/** The same evaluation in the calling thread (tests, tiny models, no pool at hand). */
export function evaluateModelLocal(data: EvalData, opts: EvalOptions): EvalResult {
  const t0 = performance.now();
  assertFiniteModel(data.model);
  const p = plans(data, opts, 1, sharedMemory());
  const tasks = p.auc ? [...p.main.tasks, ...p.auc.plan.tasks] : p.main.tasks;
  const ev = new BlockEvaluator(data);
  const results = tasks.map((task, k) => {
    const r = ev.run(task) as MetricsBlockResult;
    opts.onProgress?.(k + 1, tasks.length);
    return r;
  });
  return finishAll(data, opts, p, results, (performance.now() - t0) / 1000);
}
