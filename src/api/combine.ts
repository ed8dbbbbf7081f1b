import { nnz } from '../data/csr.js';
import { loadDataset, type LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { createArena, withArena } from '../memory/shared.js';
import { allocCombined, partScale, setCombinedUsers } from '../model/combine.js';
import { MODEL_OUTPUT } from '../model/io.js';
import { openOutput } from '../util/output.js';
import { loadModel } from './load.js';
import { checkCompatible, PrisModel, type CombinedInfo } from './model.js';

/** The weights `weight: 'auto'` tries: the second model's share of the score. */
export const COMBINE_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

export interface CombineOptions {
  /**
   * The second model's share of the score, in [0, 1] (0: the first model's
   * ranking, 1: the second's), or 'auto': the best of COMBINE_WEIGHTS on the
   * validation split of `dataset` (both models trained on train only).
   */
  weight: number | 'auto';
  /** The dataset both were trained on: needed for 'auto', and attached to the result (known items, evaluation). */
  dataset?: LoadedDataset;
  /** 'auto': validate on a fixed sample of this many users with validation items (default: the first model's --valid-users; 0 = all). */
  validUsers?: number;
  /** 'auto': the seed of that sample (default: the first model's seed, so pris train's own sample). */
  seed?: number;
  /** 'auto': the NDCG cutoff compared (default: the first model's first --k). */
  k?: number;
  /** Worker threads of the combined model's queries (default: every core). */
  threads?: number;
}

/**
 * One model from two trained on the same dataset (docs/api.md): the rows
 * side by side (src/model/combine.ts), so the score is (1 - w) times the
 * first's plus w times the second's, each on scale 1. The result is an
 * ordinary embedding model of dimension dimA + dimB: it recommends,
 * evaluates and saves like any other; fold-in is refused (each part would
 * need its own loss). Neither input is changed.
 */
export async function combineModels(a: PrisModel, b: PrisModel, opts: CombineOptions): Promise<PrisModel> {
  checkParts(a, b, opts);
  const ds = opts.dataset;
  if (ds) {
    checkCompatible(a, ds, 'the first model');
    checkCompatible(b, ds, 'the second model');
  }
  const A = a.embeddings;
  const B = b.embeddings;
  const scales: [number, number] = [partScale(A), partScale(B)];
  const arena = createArena();
  const store = withArena(arena, () => allocCombined(A, B));
  const first = typeof opts.weight === 'number' ? opts.weight : 0;
  setCombinedUsers(store, A, B, first, scales);
  const combined: CombinedInfo = { weight: first, scales, parts: [partOf(a), partOf(b)] };
  const info = { config: { ...a.config, dim: store.dim }, ...(a.info.dataset ? { dataset: a.info.dataset } : {}), combined };
  const model = new PrisModel(store, arena, info, { users: [...a.userIds], items: [...a.itemIds] }, undefined, undefined, opts.threads);
  if (ds) model.attach(ds, 'the combined model');
  if (opts.weight !== 'auto') return model;
  try {
    const k = opts.k ?? a.config.k[0]!;
    const validUsers = opts.validUsers ?? a.config.validUsers;
    const scores: Record<string, number> = {};
    let best: number = COMBINE_WEIGHTS[0];
    for (const w of COMBINE_WEIGHTS) {
      setCombinedUsers(store, A, B, w, scales);
      const r = await model.evaluate(ds!, {
        target: 'valid',
        exclude: ['train'],
        ks: [k],
        ...(validUsers > 0 ? { sampleUsers: validUsers, sampleSeed: opts.seed ?? a.config.seed } : {}),
      });
      scores[String(w)] = r.perK[0]!.ndcg;
      if (scores[String(w)]! > scores[String(best)]!) best = w;
    }
    setCombinedUsers(store, A, B, best, scales);
    combined.weight = best;
    combined.weight_valid = scores;
    combined.valid_k = k;
    return model;
  } catch (e) {
    await model.close();
    throw e;
  }
}

function partOf(m: PrisModel): CombinedInfo['parts'][number] {
  return { dim: m.dim, ...(m.info.combined ? { combined: m.info.combined } : {}), config: m.config };
}

/** Everything that can be wrong with the request, before any work. */
function checkParts(a: PrisModel, b: PrisModel, opts: CombineOptions): void {
  for (const [m, which] of [[a, 'first'], [b, 'second']] as const) {
    if (m.info.baseline) throw new UserError(`the ${which} model is the ${m.info.baseline} baseline: it has no embeddings to combine`);
  }
  if (a.nUsers !== b.nUsers || a.nItems !== b.nItems) {
    throw new UserError(`the models do not share their users and items: ${a.nUsers} users x ${a.nItems} items against ${b.nUsers} x ${b.nItems}; combine models trained on the same dataset`);
  }
  for (const [what, x, y] of [['user', a.userIds, b.userIds], ['item', a.itemIds, b.itemIds]] as const) {
    if (x.length === 0 || y.length === 0) continue;
    for (let k = 0; k < x.length; k++) {
      if (x[k] !== y[k]) throw new UserError(`the models disagree on ${what} ${k} ('${x[k]}' against '${y[k]}'): combine models trained on the same dataset`);
    }
  }
  const fa = a.info.dataset?.fingerprint;
  const fb = b.info.dataset?.fingerprint;
  if (fa && fb && fa !== fb) throw new UserError(`the models were trained on different splits (fingerprints ${fa} and ${fb}): combine models trained on the same split`);
  if (a.config.trainOn !== b.config.trainOn) {
    throw new UserError(`the first model was trained on ${a.config.trainOn} and the second on ${b.config.trainOn} (--train-on): combine models trained on the same splits`);
  }
  const w = opts.weight;
  if (w !== 'auto' && !(typeof w === 'number' && w >= 0 && w <= 1)) throw new UserError(`the weight must be a number between 0 and 1, or auto (got ${String(w)})`);
  if (w !== 'auto') return;
  if (a.config.trainOn === 'train+valid') {
    throw new UserError("weight 'auto' is chosen on validation, and these models were trained on train+valid: choose it on models trained on train (the validated runs), then give that weight here");
  }
  if (!opts.dataset) throw new UserError("weight 'auto' is chosen on validation: give the dataset the models were trained on");
  if (nnz(opts.dataset.valid) === 0) throw new UserError(`weight 'auto' is chosen on validation, and ${opts.dataset.dir} has no validation split: run 'pris data split' with a validation fraction`);
}

/** `pris combine`: two model directories in, one out. */
export interface CombineJob {
  first: string;
  second: string;
  out: string;
  weight: number | 'auto';
  /** default: the dataset the first model records (config.json) */
  dataset?: string;
  k?: number;
  validUsers?: number;
  seed?: number;
  threads?: number;
  /** replace an earlier model at `out` */
  force?: boolean;
}

/**
 * Combines two saved models into a model directory (the output contract of
 * src/util/output.ts, checked and locked before any work; written atomically),
 * with config.json's `combined` and metrics.json saying how. Returns what was
 * written to metrics.json.
 */
export async function combineJob(job: CombineJob): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const [a, b] = await Promise.all([loadModel(job.first, job.threads ? { threads: job.threads } : {}), loadModel(job.second, job.threads ? { threads: job.threads } : {})]);
  try {
    const dir = job.dataset ?? a.info.dataset?.dir;
    if (job.weight === 'auto' && dir === undefined) throw new UserError(`${job.first} does not record its dataset: give it (--dataset) to choose the weight on validation`);
    using out = await openOutput({ path: job.out, kind: MODEL_OUTPUT, force: job.force, reads: [job.first, job.second, ...(dir !== undefined ? [dir] : [])] });
    const ds = dir !== undefined ? loadDataset(dir) : undefined;
    const m = await combineModels(a, b, {
      weight: job.weight,
      ...(ds ? { dataset: ds } : {}),
      ...(job.k !== undefined ? { k: job.k } : {}),
      ...(job.validUsers !== undefined ? { validUsers: job.validUsers } : {}),
      ...(job.seed !== undefined ? { seed: job.seed } : {}),
      ...(job.threads ? { threads: job.threads } : {}),
    });
    try {
      const c = m.info.combined!;
      const metrics = {
        status: 'ok',
        parts: [job.first, job.second],
        weight: c.weight,
        ...(c.weight_valid ? { weight_valid: c.weight_valid, valid_k: c.valid_k } : {}),
        seconds: (performance.now() - t0) / 1000,
      };
      await m.save(out, metrics);
      return metrics;
    } finally {
      await m.close();
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
