import * as path from 'node:path';
import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { DATASET_NAMES } from '../experiment/datasets.js';
import { PAPER_DATASETS } from '../experiment/paper.js';
import { STUDY_NAMES } from '../experiment/studies.js';
import { rewriteReport, runStudy } from '../experiment/study.js';
import { runScaleExperiment, SCALE_DEFAULTS } from '../experiment/scale.js';
import { commandLine } from '../util/shell.js';
import { parseCount, parseCountList } from './args.js';

/**
 * `pris experiment <study>`: the paper's studies on any dataset
 * (src/experiment, docs/experiments.md), and `pris experiment report <dir>`
 * to rewrite a study's tables and plots from its results.json.
 */

interface ExperimentArgs {
  study: string;
  dir?: string;
  dataset?: string;
  epochs?: string;
  threads?: string;
  seeds?: string;
  out?: string;
  force: boolean;
  set?: string | string[];
  skip?: string | string[];
  paper?: string;
  'valid-users'?: string;
  'keep-models'?: boolean;
  verbose?: boolean;
  scales?: string;
  'test-users'?: string;
  seed?: string;
  'keep-data'?: boolean;
  'c-reference'?: boolean;
}

const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const log = (s: string) => void process.stderr.write(s);

export function registerExperimentCommand(y: Argv, rawArgs: readonly string[]): Argv {
  return y.command(
    'experiment <study> [dir]',
    "rerun one of the paper's studies on a dataset: tables and plots under --out",
    (c) =>
      c
        .usage(
          '$0 experiment <study> --dataset <dir | name> [options]\n' +
            '$0 experiment report <dir> [--paper NAME]     rewrite the tables and plots of a study from its results.json\n' +
            '$0 experiment scale [--scales 0.01,0.03,0.1,0.3,1] [--out DIR]   import, split, train and evaluate Echonest-shaped data at growing sizes\n\n' +
            `Studies: ${STUDY_NAMES.join(', ')} (docs/experiments.md says what each reproduces). Each runs its ` +
            'configurations one after another, every one on all the threads, and rewrites its results after every run. ' +
            'It writes only under --out: table.md, results.csv, results.json, history.csv and SVG plots (plots need the ' +
            'optional packages vega and vega-lite; without them the tables are written and a note says so). ' +
            `A known dataset (${DATASET_NAMES.join(', ')}) is read from ../shared/datasets beside pris (or $PRIS_DATASETS) and imported once into runs/datasets/ of the working directory.`,
        )
        .positional('study', { type: 'string', choices: [...STUDY_NAMES, 'report', 'scale'], describe: "the study, 'report', or 'scale'" })
        .positional('dir', { type: 'string', describe: "report: the study's output directory" })
        .option('dataset', { type: 'string', requiresArg: true, describe: `a dataset directory (pris data import + split) or a known dataset: ${DATASET_NAMES.join(', ')}` })
        .option('epochs', { type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: 'epochs per run' })
        .option('threads', { type: 'string', requiresArg: true, defaultDescription: 'every core', describe: 'threads per run; the threads study sweeps 1..N (above 8: 1..8, powers of two, N) or a list: --threads 1,2,4' })
        .option('seeds', { type: 'string', requiresArg: true, defaultDescription: '1', describe: 'run every configuration once per training seed, e.g. 1,2,3 (tables show mean ± sd)' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, defaultDescription: 'runs/experiments/<study>-<dataset>', describe: 'output directory, the only one written' })
        .option('force', { type: 'boolean', default: false, describe: "replace an earlier study's results in --out" })
        .option('set', {
          type: 'string',
          requiresArg: true,
          describe: 'a training setting for every run, key=value (repeatable; e.g. lr=0.2, reg=0.05, eval-every=1); scope:key=value for one series or configuration (BPR:reg=0.5)',
        })
        .option('skip', { type: 'string', requiresArg: true, describe: 'leave out configurations by name (repeatable or comma-separated; e.g. --skip exact)' })
        .option('paper', { type: 'string', requiresArg: true, defaultDescription: 'CiteULike for citeulike-t, Gowalla for gowalla', describe: `paper dataset whose Table 2/3 values go beside ours: ${PAPER_DATASETS.join(', ')}, none` })
        .option('valid-users', { type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: 'validate on at most N users, a fixed sample drawn with the seed when more have validation items (0 = all)' })
        .option('keep-models', { type: 'boolean', defaultDescription: 'false', describe: "keep each run's model directory (under --out, in models/)" })
        .option('verbose', { type: 'boolean', defaultDescription: 'false', describe: "print each run's per-epoch lines" })
        .group(['scales', 'test-users', 'seed', 'keep-data', 'c-reference'], 'scale (docs/scale.md):')
        .option('scales', { type: 'string', requiresArg: true, defaultDescription: SCALE_DEFAULTS.scales.join(','), describe: 'scale: fractions of the full Echonest set (1 = 1,019,318 users, 384,546 songs, 48,373,586 triplets)' })
        .option('test-users', { type: 'string', requiresArg: true, defaultDescription: String(SCALE_DEFAULTS.testUsers), describe: 'scale: users of the sampled test evaluation (0 = every user)' })
        .option('seed', { type: 'string', requiresArg: true, defaultDescription: String(SCALE_DEFAULTS.seed), describe: 'scale: seed of the generated data, the split and the training' })
        .option('keep-data', { type: 'boolean', defaultDescription: 'false', describe: "scale: keep each scale's triplets, dataset and model under --out/work" })
        .option('c-reference', { type: 'boolean', defaultDescription: 'true', describe: 'scale: time the C reference loop (../shared/bench/hogwild_ref.c, needs gcc) on the same pairs; --no-c-reference to skip' })
        .example('$0 experiment samplers --dataset citeulike-t --epochs 30', "Table 3 on CiteULike, the paper's values beside ours")
        .example('$0 experiment losses --dataset data/mine --seeds 1,2,3 --out runs/losses', 'PRIS vs SA vs BPR on your data, three seeds')
        .example('$0 experiment report runs/losses --paper gowalla', 'the tables again, with another paper column')
        .example('$0 experiment scale --scales 0.01,0.1 --out runs/scale', 'the scaling experiment at two sizes'),
    async (argv) => {
      const a = argv as unknown as ExperimentArgs;
      if (a.study === 'scale') return void (await scale(a, rawArgs));
      // Flags of the other kind of run are refused rather than ignored.
      for (const flag of ['scales', 'test-users', 'seed', 'keep-data', 'c-reference'] as const) {
        if (a[flag] !== undefined) throw new UserError(`--${flag} applies only to 'pris experiment scale'`);
      }
      if (a.study === 'report') {
        if (a.dir === undefined) throw new UserError('pris experiment report <dir>: name the output directory of a study');
        for (const flag of ['dataset', 'epochs', 'threads', 'seeds', 'out', 'set', 'skip', 'valid-users', 'keep-models', 'verbose'] as const) {
          if (a[flag] !== undefined) throw new UserError(`--${flag} does not apply to 'pris experiment report' (it rewrites the tables from results.json)`);
        }
        process.stdout.write(await rewriteReport(a.dir, a.paper, log));
        return;
      }
      if (a.dir !== undefined) throw new UserError(`unexpected argument '${a.dir}': a study takes its dataset as --dataset and its output as --out`);
      if (a.dataset === undefined) throw new UserError(`--dataset is required: a dataset directory or one of ${DATASET_NAMES.join(', ')}`);
      const outcome = await runStudy({
        study: a.study,
        dataset: a.dataset,
        ...(a.epochs !== undefined ? { epochs: parseCount('epochs', a.epochs) } : {}),
        ...(a.threads !== undefined ? { threads: parseCountList('threads', a.threads) } : {}),
        ...(a.seeds !== undefined ? { seeds: parseCountList('seeds', a.seeds, 0) } : {}),
        ...(a['valid-users'] !== undefined ? { validUsers: parseCount('valid-users', a['valid-users'], 0) } : {}),
        ...(a.out !== undefined ? { out: a.out } : {}),
        force: a.force,
        set: many(a.set),
        skip: many(a.skip),
        ...(a.paper !== undefined ? { paper: a.paper } : {}),
        keepModels: a['keep-models'] ?? false,
        verbose: a.verbose ?? false,
        command: commandLine(['pris', ...rawArgs]),
        log,
      });
      process.stdout.write(outcome.table);
      if (outcome.failed === outcome.records.length) throw new UserError('every run of the study failed (see the messages above)', 1);
    },
  );
}

async function scale(a: ExperimentArgs, rawArgs: readonly string[]): Promise<void> {
  for (const flag of ['dataset', 'seeds', 'set', 'skip', 'paper', 'valid-users'] as const) {
    if (a[flag] !== undefined) throw new UserError(`--${flag} does not apply to 'pris experiment scale' (it generates its own data)`);
  }
  if (a['keep-models'] !== undefined) throw new UserError("--keep-models does not apply to 'pris experiment scale': --keep-data keeps each scale's triplets, dataset and model");
  if (a.verbose !== undefined) throw new UserError("--verbose does not apply to 'pris experiment scale': every step's progress is printed already");
  if (a.dir !== undefined) throw new UserError(`unexpected argument '${a.dir}': the scale experiment takes its output as --out`);
  const scales = a.scales === undefined ? SCALE_DEFAULTS.scales : a.scales.split(',').map((v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new UserError(`--scales takes fractions separated by commas, e.g. 0.01,0.1,1 (got '${a.scales}')`);
    return x;
  });
  const outcome = await runScaleExperiment({
    scales,
    epochs: a.epochs !== undefined ? parseCount('epochs', a.epochs) : SCALE_DEFAULTS.epochs,
    ...(a.threads !== undefined ? { threads: parseCount('threads', a.threads) } : {}),
    seed: a.seed !== undefined ? parseCount('seed', a.seed, 0) : SCALE_DEFAULTS.seed,
    testUsers: a['test-users'] !== undefined ? parseCount('test-users', a['test-users'], 0) : SCALE_DEFAULTS.testUsers,
    out: a.out ?? path.join('runs', 'experiments', 'scale'),
    force: a.force,
    keepData: a['keep-data'] ?? false,
    cLoop: a['c-reference'] ?? true,
    command: commandLine(['pris', ...rawArgs]),
    log,
  });
  process.stdout.write(outcome.table);
}
