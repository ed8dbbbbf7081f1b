import type { LoadedDataset } from '../data/dataset.js';
import type { EvalResult } from '../eval/evaluate.js';

/** `{ 'ndcg@50': …, 'recall@50': …, …, auc }`: an EvalResult's means under flat names, as metrics.json has them. */
export { flatMetrics } from '../eval/evaluate.js';
import type { PrisModel } from './model.js';

export interface EvaluateOptions {
  /** cutoffs (default [50]) */
  k?: number[];
  /** relevant items: test (train and valid items left out of the ranking) or valid (train items left out) */
  split?: 'test' | 'valid';
  auc?: boolean;
  /** a fixed random sample of this many users with relevant items (pris train's --test-users / --valid-users sample) */
  sampleUsers?: number;
  /** seed of that sample and of the aucSample one (default: the model's training seed, so the samples are the ones its training drew) */
  sampleSeed?: number;
  onProgress?: (done: number, total: number) => void;
  /** with auc on a large catalogue: AUC on a fixed sample of at most this many users, scored in full, and the ranking metrics over every user skipping item clusters (EvalOptions.aucSample) */
  aucSample?: number;
  /** aborting stops handing out blocks: the promise rejects with EvaluationInterrupted once the running ones end */
  signal?: AbortSignal;
}

/** NDCG, Recall, Precision and MAP at each k (and AUC) of `model` on `ds`, the protocol of docs/metrics.md. */
export function evaluate(model: PrisModel, ds: LoadedDataset, opts: EvaluateOptions = {}): Promise<EvalResult> {
  const split = opts.split ?? 'test';
  return model.evaluate(ds, {
    target: split,
    exclude: split === 'test' ? ['train', 'valid'] : ['train'],
    ks: opts.k ?? [50],
    auc: opts.auc ?? false,
    ...(opts.sampleUsers !== undefined ? { sampleUsers: opts.sampleUsers } : {}),
    // The AUC sample is drawn with the same seed: pris train's test draws both with the training seed.
    ...(opts.sampleUsers !== undefined || opts.aucSample !== undefined ? { sampleSeed: opts.sampleSeed ?? model.config.seed } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.aucSample !== undefined ? { aucSample: opts.aucSample } : {}),
  });
}
