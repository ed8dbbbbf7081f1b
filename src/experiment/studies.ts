/**
 * The paper's studies as data: each is a list of named configurations (what
 * it varies from the defaults), the axis they lie on, the paper values beside
 * them, and which plots to draw. The runner, the tables and the plots are
 * shared (experiment-run.ts, experiment-report.ts).
 *
 * Names used across studies:
 *   PRIS-U      PRIS loss, uniform sampler (the paper's PRIS-Uniform)
 *   PRIS-Joint  PRIS loss, cluster-popularity-joint sampler (the paper's CPJ,
 *               its best sampler and its "PRIS" in Table 2). Where pris has no
 *               joint samplers the studies use PRIS-CP instead: the
 *               cluster-popularity sampler (K-means), the paper's best other
 *   SA          self-adversarial weights (no gradient through them), uniform sampler
 *   BPR         weights 1/L, uniform sampler
 */
import { SAMPLER_KINDS, type SamplerKind } from '../samplers/index.js';
import { OPTIMIZERS } from '../kernels/codes.js';
import { UserError } from '../errors.js';
import type { ConfigKey, ConfigPatch } from './config.js';
import type { PaperRef } from './paper.js';

/** One configuration of a study (run once per seed). */
export interface RunSpec {
  /** unique within the study, e.g. 'PRIS-U L=10' */
  name: string;
  /** one line (or bar group) per series */
  series: string;
  /** the value on the study's axis */
  x: number | string;
  /** what this configuration sets (wins over --set) */
  vary: ConfigPatch;
  /**
   * Not trained: the two configurations named (earlier in the study) made one
   * model (pris combine), the weight chosen on their validated models and
   * applied to their refits. Skipping either part skips it.
   */
  combine?: readonly [string, string];
  /** the paper's number for this configuration, if it has one */
  paper?: PaperRef;
}

/** Values the tables and plots can show (see experiment-report.ts). */
export type MetricKey =
  | 'ndcg'
  | 'recall'
  | 'valid'
  | 'best_epoch'
  | 'epochs_run'
  | 'train_seconds'
  | 'epoch_seconds'
  | 'positives_per_second'
  | 'speedup'
  | 'draws_per_negative'
  | 'cluster_seconds'
  | 'selection_seconds'
  | 'lr';

export type PlotSpec =
  /** y against the study's axis, one line per series (or bars, for a categorical axis) */
  | { kind: 'metric'; file: string; y: MetricKey; title: string; with?: 'paper' | 'ideal' }
  /** several values side by side per configuration (e.g. SGD and clustering seconds) */
  | { kind: 'bars'; file: string; ys: MetricKey[]; yTitle: string; title: string }
  /** validation NDCG against cumulative SGD seconds, from each run's history */
  | { kind: 'curve'; file: string; title: string };

export interface StudyOptions {
  /** thread counts: the threads study sweeps them; every other study uses the last */
  threads: number[];
}

/** The threads study's default counts: every count up to 8, then powers of two and N itself (64 runs on a 64-core machine would be too many). */
export function threadSweep(max: number): number[] {
  const out: number[] = [];
  for (let t = 1; t <= max; t = t < 8 ? t + 1 : t * 2) out.push(t);
  if (out.at(-1) !== max) out.push(max);
  return out;
}

export const STUDY_NAMES = ['samplers', 'losses', 'negatives', 'dim', 'clusters', 'threads', 'optimizers', 'lightgcn'] as const;
export type StudyName = (typeof STUDY_NAMES)[number];

export interface Study {
  name: StudyName;
  title: string;
  /** what it reproduces from the paper, for the table's heading and the docs */
  reproduces: string;
  axis: { title: string; scale?: 'linear' | 'log2'; categorical?: boolean };
  /** under --set: settings the study needs to be meaningful (e.g. validate every epoch) */
  defaults: ConfigPatch;
  /** the fields its runs set (a --set of one of these is ignored, with a note) */
  varies: ConfigKey[];
  /** metrics shown after NDCG/Recall in its table */
  columns: MetricKey[];
  /**
   * each configuration's validated run only chooses the epochs: a refit on
   * train + valid for its best validated epoch is what the test scores
   */
  refit?: boolean;
  runs(o: StudyOptions): RunSpec[];
  plots: PlotSpec[];
}

const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
};

/**
 * The paper's best sampler: learned jointly with the model (CPJ). Chosen by
 * name so this file also builds against a pris without joint samplers.
 */
const JOINT: string = 'cluster-popularity-joint';
export const BEST_SAMPLER: SamplerKind = (SAMPLER_KINDS as readonly string[]).includes(JOINT) ? (JOINT as SamplerKind) : 'cluster-popularity';
export const BEST_SERIES = BEST_SAMPLER === 'cluster-popularity' ? 'PRIS-CP' : 'PRIS-Joint';

/** The three models of the paper's sensitivity figures (3 and 4). */
const SENSITIVITY_SERIES: { series: string; vary: ConfigPatch }[] = [
  { series: BEST_SERIES, vary: { loss: 'pris', sampler: BEST_SAMPLER } },
  { series: 'PRIS-U', vary: { loss: 'pris', sampler: 'uniform' } },
  { series: 'BPR', vary: { loss: 'bpr', sampler: 'uniform' } },
];

/** Table 3's row for each sampler (CUJ/CPJ: clusters learned jointly). */
const TABLE3_ROW: Record<string, string> = {
  uniform: 'U',
  popularity: 'P',
  'cluster-uniform': 'CU',
  'cluster-popularity': 'CP',
  'cluster-uniform-joint': 'CUJ',
  'cluster-popularity-joint': 'CPJ',
  exact: 'Exact',
};

/** NDCG and Recall against the study's parameter, titled after the paper's figure. */
const qualityPlots = (what: string): PlotSpec[] => [
  { kind: 'metric', file: 'ndcg.svg', y: 'ndcg', title: `NDCG against ${what}` },
  { kind: 'metric', file: 'recall.svg', y: 'recall', title: `Recall against ${what}` },
];

const STUDIES: Record<StudyName, Study> = {
  samplers: {
    name: 'samplers',
    title: 'Sampling strategies with the PRIS loss',
    reproduces: `Table 3 (${SAMPLER_KINDS.map((k) => TABLE3_ROW[k] ?? k).join(', ')}) and Figure 2 (running time per sampler)`,
    axis: { title: 'sampler', categorical: true },
    defaults: {},
    varies: ['loss', 'sampler'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'cluster_seconds', 'positives_per_second', 'draws_per_negative'],
    runs: () =>
      SAMPLER_KINDS.map((sampler) => ({
        name: sampler,
        series: 'PRIS',
        x: sampler,
        vary: { loss: 'pris', sampler },
        ...(TABLE3_ROW[sampler] ? { paper: { table: 'table3' as const, row: TABLE3_ROW[sampler]! } } : {}),
      })),
    plots: [
      { kind: 'metric', file: 'ndcg.svg', y: 'ndcg', title: 'NDCG by sampler', with: 'paper' },
      { kind: 'metric', file: 'recall.svg', y: 'recall', title: 'Recall by sampler', with: 'paper' },
      { kind: 'bars', file: 'seconds.svg', ys: ['train_seconds', 'cluster_seconds'], yTitle: 'seconds', title: 'Running time by sampler (Figure 2)' },
    ],
  },
  losses: {
    name: 'losses',
    title: 'PRIS against SA and BPR at equal budget',
    reproduces: `Table 2 (rows PRIS, SA, BPR; PRIS with the ${BEST_SAMPLER} sampler): same epochs, L, d and optimizer for every loss`,
    axis: { title: 'model', categorical: true },
    defaults: {},
    varies: ['loss', 'sampler'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'positives_per_second'],
    runs: () => [
      { name: BEST_SERIES, series: 'loss', x: BEST_SERIES, vary: { loss: 'pris', sampler: BEST_SAMPLER }, paper: { table: 'table2', row: 'PRIS' } },
      { name: 'PRIS-U', series: 'loss', x: 'PRIS-U', vary: { loss: 'pris', sampler: 'uniform' }, paper: { table: 'table3', row: 'U' } },
      { name: 'SA', series: 'loss', x: 'SA', vary: { loss: 'sa', sampler: 'uniform' }, paper: { table: 'table2', row: 'SA' } },
      { name: 'BPR', series: 'loss', x: 'BPR', vary: { loss: 'bpr', sampler: 'uniform' }, paper: { table: 'table2', row: 'BPR' } },
    ],
    plots: [
      { kind: 'metric', file: 'ndcg.svg', y: 'ndcg', title: 'NDCG by loss', with: 'paper' },
      { kind: 'metric', file: 'recall.svg', y: 'recall', title: 'Recall by loss', with: 'paper' },
    ],
  },
  negatives: {
    name: 'negatives',
    title: 'Number of negatives L',
    reproduces: `Figure 3: L = 5..30 step 5 for ${BEST_SERIES}, PRIS-U and BPR`,
    axis: { title: 'negatives L' },
    defaults: {},
    varies: ['loss', 'sampler', 'negatives'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'positives_per_second'],
    runs: () =>
      SENSITIVITY_SERIES.flatMap(({ series, vary }) =>
        range(5, 30, 5).map((L) => ({ name: `${series} L=${L}`, series, x: L, vary: { ...vary, negatives: L } })),
      ),
    plots: qualityPlots('the number of negatives (Figure 3)'),
  },
  dim: {
    name: 'dim',
    title: 'Embedding dimension d',
    reproduces: `Figure 4: d = 8, 16, 32, 64, 128, 256 for ${BEST_SERIES}, PRIS-U and BPR`,
    axis: { title: 'dimension d', scale: 'log2' },
    defaults: {},
    varies: ['loss', 'sampler', 'dim'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'positives_per_second'],
    runs: () =>
      SENSITIVITY_SERIES.flatMap(({ series, vary }) =>
        [8, 16, 32, 64, 128, 256].map((d) => ({ name: `${series} d=${d}`, series, x: d, vary: { ...vary, dim: d } })),
      ),
    plots: qualityPlots('the embedding dimension (Figure 4)'),
  },
  clusters: {
    name: 'clusters',
    title: 'Number of clusters K (cluster-popularity sampler)',
    reproduces: 'Figure 5: K = 50..300 step 50 with the cluster-popularity sampler',
    axis: { title: 'clusters K' },
    defaults: {},
    varies: ['loss', 'sampler', 'clusters'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'cluster_seconds', 'draws_per_negative'],
    runs: () =>
      range(50, 300, 50).map((K) => ({ name: `K=${K}`, series: 'PRIS-CP', x: K, vary: { loss: 'pris', sampler: 'cluster-popularity', clusters: K } })),
    plots: [
      ...qualityPlots('the number of clusters (Figure 5)'),
      { kind: 'metric', file: 'cluster-seconds.svg', y: 'cluster_seconds', title: 'Clustering time (all refreshes)' },
    ],
  },
  threads: {
    name: 'threads',
    title: 'Thread scaling of the Hogwild SGD loop',
    reproduces: "no table of the paper: pris's own claim, SGD positives/s and epoch time at 1..N threads, and that quality holds",
    axis: { title: 'threads' },
    defaults: {},
    varies: ['threads'],
    columns: ['positives_per_second', 'speedup', 'epoch_seconds', 'train_seconds', 'valid', 'best_epoch'],
    runs: (o) => o.threads.map((t) => ({ name: `threads=${t}`, series: 'PRIS', x: t, vary: { threads: t } })),
    plots: [
      { kind: 'metric', file: 'positives-per-second.svg', y: 'positives_per_second', title: 'SGD throughput' },
      { kind: 'metric', file: 'speedup.svg', y: 'speedup', title: 'Speedup over the fewest threads', with: 'ideal' },
      { kind: 'metric', file: 'ndcg.svg', y: 'ndcg', title: 'NDCG at each thread count' },
    ],
  },
  optimizers: {
    name: 'optimizers',
    title: 'Optimizers: validation NDCG against SGD seconds',
    reproduces: "no table of the paper (it uses Adam, lr 0.001, batch 128): adagrad vs sgd vs adam, each at pris's default learning rate",
    axis: { title: 'optimizer', categorical: true },
    // The curve needs a validation point every epoch.
    defaults: { evalEvery: 1 },
    varies: ['optimizer'],
    columns: ['lr', 'valid', 'best_epoch', 'train_seconds', 'epoch_seconds', 'positives_per_second'],
    runs: () => OPTIMIZERS.map((optimizer) => ({ name: optimizer, series: optimizer, x: optimizer, vary: { optimizer } })),
    plots: [
      { kind: 'curve', file: 'valid-curve.svg', title: 'Validation NDCG against SGD seconds' },
      { kind: 'metric', file: 'ndcg.svg', y: 'ndcg', title: 'Test NDCG by optimizer' },
    ],
  },
  /**
   * The LightGCN protocol on its split of gowalla (NGCF, LightGCN and SimpleX
   * report on it): Recall@20 and NDCG@20 over all items, the settings and the
   * epoch count chosen on validation carved from train.txt, then a refit on
   * all of it.
   */
  lightgcn: {
    name: 'lightgcn',
    title: 'The LightGCN protocol: validated, then refit on train + valid',
    reproduces: 'no table of the paper: the LightGCN split of gowalla at Recall@20 / NDCG@20 (NGCF 0.1570 / 0.1327, LightGCN 0.1830 / 0.1554, SimpleX 0.1872 / 0.1557)',
    axis: { title: 'configuration', categorical: true },
    defaults: { k: [20, 50] },
    varies: ['sampler', 'dim', 'negatives', 'reg', 'loss', 'lr', 'margin', 'historyWeight'],
    columns: ['valid', 'best_epoch', 'train_seconds', 'selection_seconds'],
    refit: true,
    runs: () => [
      { name: 'd=64', series: 'PRIS', x: 'd=64', vary: { dim: 64 } },
      { name: 'd=128', series: 'PRIS', x: 'd=128', vary: { dim: 128 } },
      // More negatives need less penalty: it is applied per use of a row (docs/results.md).
      { name: 'd=128 L=10 reg=0.01', series: 'PRIS', x: 'd=128 L=10 reg=0.01', vary: { dim: 128, negatives: 10, reg: 0.01 } },
      { name: 'd=64 joint', series: 'PRIS', x: 'd=64 joint', vary: { dim: 64, sampler: BEST_SAMPLER } },
      // SimpleX's loss with 256 uniform negatives, adagrad-row on the sphere (docs/results.md).
      { name: 'd=128 ccl', series: 'CCL', x: 'd=128 ccl', vary: { dim: 128, loss: 'ccl', sampler: 'uniform', negatives: 256, lr: 0.05, margin: 0.7, historyWeight: 'auto' } },
      { name: 'd=64 ccl', series: 'CCL', x: 'd=64 ccl', vary: { dim: 64, loss: 'ccl', sampler: 'uniform', negatives: 256, lr: 0.05, margin: 0.7, historyWeight: 'auto' } },
      // ccl and PRIS make different mistakes: combined they rank better than either (docs/results.md).
      { name: 'd=64 ccl+pris', series: 'combined', x: 'd=64 ccl+pris', vary: {}, combine: ['d=64 ccl', 'd=64'] },
      { name: 'd=128 ccl+pris', series: 'combined', x: 'd=128 ccl+pris', vary: {}, combine: ['d=128 ccl', 'd=128 L=10 reg=0.01'] },
    ],
    plots: [{ kind: 'curve', file: 'valid-curve.svg', title: 'Validation NDCG@20 against SGD seconds (the validated runs)' }],
  },
};

export function getStudy(name: string): Study {
  if (!(STUDY_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown study '${name}' (known: ${STUDY_NAMES.join(', ')})`);
  }
  return STUDIES[name as StudyName];
}

/**
 * The study's configurations less the skipped ones (--skip exact drops the
 * exact sampler; a name matches a configuration's name, series or axis
 * value). A skip that matches nothing is an error: it is likely a typo.
 */
export function studyRuns(study: Study, o: StudyOptions, skip: string[] = []): RunSpec[] {
  const all = study.runs(o);
  const matches = (r: RunSpec, s: string) => [r.name, r.series, String(r.x)].some((v) => v.toLowerCase() === s.toLowerCase());
  for (const s of skip) {
    if (!all.some((r) => matches(r, s))) {
      throw new UserError(`--skip ${s}: no configuration of the ${study.name} study is called that (it has ${all.map((r) => r.name).join(', ')})`);
    }
  }
  const skipped = (r: RunSpec) => skip.some((s) => matches(r, s));
  const kept = all.filter((r) => !skipped(r) && !(r.combine && all.some((p) => r.combine!.includes(p.name) && skipped(p))));
  if (kept.length === 0) throw new UserError(`--skip leaves no configuration of the ${study.name} study to run`);
  return kept;
}
