import * as path from 'node:path';
import { nnz } from '../data/csr.js';
import { loadDataset, type LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { createArena, withArena } from '../memory/shared.js';
import { allocCombined, partNorms, setCombinedUsers } from '../model/combine.js';
import { MODEL_OUTPUT } from '../model/io.js';
import { MAX_DIM } from '../train/options.js';
import { openOutput } from '../util/output.js';
import { readModelInfo, withModels } from './load.js';
import { checkCompatible, PrisModel, type CombinedInfo, type ModelInfo } from './model.js';

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
  checkRequest(a.info, b.info, opts, opts.dataset !== undefined);
  checkShapes(a, b);
  const ds = opts.dataset;
  if (ds) {
    checkCompatible(a, ds, 'the first model');
    checkCompatible(b, ds, 'the second model');
    if (opts.weight === 'auto' && nnz(ds.valid) === 0) throw new UserError(`weight 'auto' is chosen on validation, and ${ds.dir} has no validation split: run 'pris data split' with a validation fraction`);
  }
  const A = a.embeddings;
  const B = b.embeddings;
  const norms = [partNorms(A), partNorms(B)] as const;
  const arena = createArena();
  const store = withArena(arena, () => allocCombined(A, B, norms));
  const first = typeof opts.weight === 'number' ? opts.weight : 0;
  setCombinedUsers(store, A, B, first, norms);
  const combined: CombinedInfo = { weight: first, norms: [norms[0], norms[1]], parts: [partOf(a), partOf(b)] };
  const trainedOn = ds ? { dir: ds.dir, ...(ds.meta.split?.fingerprint ? { fingerprint: ds.meta.split.fingerprint } : {}) } : (a.info.dataset ?? b.info.dataset);
  const info: ModelInfo = { config: { ...a.config, dim: store.dim }, ...(trainedOn ? { dataset: trainedOn } : {}), combined };
  // Its ids are the first part's, checked against `ds` above: attached without reading them again.
  const model = new PrisModel(store, arena, info, { users: [...a.userIds], items: [...a.itemIds] }, ds, undefined, opts.threads);
  try {
    if (opts.weight !== 'auto') return model;
    const k = opts.k ?? a.config.k[0]!;
    const validUsers = opts.validUsers ?? a.config.validUsers;
    const scores: Record<string, number> = {};
    let best: number = COMBINE_WEIGHTS[0];
    for (const w of COMBINE_WEIGHTS) {
      setCombinedUsers(store, A, B, w, norms);
      const r = await model.evaluate(ds!, {
        target: 'valid',
        exclude: ['train'],
        ks: [k],
        ...(validUsers > 0 ? { sampleUsers: validUsers, sampleSeed: opts.seed ?? a.config.seed } : {}),
      });
      scores[String(w)] = r.perK[0]!.ndcg;
      if (scores[String(w)]! > scores[String(best)]!) best = w;
    }
    setCombinedUsers(store, A, B, best, norms);
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

const isInt = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);

/** What the parts' config.json and the options decide: checked before any embeddings are read. */
function checkRequest(a: ModelInfo, b: ModelInfo, opts: Omit<CombineOptions, 'dataset'>, hasDataset: boolean): void {
  for (const [m, which] of [[a, 'first'], [b, 'second']] as const) {
    if (m.baseline) throw new UserError(`the ${which} model is the ${m.baseline} baseline: it has no embeddings to combine`);
  }
  if (a.config.dim + b.config.dim > MAX_DIM) throw new UserError(`the combined dimension ${a.config.dim} + ${b.config.dim} is over pris's limit of ${MAX_DIM}`);
  const fa = a.dataset?.fingerprint;
  const fb = b.dataset?.fingerprint;
  if (fa && fb && fa !== fb) throw new UserError(`the models were trained on different splits (fingerprints ${fa} and ${fb}): combine models trained on the same split`);
  if (a.config.trainOn !== b.config.trainOn) {
    throw new UserError(`the first model was trained on ${a.config.trainOn} and the second on ${b.config.trainOn} (--train-on): combine models trained on the same splits`);
  }
  const w = opts.weight;
  if (w !== 'auto' && !(typeof w === 'number' && w >= 0 && w <= 1)) throw new UserError(`the weight must be a number between 0 and 1, or auto (got ${String(w)})`);
  if (!isInt(opts.k, 1) || !isInt(opts.validUsers, 0) || !isInt(opts.seed, 0) || !isInt(opts.threads, 1)) {
    throw new UserError(`k and threads must be integers >= 1, validUsers and seed integers >= 0 (got k ${opts.k}, validUsers ${opts.validUsers}, seed ${opts.seed}, threads ${opts.threads})`);
  }
  if (w !== 'auto') {
    const given = (['k', 'validUsers', 'seed'] as const).filter((o) => opts[o] !== undefined);
    if (given.length > 0) throw new UserError(`${given.join(', ')} apply to weight 'auto' only: a given weight is not chosen on validation`);
    return;
  }
  if (a.config.trainOn === 'train+valid') {
    throw new UserError("weight 'auto' is chosen on validation, and these models were trained on train+valid: choose it on models trained on train (the validated runs), then give that weight here");
  }
  if (!hasDataset) throw new UserError("weight 'auto' is chosen on validation: give the dataset the models were trained on");
}

/** Same users and items in the same order (needs the loaded models: the ids). */
function checkShapes(a: PrisModel, b: PrisModel): void {
  if (a.nUsers !== b.nUsers || a.nItems !== b.nItems) {
    throw new UserError(`the models do not share their users and items: ${a.nUsers} users x ${a.nItems} items against ${b.nUsers} x ${b.nItems}; combine models trained on the same dataset`);
  }
  for (const [what, x, y] of [['user', a.userIds, b.userIds], ['item', a.itemIds, b.itemIds]] as const) {
    if (x.length === 0 || y.length === 0) continue;
    for (let k = 0; k < x.length; k++) {
      if (x[k] !== y[k]) throw new UserError(`the models disagree on ${what} ${k} ('${x[k]}' against '${y[k]}'): combine models trained on the same dataset`);
    }
  }
}

/** What a combined model's metrics.json records of how it was made. */
export function combineSummary(parts: readonly string[], c: CombinedInfo): Record<string, unknown> {
  return { status: 'ok', parts, weight: c.weight, ...(c.weight_valid ? { weight_valid: c.weight_valid, valid_k: c.valid_k } : {}) };
}

/** `pris combine`: two model directories in, one out. */
export interface CombineJob extends Omit<CombineOptions, 'dataset'> {
  first: string;
  second: string;
  out: string;
  /** needed for weight 'auto' (default then: the dataset the first model records); with a given weight, attached only when named */
  dataset?: string;
  /** replace an earlier model at `out` */
  force?: boolean;
}

/**
 * Combines two saved models into a model directory, with config.json's
 * `combined` and metrics.json saying how. The parts' configurations and the
 * output (src/util/output.ts: checked and locked) are checked before any
 * embeddings are read; the directory is written atomically. Returns what was
 * written to metrics.json.
 */
export async function combineJob(job: CombineJob): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const first = path.resolve(job.first);
  const second = path.resolve(job.second);
  const [ia, ib] = [readModelInfo(first), readModelInfo(second)];
  const dir = job.dataset ?? (job.weight === 'auto' ? ia.dataset?.dir : undefined);
  if (job.weight === 'auto' && dir === undefined) throw new UserError(`${job.first} does not record its dataset: give it (--dataset) to choose the weight on validation`);
  const opts: Omit<CombineOptions, 'dataset'> = {
    weight: job.weight,
    ...(job.k !== undefined ? { k: job.k } : {}),
    ...(job.validUsers !== undefined ? { validUsers: job.validUsers } : {}),
    ...(job.seed !== undefined ? { seed: job.seed } : {}),
    ...(job.threads !== undefined ? { threads: job.threads } : {}),
  };
  checkRequest(ia, ib, opts, dir !== undefined);
  using out = await openOutput({ path: job.out, kind: MODEL_OUTPUT, force: job.force, reads: [first, second, ...(dir !== undefined ? [dir] : [])] });
  const ds = dir !== undefined ? loadDataset(dir) : undefined;
  return await withModels([first, second], job.threads ? { threads: job.threads } : {}, async ([a, b]) => {
    const m = await combineModels(a!, b!, { ...opts, ...(ds ? { dataset: ds } : {}) });
    try {
      const metrics = { ...combineSummary([first, second], m.info.combined!), seconds: (performance.now() - t0) / 1000 };
      await m.save(out, metrics);
      return metrics;
    } finally {
      await m.close();
    }
  });
}
