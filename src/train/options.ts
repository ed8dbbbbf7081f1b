import { DEFAULT_LR, LOSS_KINDS, OPTIMIZERS, type LossKind, type OptimizerKind } from '../kernels/codes.js';
import { SAMPLER_KINDS, type SamplerKind } from '../samplers/index.js';
import { POPULARITY_FNS, type PopularityFn } from '../samplers/popularity-weights.js';
import type { InitKind } from '../model/store.js';
import { defaultThreads } from '../pool/pool.js';
import { UserError } from '../errors.js';
import { POSITIVE_WEIGHTS, type PositiveWeighting } from '../data/positive-weights.js';
import type { DataShape } from './resources.js';

/**
 * Every training option, declared once. The `pris train` flags and their
 * --help, validation, `config.json`, the library's `fit` options and the
 * experiments' `--set key=value` are all derived from TRAIN_OPTIONS.
 */
export interface TrainConfig {
  dim: number;
  negatives: number;
  loss: LossKind;
  sampler: SamplerKind;
  popularity: PopularityFn;
  optimizer: OptimizerKind;
  lr: number;
  /** positives per mini-batch (adam only; sgd and adagrad step per sample) */
  batchSize: number;
  /** 'auto': from the number of training interactions (autoReg) */
  reg: number | 'auto';
  /** how a positive's count or rating weighs its step (none: every positive alike) */
  positiveWeights: PositiveWeighting;
  /** ccl: the cosine above which a negative is penalized, and the negatives' total weight w */
  margin: number;
  negativeWeight: number;
  /** each user's vector mixed with the direction of its items' sum, weight w (SimpleX's aggregation; 'auto': chosen on validation) */
  historyWeight: number | 'auto';
  epochs: number;
  threads: number;
  seed: number;
  init: InitKind;
  initStd: number;
  evalEvery: number;
  patience: number;
  /** validate on at most this many users: all with validation items when there are at most this many, else a fixed sample drawn with the seed (0 = all) */
  validUsers: number;
  /** pris train's test evaluation on a fixed sample of this many users with test items, drawn with the seed (0 = every user, exact) */
  testUsers: number;
  k: number[];
  /** 'train+valid' trains on both (the final refit once the epoch count is chosen); no validation then */
  trainOn: TrainOn;
  /** cluster samplers: K, refresh period in epochs, Lloyd iterations, warm start, wait for each refresh */
  clusters: number | 'auto';
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

export const TRAIN_ON = ['train', 'train+valid'] as const;
export type TrainOn = (typeof TRAIN_ON)[number];

/**
 * A configuration with the data-dependent values ('auto') resolved against
 * the training data (resolveAgainstData): what a run trains with and
 * config.json records.
 */
export type RunConfig = Omit<TrainConfig, 'reg' | 'clusters'> & { reg: number; clusters: number };

export type OptionKey = keyof TrainConfig;
export type OptionGroup = 'model' | 'loss and sampler' | 'optimizer' | 'run' | 'validation' | 'cluster samplers' | 'joint samplers' | 'exact sampler';

interface Base<K extends OptionKey> {
  key: K;
  /** the flag, kebab-case, without dashes */
  flag: string;
  /** other names users know it by (implicit, LightFM) */
  aliases?: string[];
  help: string;
  group: OptionGroup;
  /** a default that depends on other options (lr on the optimizer, threads on the machine) */
  derive?: (c: TrainConfig) => TrainConfig[K];
  /** how --help shows a derived default */
  deriveHelp?: string;
}

/** A numeric option that also takes 'auto': a value chosen from the data's shape when the run starts. */
interface Auto {
  /** resolve 'validation': the run picks the value on the validation split once it has trained (train.ts) */
  auto?: { help: string; resolve: ((s: DataShape) => number) | 'validation' };
}

export type OptionSpec =
  | (Base<OptionKey> & Auto & { type: 'int'; default: number | 'auto'; min: number; max: number; multipleOf?: number })
  | (Base<OptionKey> & Auto & { type: 'number'; default: number | 'auto'; min: number; max?: number; exclusiveMin?: boolean })
  | (Base<OptionKey> & { type: 'boolean'; default: boolean })
  | (Base<OptionKey> & { type: 'choice'; default: string; choices: readonly string[] })
  | (Base<OptionKey> & { type: 'intList'; default: number[]; min: number; max: number });

/** Lists longer than this are a typo, not a ranking (and would allocate per-thread buffers of that size). */
export const MAX_K = 100_000;

const MAX_INT = 2 ** 31 - 1;

/**
 * --reg auto. Measured at d 64 with the cluster-popularity sampler
 * (docs/results.md): ml-100k, lastfm and citeulike-t (40,000 to 97,000
 * training interactions) validate best at 0.03, gowalla (728,000) at 0.02;
 * more interactions per parameter need less penalty.
 */
export const AUTO_REG = 0.03;
export const AUTO_REG_KNEE = 100_000;
export function autoReg(trainInteractions: number): number {
  const r = trainInteractions <= AUTO_REG_KNEE ? AUTO_REG : AUTO_REG * Math.pow(trainInteractions / AUTO_REG_KNEE, -0.2);
  return Number(r.toPrecision(3));
}
/** The largest --dim (and the largest combined model's, pris combine). */
export const MAX_DIM = 4096;

/** --history-weight auto: the weights tried on validation once the run has trained */
export const HISTORY_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
/** --clusters auto: the paper's K = 100, fewer on small catalogues (a cluster should hold several items) */
export const AUTO_CLUSTERS = 100;

export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  { key: 'dim', flag: 'dim', aliases: ['factors'], type: 'int', default: 64, min: 4, max: MAX_DIM, multipleOf: 4, group: 'model', help: 'embedding dimension d (a multiple of 4: the kernels use 4-lane SIMD)' },
  { key: 'negatives', flag: 'negatives', aliases: ['L'], type: 'int', default: 5, min: 1, max: 4096, group: 'loss and sampler', help: 'negatives L sampled per positive (fewer than the items)' },
  { key: 'loss', flag: 'loss', type: 'choice', choices: LOSS_KINDS, default: 'pris', group: 'loss and sampler', help: 'pris: importance weights with gradient through them; sa: weights held constant; bpr: uniform weights 1/L; ccl: cosine contrastive loss (SimpleX) on unit rows, with --optimizer sgd or adagrad-row' },
  { key: 'sampler', flag: 'sampler', type: 'choice', choices: SAMPLER_KINDS, default: 'cluster-popularity', group: 'loss and sampler', help: 'negative sampler (proposal Q)' },
  { key: 'popularity', flag: 'popularity', type: 'choice', choices: POPULARITY_FNS, default: 'log1p', group: 'loss and sampler', help: 'popularity f(c) of an item with c training interactions' },
  { key: 'optimizer', flag: 'optimizer', type: 'choice', choices: OPTIMIZERS, default: 'adagrad-row', group: 'optimizer', help: 'adagrad, adagrad-row and sgd step per sample (Hogwild); adam sums mini-batches of --batch-size positives per worker (the paper)' },
  {
    key: 'lr', flag: 'lr', aliases: ['learning-rate'], type: 'number', default: DEFAULT_LR['adagrad-row'], min: 0, exclusiveMin: true, group: 'optimizer',
    help: 'learning rate',
    derive: (c) => DEFAULT_LR[c.optimizer],
    deriveHelp: Object.entries(DEFAULT_LR).map(([k, v]) => `${k} ${v}`).join(', '),
  },
  { key: 'batchSize', flag: 'batch-size', type: 'int', default: 128, min: 1, max: 1 << 20, group: 'optimizer', help: 'positives per mini-batch, adam only' },
  {
    key: 'reg', flag: 'reg', aliases: ['regularization'], type: 'number', default: 'auto', min: 0, group: 'optimizer',
    help: 'L2 activity penalty: (reg/2)||row||^2 per use of a row in a sample',
    auto: { help: `${AUTO_REG} up to ${AUTO_REG_KNEE.toLocaleString('en-US')} training interactions n, ${AUTO_REG} (n/${AUTO_REG_KNEE.toLocaleString('en-US')})^-0.2 above`, resolve: (s) => autoReg(s.train) },
  },
  { key: 'epochs', flag: 'epochs', aliases: ['iterations'], type: 'int', default: 500, min: 1, max: 1_000_000, group: 'run', help: 'maximum epochs (passes over the training interactions)' },
  { key: 'seed', flag: 'seed', type: 'int', default: 1, min: 0, max: MAX_INT, group: 'run', help: 'seed of initialisation and sampling; with --threads 1 runs are bit-for-bit reproducible' },
  { key: 'init', flag: 'init', type: 'choice', choices: ['glorot', 'normal'], default: 'glorot', group: 'model', help: 'initialisation: Glorot normal (as the authors) or normal(0, --init-std)' },
  { key: 'initStd', flag: 'init-std', type: 'number', default: 0.01, min: 0, max: 10, exclusiveMin: true, group: 'model', help: 'standard deviation for --init normal' },
  { key: 'evalEvery', flag: 'eval-every', type: 'int', default: 5, min: 0, max: MAX_INT, group: 'validation', help: 'validate every N epochs (0 = never)' },
  { key: 'patience', flag: 'patience', type: 'int', default: 5, min: 0, max: MAX_INT, group: 'validation', help: 'stop after N validations without improvement (0 = run all epochs)' },
  { key: 'k', flag: 'k', type: 'intList', default: [50], min: 1, max: MAX_K, group: 'validation', help: 'cutoffs for the metrics (the first one for validation); repeat or comma-separate' },
  {
    key: 'clusters', flag: 'clusters', type: 'int', default: 'auto', min: 1, max: 1 << 20, group: 'cluster samplers',
    help: 'number of K-means clusters K (at most the items)',
    auto: { help: `${AUTO_CLUSTERS}, or a tenth of the items when fewer than ${10 * AUTO_CLUSTERS}`, resolve: (s) => Math.max(1, Math.min(AUTO_CLUSTERS, Math.floor(s.nItems / 10))) },
  },
  { key: 'clusterEvery', flag: 'cluster-every', type: 'int', default: 1, min: 1, max: MAX_INT, group: 'cluster samplers', help: 'refresh the clustering every N epochs (on its own worker, while SGD goes on)' },
  { key: 'clusterIterations', flag: 'cluster-iterations', type: 'int', default: 3, min: 1, max: 10_000, group: 'cluster samplers', help: 'Lloyd iterations per refresh (at least 10 when starting from k-means++)' },
  { key: 'clusterWarm', flag: 'cluster-warm', type: 'boolean', default: true, group: 'cluster samplers', help: 'start each refresh from the last centers (--no-cluster-warm: k-means++ every time)' },
  {
    key: 'clusterSync', flag: 'cluster-sync', type: 'boolean', default: false, group: 'cluster samplers',
    help: 'wait for each refresh before the next epoch',
    derive: (c) => c.threads === 1,
    deriveHelp: 'only with --threads 1, which keeps runs reproducible',
  },
  { key: 'exactMaskTop', flag: 'exact-mask-top', type: 'int', default: 0, min: 0, max: MAX_INT, group: 'exact sampler', help: "also exclude the user's N best-scored non-positives (the authors' guard against false negatives)" },
  { key: 'jointSamples', flag: 'joint-samples', type: 'int', default: 50_000, min: 1, max: MAX_INT, group: 'joint samplers', help: 'training samples of the cluster loss per refresh' },
  { key: 'jointTemperature', flag: 'joint-temperature', type: 'number', default: 0.9, min: 0, max: 1e6, exclusiveMin: true, group: 'joint samplers', help: 'softmax temperature T of the soft assignment (Eq. 17)' },
  { key: 'jointAnneal', flag: 'joint-anneal', type: 'boolean', default: false, group: 'joint samplers', help: 'anneal T geometrically from 1 to 0.1 over the run instead' },
  { key: 'jointLr', flag: 'joint-lr', type: 'number', default: 0.001, min: 0, max: 1e6, exclusiveMin: true, group: 'joint samplers', help: "Adam learning rate of the clustering's parameters" },
  { key: 'trainOn', flag: 'train-on', type: 'choice', choices: TRAIN_ON, default: 'train', group: 'run', help: 'train+valid: final refit on both, with the epoch count chosen on validation' },
  {
    key: 'validUsers', flag: 'valid-users', type: 'int', default: 20_000, min: 0, max: MAX_INT, group: 'validation',
    help: 'validate on at most N users: every user with validation items when there are at most N, else a fixed sample of N drawn with --seed, the same at every validation (0 = always every user; docs/metrics.md says why this size)',
  },
  {
    key: 'testUsers', flag: 'test-users', type: 'int', default: 0, min: 0, max: MAX_INT, group: 'validation',
    help: 'evaluate the test split after training on a fixed sample of N users with test items, drawn with --seed (0 = every user, exact); the same sample as pris evaluate --test-users N --seed S',
  },
  // Options added later go here, before threads: results.csv keeps its earlier columns in place.
  {
    key: 'positiveWeights', flag: 'positive-weights', type: 'choice', choices: POSITIVE_WEIGHTS, default: 'none', group: 'loss and sampler',
    help: "weigh each positive's step by g(its count or rating), normalised to mean 1 per user (datasets with a weight column)",
  },
  { key: 'margin', flag: 'margin', type: 'number', default: 0.7, min: -1, max: 1, group: 'loss and sampler', help: 'ccl: negatives whose cosine to the user exceeds this are pushed away' },
  { key: 'negativeWeight', flag: 'negative-weight', type: 'number', default: 150, min: 0, max: 1e6, group: 'loss and sampler', help: 'ccl: weight w of the negatives\' mean hinge against the positive\'s 1 - cosine' },
  {
    key: 'historyWeight', flag: 'history-weight', type: 'number', default: 0, min: 0, max: 1, group: 'model',
    help: "mix each user's vector with the direction of the sum of its items' rows, weight w, once trained (SimpleX's behaviour aggregation; 0 = off); also applied to folded-in users",
    auto: { help: `the best of ${HISTORY_WEIGHTS.join(', ')} on validation NDCG at the first --k`, resolve: 'validation' },
  },
  {
    key: 'threads', flag: 'threads', aliases: ['t'], type: 'int', default: 1, min: 1, max: 4096, group: 'run',
    help: 'worker threads (more than the cores is lowered to the cores)',
    derive: () => defaultThreads(),
    deriveHelp: `every core (${defaultThreads()} here)`,
  },
];

const BY_KEY = new Map<string, OptionSpec>(TRAIN_OPTIONS.map((o) => [o.key, o]));

/** The option named by a config key (`batchSize`), a flag (`batch-size`) or an alias (`factors`). */
export function findOption(name: string): OptionSpec | undefined {
  const camel = name.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
  return BY_KEY.get(name) ?? BY_KEY.get(camel) ?? TRAIN_OPTIONS.find((o) => o.flag === name || o.aliases?.includes(name));
}

/** The static defaults (before the derived ones: lr by optimizer, threads by cores, clusterSync by threads). */
export const DEFAULTS: Readonly<TrainConfig> = Object.freeze(
  Object.fromEntries(TRAIN_OPTIONS.map((o) => [o.key, o.default])) as unknown as TrainConfig,
);

function fail(o: OptionSpec, what: string, got: unknown): never {
  throw new UserError(`--${o.flag} must be ${what} (got ${typeof got === 'string' ? `'${got}'` : JSON.stringify(got)})`);
}

function checkNumber(o: OptionSpec & { type: 'int' | 'number' }, v: unknown): number | 'auto' {
  if (v === 'auto' && o.auto) return v;
  const what = o.type === 'int' ? 'an integer' : 'a number';
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(o, o.auto ? `${what} or auto` : what, v);
  if (o.type === 'int' && !Number.isInteger(v)) fail(o, 'an integer', v);
  const low = o.type === 'number' && o.exclusiveMin ? v <= o.min : v < o.min;
  if (low || (o.max !== undefined && v > o.max)) {
    const lower = o.type === 'number' && o.exclusiveMin ? `> ${o.min}` : `>= ${o.min}`;
    const range = o.max === undefined ? lower : o.type === 'number' && o.exclusiveMin ? `${lower} and <= ${o.max}` : `between ${o.min} and ${o.max}`;
    fail(o, `${o.type === 'int' ? 'an integer' : 'a number'} ${range}`, v);
  }
  if (o.type === 'int' && o.multipleOf && v % o.multipleOf !== 0) fail(o, `a multiple of ${o.multipleOf} (${o.help})`, v);
  return v;
}

/** Checks one value against its declaration; a UserError names the flag and what it accepts. */
export function checkValue(o: OptionSpec, v: unknown): TrainConfig[OptionKey] {
  switch (o.type) {
    case 'int':
    case 'number':
      return checkNumber(o, v);
    case 'boolean':
      if (typeof v !== 'boolean') fail(o, 'true or false', v);
      return v;
    case 'choice':
      if (typeof v !== 'string' || !o.choices.includes(v)) fail(o, `one of ${o.choices.join(', ')}`, v);
      return v as TrainConfig[OptionKey];
    case 'intList': {
      if (!Array.isArray(v) || v.length === 0) fail(o, 'a non-empty list of integers', v);
      for (const x of v) {
        if (!Number.isInteger(x) || x < o.min || x > o.max) fail(o, `integers between ${o.min} and ${o.max}`, v);
      }
      return [...(v as number[])];
    }
  }
}

/** Parses text (a flag's value, `--set key=value`) into the option's type, then checks it. */
export function parseValue(o: OptionSpec, raw: string): TrainConfig[OptionKey] {
  const text = raw.trim();
  switch (o.type) {
    case 'int':
    case 'number': {
      if (text === 'auto') return checkValue(o, text);
      const n = text === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) fail(o, `${o.type === 'int' ? 'an integer' : 'a number'}${o.auto ? ' or auto' : ''}`, raw);
      return checkValue(o, n);
    }
    case 'boolean': {
      const t = text.toLowerCase();
      if (['true', '1', 'yes'].includes(t)) return true;
      if (['false', '0', 'no'].includes(t)) return false;
      return fail(o, 'true or false', raw);
    }
    case 'choice':
      return checkValue(o, text);
    case 'intList':
      return checkValue(o, text.split(',').filter((x) => x.trim() !== '').map((x) => Number(x)));
  }
}

/**
 * A complete, validated configuration from any subset of options: what is
 * missing takes its default (derived ones after the rest), every value is
 * checked against its declaration, unknown keys are refused.
 */
export function resolveTrainConfig(given: Partial<TrainConfig> = {}): TrainConfig {
  for (const key of Object.keys(given)) {
    if (!BY_KEY.has(key)) throw new UserError(`unknown training option '${key}' (known: ${TRAIN_OPTIONS.map((o) => o.key).join(', ')})`);
  }
  const out: Record<string, unknown> = {};
  const isSet = (o: OptionSpec) => (given as Record<string, unknown>)[o.key] !== undefined;
  for (const o of TRAIN_OPTIONS) if (isSet(o) || !o.derive) out[o.key] = isSet(o) ? checkValue(o, (given as Record<string, unknown>)[o.key]) : structuredClone(o.default);
  // Derived defaults see the checked values of everything else.
  for (const o of TRAIN_OPTIONS) if (!isSet(o) && o.derive) out[o.key] = checkValue(o, o.derive(out as unknown as TrainConfig));
  const c = out as unknown as TrainConfig;
  // Its rows live on the unit sphere: a step is a tangent move and a renormalization. A per-row step size keeps
  // the move tangent; per-element state (adagrad, adam) would turn it off the tangent plane.
  if (c.loss === 'ccl' && c.optimizer !== 'sgd' && c.optimizer !== 'adagrad-row') {
    throw new UserError(`--loss ccl trains with --optimizer sgd or adagrad-row (got --optimizer ${c.optimizer})`);
  }
  if (c.historyWeight === 'auto' && (c.trainOn === 'train+valid' || c.evalEvery === 0)) {
    throw new UserError(`--history-weight auto is chosen on validation, and ${c.trainOn === 'train+valid' ? '--train-on train+valid' : '--eval-every 0'} does not validate: give a number (for a refit, the one its validated run chose)`);
  }
  return c;
}

/** The options whose values differ from what resolveTrainConfig({}) would give: a short description of a run. */
export function changedOptions(c: TrainConfig): Partial<TrainConfig> {
  const base = resolveTrainConfig({ threads: c.threads });
  const out: Record<string, unknown> = {};
  for (const o of TRAIN_OPTIONS) {
    if (JSON.stringify(c[o.key]) !== JSON.stringify(base[o.key])) out[o.key] = c[o.key];
  }
  return out as Partial<TrainConfig>;
}

/** The options that take 'auto' and what they resolve to (for --help and docs). */
export const AUTO_OPTIONS = TRAIN_OPTIONS.filter((o): o is OptionSpec & Required<Auto> => 'auto' in o && o.auto !== undefined);

/** The configuration a run trains with: every 'auto' resolved from the data's shape replaced by its value (historyWeight's waits for validation). */
export function resolveAgainstData(c: TrainConfig, s: DataShape): RunConfig {
  const out: Record<string, unknown> = { ...c };
  for (const o of AUTO_OPTIONS) {
    const resolve = o.auto.resolve;
    if (out[o.key] === 'auto' && resolve !== 'validation') out[o.key] = resolve(s);
  }
  return out as RunConfig;
}
