import type { SplitName } from '../data/dataset.js';
import { BlockEvaluator, type BlockRunner, type EvalData, type EvalTask, type RecommendBlockResult } from './block-eval.js';
import { defaultScorerKind, type ScorerKind } from './create-scorer.js';
import { packedItemTable } from './score-wasm.js';
import { assertFiniteModel, clustersFor } from './evaluate.js';
import { sharedMemory } from '../memory/shared.js';
import { defaultBlockUsers, planBlocks } from './plan.js';
import { runBlocks } from './run-blocks.js';

export interface RecommendOptions {
  /** List length per user. */
  k: number;
  /** Splits whose items are not recommended (default: the training items). */
  exclude: SplitName[];
  /** Only these users (ascending or not; each gets its rows in this order); default every user. */
  users?: Int32Array;
  blockUsers?: number;
  scorer?: ScorerKind;
  onProgress?: (doneBlocks: number, totalBlocks: number) => void;
  /** Aborting stops handing out blocks (rejects with EvaluationInterrupted). */
  signal?: AbortSignal;
  /** Skip K-means clusters that cannot reach a user's list (the same lists): by default when it pays; true or false to force. */
  prune?: boolean;
}

/**
 * Every user's top-k as columns, one row per (user, rank), users ascending,
 * ranks 1-based. A user with fewer than k candidate items gets fewer rows.
 */
export interface Recommendations {
  k: number;
  user: Int32Array;
  rank: Int32Array;
  item: Int32Array;
  score: Float32Array;
}

let nextRunId = 1 << 30; // disjoint from evaluation run ids

function tasksFor(data: EvalData, opts: RecommendOptions, threads: number, arena: WebAssembly.Memory): EvalTask[] {
  if (!Number.isInteger(opts.k) || opts.k < 1) throw new RangeError(`k must be a positive integer, got ${opts.k}`);
  const { model } = data;
  const blockUsers = opts.blockUsers ?? defaultBlockUsers(model.nUsers, model.nItems, threads);
  const runId = nextRunId++;
  const scorer = opts.scorer ?? defaultScorerKind();
  if (opts.users) {
    for (const u of opts.users) if (!Number.isInteger(u) || u < 0 || u >= model.nUsers) throw new RangeError(`user index ${u} outside 0..${model.nUsers - 1}`);
  }
  const clusters = clustersFor(data, opts, opts.users ? opts.users.length : model.nUsers, arena);
  const packedItems = !clusters && scorer === 'wasm' ? packedItemTable(model, arena) : undefined;
  return planBlocks(model.nUsers, blockUsers, opts.users).map((b) => ({
    kind: 'recommend',
    runId,
    from: b.from,
    to: b.to,
    ...(b.users ? { users: b.users } : {}),
    target: 'test',
    exclude: [...opts.exclude],
    ks: [opts.k],
    auc: false,
    scorer,
    ...(clusters ? { clusters } : {}),
    ...(packedItems ? { packedItems } : {}),
  }));
}

function assemble(k: number, blocks: RecommendBlockResult[]): Recommendations {
  let rows = 0;
  for (const b of blocks) for (let j = 0; j < b.counts.length; j++) rows += b.counts[j]!;
  const out: Recommendations = {
    k,
    user: new Int32Array(rows),
    rank: new Int32Array(rows),
    item: new Int32Array(rows),
    score: new Float32Array(rows),
  };
  let r = 0;
  for (const b of blocks) {
    for (let j = 0; j < b.users.length; j++) {
      const u = b.users[j]!;
      const c = b.counts[j]!;
      for (let q = 0; q < c; q++) {
        out.user[r] = u;
        out.rank[r] = q + 1;
        out.item[r] = b.items[j * b.k + q]!;
        out.score[r] = b.scores[j * b.k + q]!;
        r++;
      }
    }
  }
  return out;
}

/** Top-k recommendations for every user of `data.model`, block by block through `run` (a pool's workers). */
export async function recommendWith(run: BlockRunner, data: EvalData, opts: RecommendOptions, threads: number, arena: WebAssembly.Memory): Promise<Recommendations> {
  assertFiniteModel(data.model);
  const blocks = await runBlocks<RecommendBlockResult>(tasksFor(data, opts, threads, arena), run, 2 * threads, opts);
  return assemble(opts.k, blocks);
}

/** The same in the calling thread. */
export function recommendLocal(data: EvalData, opts: RecommendOptions): Recommendations {
  assertFiniteModel(data.model);
  const ev = new BlockEvaluator(data);
  const blocks = tasksFor(data, opts, 1, sharedMemory()).map((t) => ev.run(t) as RecommendBlockResult);
  return assemble(opts.k, blocks);
}
