import type { Argv } from 'yargs';
import { parseCount, parseKs } from './args.js';
import { LOSS_KINDS } from '../kernels/codes.js';
import { SAMPLER_KINDS } from '../samplers/index.js';
import { POPULARITY_FNS } from '../samplers/popularity-weights.js';
import { POSITIVE_WEIGHTS } from '../data/positive-weights.js';
import { DEFAULTS, LR_SCHEDULES, SCORE_KINDS, validateConfig, type TrainConfig } from '../train/config.js';
import { DEFAULT_LR, OPTIMIZERS } from '../kernels/codes.js';
import { defaultThreads } from '../train/pool.js';
import { runTraining } from '../train/run.js';
import { UserError } from '../errors.js';

/** `pris train <dataset> --out <model>`. */
export function registerTrainCommands(y: Argv): Argv {
  return y.command(
    'train <dataset>',
    'train user and item embeddings on a dataset directory',
    (c) =>
      c
        .positional('dataset', { type: 'string', describe: 'dataset directory (pris data import + split)' })
        .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'model directory to write (replaced atomically)' })
        .option('dim', { alias: 'factors', type: 'number', default: DEFAULTS.dim, describe: 'embedding dimension (a multiple of 4)' })
        .option('negatives', { alias: 'L', type: 'number', default: DEFAULTS.negatives, describe: 'negatives L sampled per positive' })
        .option('loss', { choices: LOSS_KINDS, default: DEFAULTS.loss, describe: 'pris: importance weights with gradient through them; sa: weights held constant; bpr: uniform weights 1/L' })
        .option('sampler', { choices: SAMPLER_KINDS, default: DEFAULTS.sampler, describe: 'negative sampler (proposal Q)' })
        .option('popularity', { choices: POPULARITY_FNS, default: DEFAULTS.popularity, describe: 'popularity f(c) of an item with c training interactions' })
        .option('optimizer', { choices: OPTIMIZERS, default: DEFAULTS.optimizer, describe: 'adagrad and sgd step per sample (Hogwild); adam sums mini-batches of --batch-size positives per worker (the paper)' })
        .option('lr', { alias: 'learning-rate', type: 'number', describe: `learning rate (default: ${Object.entries(DEFAULT_LR).map(([k, v]) => `${k} ${v}`).join(', ')})` })
        .option('lr-schedule', { choices: LR_SCHEDULES, default: DEFAULTS.lrSchedule, describe: 'learning rate over the epochs: constant, or decayed towards 0 at --epochs (linear, cosine)' })
        .option('batch-size', { type: 'number', default: DEFAULTS.batchSize, describe: 'positives per mini-batch, adam only' })
        .option('reg', {
          alias: 'regularization',
          type: 'string',
          default: String(DEFAULTS.reg),
          describe: 'L2 activity penalty: (reg/2)||row||^2 per use of a row in a sample; auto: 0.03, less on large data (0.03 (n/100000)^-0.2 above 100,000 training interactions)',
        })
        .option('score', { choices: SCORE_KINDS, default: DEFAULTS.score, describe: 'score of a (user, item) pair: dot product u.v, or cosine over --temperature (normalised embeddings)' })
        .option('temperature', { type: 'number', default: DEFAULTS.temperature, describe: 'with --score cosine: the temperature tau of cos(u, v) / tau' })
        .option('positive-weights', { choices: POSITIVE_WEIGHTS, default: DEFAULTS.positiveWeights, describe: "weight each training positive by log(1 + c) or sqrt(c) of its count or rating c (normalised to mean 1 per user); needs a weight column" })
        .option('epochs', { alias: 'iterations', type: 'number', default: DEFAULTS.epochs, describe: 'maximum epochs (passes over the training interactions)' })
        .option('threads', { alias: 't', type: 'number', default: defaultThreads(), describe: 'worker threads (default: every core)' })
        .option('seed', { type: 'number', default: DEFAULTS.seed, describe: 'seed of initialisation and sampling; with --threads 1 runs are bit-for-bit reproducible' })
        .option('init', { choices: ['glorot', 'normal'] as const, default: DEFAULTS.init, describe: 'initialisation: Glorot normal (as the authors) or normal(0, --init-std)' })
        .option('init-std', { type: 'number', default: DEFAULTS.initStd, describe: 'standard deviation for --init normal' })
        .option('eval-every', { type: 'number', default: DEFAULTS.evalEvery, describe: 'validate every N epochs (0 = never)' })
        .option('patience', { type: 'number', default: DEFAULTS.patience, describe: 'stop after N validations without improvement (0 = run all epochs)' })
        .option('patience-fraction', { type: 'number', default: DEFAULTS.patienceFraction, describe: 'early stopping also waits while the best epoch is less than this share of the epochs run behind (0.25: a best epoch 120 stops at 160 at the earliest)' })
        .option('valid-users', { type: 'number', default: 0, describe: 'validate on a fixed random subset of N users (0 = all)' })
        .option('k', { type: 'string', default: DEFAULTS.k.join(','), describe: 'cutoffs for the metrics (first one for validation); repeat or comma-separate' })
        .option('clusters', { type: 'number', default: DEFAULTS.clusters, describe: 'cluster samplers: number of K-means clusters K' })
        .option('cluster-every', { type: 'number', default: DEFAULTS.clusterEvery, describe: 'cluster samplers: refresh the clustering every N epochs (on its own worker, while SGD goes on)' })
        .option('cluster-iterations', { type: 'number', default: DEFAULTS.clusterIterations, describe: 'cluster samplers: Lloyd iterations per refresh (at least 10 when starting from k-means++)' })
        .option('cluster-warm', { type: 'boolean', default: DEFAULTS.clusterWarm, describe: 'cluster samplers: start each refresh from the last centers (--no-cluster-warm: k-means++ every time)' })
        .option('cluster-sync', { type: 'boolean', describe: 'cluster samplers: wait for each refresh before the next epoch (default: only with --threads 1, which keeps runs reproducible)' })
        .option('exact-mask-top', { type: 'number', default: DEFAULTS.exactMaskTop, describe: "exact sampler: also exclude the user's N best-scored non-positives (the authors' guard against false negatives)" })
        .option('joint-samples', { type: 'number', default: DEFAULTS.jointSamples, describe: 'joint samplers: training samples of the cluster loss per refresh' })
        .option('joint-temperature', { type: 'number', default: DEFAULTS.jointTemperature, describe: 'joint samplers: softmax temperature T of the soft assignment (Eq. 17)' })
        .option('joint-anneal', { type: 'boolean', default: DEFAULTS.jointAnneal, describe: 'joint samplers: anneal T geometrically from 1 to 0.1 over the run instead' })
        .option('joint-lr', { type: 'number', default: DEFAULTS.jointLr, describe: "joint samplers: Adam learning rate of the clustering's parameters" })
        .option('train-on', { choices: ['train', 'train+valid'] as const, default: 'train' as const, describe: 'train+valid: final refit on both, with the epoch count chosen on validation' })
        .option('json', { type: 'boolean', default: false, describe: 'print metrics.json to stdout' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
        .example('$0 train data/gowalla --out models/gowalla', 'PRIS with the popularity sampler, all cores')
        .example('$0 train data/gowalla --out m --sampler uniform --loss bpr --threads 1 --seed 7', 'reproducible BPR baseline'),
    async (a) => {
      const config: TrainConfig = validateConfig({
        dim: a.dim,
        negatives: a.negatives,
        loss: a.loss,
        sampler: a.sampler,
        popularity: a.popularity,
        optimizer: a.optimizer,
        lr: a.lr ?? DEFAULT_LR[a.optimizer],
        lrSchedule: a['lr-schedule'],
        score: a.score,
        temperature: a.temperature,
        positiveWeights: a['positive-weights'],
        batchSize: a['batch-size'],
        reg: parseReg(a.reg),
        epochs: a.epochs,
        threads: a.threads,
        seed: a.seed,
        init: a.init,
        initStd: a['init-std'],
        evalEvery: a['eval-every'],
        patience: a.patience,
        patienceFraction: a['patience-fraction'],
        k: parseKs(a.k),
        clusters: a.clusters,
        clusterEvery: a['cluster-every'],
        clusterIterations: a['cluster-iterations'],
        clusterWarm: a['cluster-warm'],
        clusterSync: a['cluster-sync'] ?? a.threads === 1,
        exactMaskTop: a['exact-mask-top'],
        jointSamples: a['joint-samples'],
        jointTemperature: a['joint-temperature'],
        jointAnneal: a['joint-anneal'],
        jointLr: a['joint-lr'],
      });
      const { metrics } = await runTraining({
        dataset: a.dataset!,
        out: a.out,
        config,
        trainOn: a['train-on'],
        validUsers: parseCount('valid-users', a['valid-users'], 0),
        progress: a.quiet ? 'quiet' : 'auto',
      });
      if (a.json) {
        process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
      } else {
        const test = metrics.test as Record<string, number>;
        const parts = Object.entries(test).map(([k, v]) => `${k} ${v.toFixed(4)}`);
        process.stdout.write(`test: ${parts.join('  ')}\n`);
        process.stdout.write(
          `trained ${metrics.epochs_run} epochs in ${(metrics.train_seconds as number).toFixed(1)} s of SGD ` +
            `(${Math.round(metrics.positives_per_second as number).toLocaleString('en-US')} positives/s, ${config.threads} threads); model in ${a.out}\n`,
        );
        process.stdout.write(samplerReport(config, metrics) + '\n');
      }
    },
  );
}

/** The sampler's cost in one line: draws per accepted negative (Corollary 4.3), SGD and clustering seconds per epoch. */
function samplerReport(config: TrainConfig, m: Record<string, unknown>): string {
  const epochs = m.epochs_run as number;
  let line =
    `sampler ${config.sampler}: ${(m.draws_per_negative as number).toFixed(3)} draws per accepted negative, ` +
    `${((m.train_seconds as number) / epochs).toFixed(3)} s of SGD per epoch`;
  const c = m.clustering as Record<string, number> | undefined;
  if (c) {
    line +=
      `, clustering ${(c.seconds_total! / epochs).toFixed(3)} s per epoch ` +
      `(${c.refreshes} refreshes of ${c.seconds_per_refresh!.toFixed(3)} s, ${config.clusterSync ? 'waited for' : 'beside SGD'})`;
  }
  return line;
}

/** --reg: a number, or auto. */
function parseReg(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`--reg must be a non-negative number or auto (got '${v}')`);
  return n;
}
