import { DEFAULT_LR, LOSS_KINDS, OPTIMIZERS, type LossKind, type OptimizerKind } from '../kernels/codes.js';
import { SAMPLER_KINDS, type SamplerKind } from '../samplers/index.js';
import { POPULARITY_FNS, type PopularityFn } from '../samplers/popularity-weights.js';
import type { InitKind } from '../model/store.js';
import { UserError } from '../errors.js';
import { POSITIVE_WEIGHTS, type PositiveWeighting } from '../data/positive-weights.js';

export const SCORE_KINDS = ['dot', 'cosine'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];
export const LR_SCHEDULES = ['constant', 'linear', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/** Everything that determines a training run; written to <model>/config.json. */
export interface TrainConfig {
  dim: number;
  negatives: number;
  loss: LossKind;
  sampler: SamplerKind;
  popularity: PopularityFn;
  optimizer: OptimizerKind;
  lr: number;
  /** learning rate over the run: constant, or decayed to 0 at the last epoch (linear, cosine) */
  lrSchedule: LrSchedule;
  /** positives per mini-batch (adam only; sgd and adagrad step per sample) */
  batchSize: number;
  /** activity penalty, or 'auto': derived from the number of training interactions (autoReg) */
  reg: number | 'auto';
  /** scores u . v (dot) or cos(u, v) / temperature (cosine) */
  score: ScoreKind;
  temperature: number;
  /** a training positive's weight from its count or rating (none: all 1) */
  positiveWeights: PositiveWeighting;
  epochs: number;
  threads: number;
  seed: number;
  init: InitKind;
  initStd: number;
  evalEvery: number;
  patience: number;
  /** early stopping also waits until the best epoch is this share of the run behind (0: patience alone) */
  patienceFraction: number;
  k: number[];
  /** cluster samplers: K, refresh period in epochs, Lloyd iterations, warm start, wait for each refresh */
  clusters: number;
  clusterEvery: number;
  clusterIterations: number;
  clusterWarm: boolean;
  clusterSync: boolean;
  /** exact sampler: also exclude the user's this-many best-scored non-positives */
  exactMaskTop: number;
  /** joint samplers: samples of the cluster loss per refresh, temperature (or annealed from 1 to 0.1), Adam lr */
  jointSamples: number;
  jointTemperature: number;
  jointAnneal: boolean;
  jointLr: number;
}

export const DEFAULTS: Omit<TrainConfig, 'threads'> = {
  dim: 32,
  negatives: 5,
  loss: 'pris',
  sampler: 'popularity',
  popularity: 'log1p',
  // Measured best validation NDCG@50 per second of SGD on gowalla: docs/results.md.
  optimizer: 'adagrad-row',
  lr: DEFAULT_LR['adagrad-row'],
  batchSize: 128,
  reg: 0.02,
  epochs: 100,
  seed: 1,
  init: 'glorot',
  initStd: 0.01,
  evalEvery: 5,
  patience: 0,
  k: [50],
  clusters: 100,
  clusterEvery: 1,
  clusterIterations: 3,
  clusterWarm: true,
  clusterSync: false,
  exactMaskTop: 0,
  jointSamples: 50_000,
  jointTemperature: 0.9,
  jointAnneal: false,
  jointLr: 0.001,
  lrSchedule: 'constant',
  score: 'dot',
  temperature: 0.1,
  positiveWeights: 'none',
  patienceFraction: 0,
};

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UserError(`--${name} must be one of ${allowed.join(', ')} (got '${v}')`);
  }
  return v as T;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new UserError(`--${name} must be an integer >= ${min} (got ${v})`);
  return v;
}

function nonNegative(name: string, v: number, strict = false): number {
  if (!Number.isFinite(v) || v < 0 || (strict && v === 0)) {
    throw new UserError(`--${name} must be a ${strict ? 'positive' : 'non-negative'} number (got ${v})`);
  }
  return v;
}

/** Validates a config assembled from flags; every error names the flag and the allowed values. */
export function validateConfig(c: TrainConfig): TrainConfig {
  positiveInt('dim', c.dim);
  if (c.dim % 4 !== 0) throw new UserError(`--dim must be a multiple of 4 (the kernels use 4-lane SIMD); got ${c.dim}`);
  positiveInt('negatives', c.negatives);
  oneOf('loss', c.loss, LOSS_KINDS);
  oneOf('sampler', c.sampler, SAMPLER_KINDS);
  oneOf('popularity', c.popularity, POPULARITY_FNS);
  oneOf('optimizer', c.optimizer, OPTIMIZERS);
  oneOf('init', c.init, ['glorot', 'normal'] as const);
  oneOf('score', c.score, SCORE_KINDS);
  oneOf('lr-schedule', c.lrSchedule, LR_SCHEDULES);
  oneOf('positive-weights', c.positiveWeights, POSITIVE_WEIGHTS);
  if (c.positiveWeights !== 'none' && c.optimizer === 'adam') throw new UserError('--positive-weights steps per sample: use --optimizer adagrad, adagrad-row or sgd');
  nonNegative('temperature', c.temperature, true);
  if (c.score === 'cosine' && c.optimizer === 'adam') throw new UserError('--score cosine steps per sample: use --optimizer adagrad, adagrad-row or sgd');
  nonNegative('lr', c.lr, true);
  if (c.reg !== 'auto') nonNegative('reg', c.reg);
  nonNegative('init-std', c.initStd, true);
  positiveInt('batch-size', c.batchSize);
  positiveInt('epochs', c.epochs);
  positiveInt('threads', c.threads);
  positiveInt('seed', c.seed, 0);
  positiveInt('eval-every', c.evalEvery, 0);
  positiveInt('patience', c.patience, 0);
  nonNegative('patience-fraction', c.patienceFraction);
  if (c.patienceFraction >= 1) throw new UserError(`--patience-fraction must be below 1 (got ${c.patienceFraction})`);
  positiveInt('clusters', c.clusters);
  positiveInt('cluster-every', c.clusterEvery);
  positiveInt('cluster-iterations', c.clusterIterations);
  positiveInt('exact-mask-top', c.exactMaskTop, 0);
  positiveInt('joint-samples', c.jointSamples);
  nonNegative('joint-temperature', c.jointTemperature, true);
  nonNegative('joint-lr', c.jointLr, true);
  if (c.k.length === 0) throw new UserError('--k needs at least one cutoff');
  for (const k of c.k) positiveInt('k', k);
  return c;
}

/** The learning rate of epoch `epoch` (1-based) under the schedule: decays reach 0 only after the last epoch. */
export function epochLr(c: Pick<TrainConfig, 'lr' | 'lrSchedule' | 'epochs'>, epoch: number): number {
  const done = (epoch - 1) / c.epochs;
  if (c.lrSchedule === 'linear') return c.lr * (1 - done);
  if (c.lrSchedule === 'cosine') return c.lr * 0.5 * (1 + Math.cos(Math.PI * done));
  return c.lr;
}

/**
 * The activity penalty for a training set of `interactions` positives when
 * --reg is auto: 0.03 up to 100,000 interactions, then falling as
 * (interactions / 100,000)^-0.2 (gowalla's 727,869: 0.0202). Fitted on the
 * best validated reg of ml-100k, lastfm, citeulike-t (0.03 each at d 64) and
 * gowalla (0.02), docs/results.md; larger data needs less shrinkage.
 */
export function autoReg(interactions: number): number {
  const r = 0.03 * Math.min(1, Math.pow(Math.max(1, interactions) / 100_000, -0.2));
  return Math.round(r * 10_000) / 10_000;
}

/** The config with an 'auto' reg replaced by its value for this training set. */
export function withResolvedReg<T extends { reg: number | 'auto' }>(c: T, interactions: number): T & { reg: number } {
  return { ...c, reg: c.reg === 'auto' ? autoReg(interactions) : c.reg };
}
