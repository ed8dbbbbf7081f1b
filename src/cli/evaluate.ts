import type { Argv } from 'yargs';
import { parseCount, parseK, parseKs } from './args.js';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { loadDataset, readItemIds, readUserIds, type LoadedDataset, type SplitName } from '../data/dataset.js';
import { loadModel, MODEL_FILES, readJson, type LoadedModel } from '../model/io.js';
import type { Model } from '../model/store.js';
import { defaultThreads, WorkerPool } from '../pool/pool.js';
import { sharedMemory } from '../memory/shared.js';
import { lazyProgress } from '../util/progress.js';
import { flatMetrics, type EvalResult } from '../eval/evaluate.js';
import { popularityModel } from '../eval/popularity.js';
import { recommendationsFile, RECOMMENDATIONS_OUTPUT } from '../eval/recs-io.js';
import { openOutputFile } from '../util/output.js';
import { formatEvalTable } from '../eval/report.js';

/**
 * `pris evaluate`, `pris recommend`, `pris baseline popularity`: the ranking
 * protocol of docs/metrics.md on the worker pool. Results go to stdout
 * (a table, or JSON with --json), progress to stderr.
 */

const parseThreads = (v: unknown): number => parseCount('threads', v);

/** The --train-on of a saved model (older models have none: 'train'). */
function trainedOn(modelDir: string): string {
  const file = path.join(modelDir, MODEL_FILES.config);
  if (!existsSync(file)) return 'train';
  return readJson<{ train_on?: string }>(file).train_on ?? 'train';
}

function parseSample(v: unknown): number | undefined {
  return v === undefined ? undefined : parseCount('sample-users', v);
}

/** The model must have been trained on this dataset: same users and items, in the same order. */
function checkMatch(modelDir: string, m: LoadedModel, ds: LoadedDataset): void {
  if (m.model.nUsers !== ds.nUsers || m.model.nItems !== ds.nItems) {
    throw new UserError(
      `model ${modelDir} has ${m.model.nUsers} users and ${m.model.nItems} items, but dataset ${ds.dir} has ` +
        `${ds.nUsers} users and ${ds.nItems} items: use the dataset the model was trained on`,
    );
  }
  const check = (what: string, modelIds: string[], dataIds: () => string[]) => {
    if (modelIds.length === 0) return; // a model saved without ids: counts are all we can check
    const ids = dataIds();
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] !== modelIds[k]) {
        throw new UserError(
          `model ${modelDir} and dataset ${ds.dir} disagree on ${what} ${k}: id '${modelIds[k]}' in the model, '${ids[k]}' in the dataset; ` +
            'use the dataset the model was trained on',
        );
      }
    }
  };
  check('user', m.userIds, () => readUserIds(ds.dir));
  check('item', m.itemIds, () => readItemIds(ds.dir));
}

function progressFor(label: string, quiet: boolean) {
  return lazyProgress(label, quiet ? 'quiet' : 'auto');
}

interface EvalArgs {
  k: unknown;
  split: 'test' | 'valid';
  threads: unknown;
  json: boolean;
  auc: boolean;
  'sample-users'?: unknown;
  'sample-seed': number;
  quiet: boolean;
  scorer?: 'wasm' | 'js';
}

/** Test: train and valid items excluded; valid: train items excluded (the user knows them). */
const exclusionFor = (split: 'test' | 'valid'): SplitName[] => (split === 'test' ? ['train', 'valid'] : ['train']);

async function evaluateOn(model: Model, ds: LoadedDataset, a: EvalArgs, ks: number[]): Promise<{ result: EvalResult; threads: number }> {
  const threads = parseThreads(a.threads);
  const sampleUsers = parseSample(a['sample-users']);
  const pool = new WorkerPool(threads, { memory: sharedMemory(), model, splits: { train: ds.train, valid: ds.valid, test: ds.test } });
  const progress = progressFor(`evaluate ${a.split}`, a.quiet || a.json);
  try {
    const result = await pool.evaluate({
      target: a.split,
      exclude: exclusionFor(a.split),
      ks,
      auc: a.auc,
      ...(sampleUsers !== undefined ? { sampleUsers, sampleSeed: a['sample-seed'] } : {}),
      ...(a.scorer ? { scorer: a.scorer } : {}),
      onProgress: progress.onProgress,
    });
    if (result.evaluated === 0) {
      throw new UserError(`no user of ${ds.dir} has ${a.split} items: nothing to evaluate (run 'pris data split' with a ${a.split} fraction)`);
    }
    return { result, threads };
  } finally {
    progress.stop();
    await pool.close();
  }
}

function printResult(label: string, source: Record<string, string>, r: EvalResult, threads: number, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ...source, ...r, metrics: flatMetrics(r), threads }, null, 2) + '\n');
    return;
  }
  const where = Object.entries(source)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  process.stdout.write(`${where}\n` + formatEvalTable([{ label, result: r }]) + `${r.seconds.toFixed(2)} s on ${threads} thread${threads > 1 ? 's' : ''}\n`);
}

function evalOptions(c: Argv): Argv<EvalArgs> {
  return c
    .option('k', { type: 'string', default: '50', describe: 'cutoff(s); repeat or comma-separate: --k 10 --k 50, --k 10,20,50' })
    .option('split', {
      choices: ['test', 'valid'] as const,
      default: 'test' as const,
      describe: 'relevant items: test (train + valid items excluded from the ranking) or valid (train items excluded)',
    })
    .option('threads', { alias: 't', type: 'number', default: defaultThreads(), describe: 'worker threads (default: every core)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON to stdout (no table, no progress)' })
    .option('auc', { type: 'boolean', default: false, describe: 'also compute AUC over all candidate items (one more pass per user)' })
    .option('sample-users', { type: 'number', describe: 'evaluate a fixed random sample of N users with relevant items (faster, approximate)' })
    .option('sample-seed', { type: 'number', default: 1, describe: 'seed of the --sample-users sample' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
    .option('scorer', { choices: ['wasm', 'js'] as const, hidden: true, describe: 'scoring kernel (default: WebAssembly SIMD)' }) as unknown as Argv<EvalArgs>;
}

function registerEvaluate(y: Argv): Argv {
  return y.command(
    'evaluate <model> <dataset>',
    'rank all items for every user and report NDCG, Recall, Precision, MAP at k (and AUC)',
    (c) =>
      evalOptions(
        c
          .usage(
            '$0 evaluate <model> <dataset> [--k 50] [--split test|valid] [--threads N] [--json] [--auc]\n\n' +
              "Scores every item for every user with relevant items in --split, removes the user's known items " +
              '(train, and valid when evaluating test), and averages the metrics over those users; users without ' +
              'relevant items are skipped and counted. Definitions: docs/metrics.md. For the popularity baseline on ' +
              "the same protocol: 'pris baseline popularity <dataset>'.",
          )
          .positional('model', { type: 'string', describe: 'model directory (pris train --out)' })
          .positional('dataset', { type: 'string', describe: 'the dataset directory the model was trained on' }),
      )
        .example('$0 evaluate models/gowalla data/gowalla', 'NDCG@50 etc. on the test split, all cores')
        .example('$0 evaluate models/gowalla data/gowalla --k 20 --k 50 --auc --json', 'several cutoffs and AUC as JSON'),
    async (argv) => {
      const a = argv as unknown as EvalArgs & { model: string; dataset: string };
      const ks = parseKs(a.k);
      const loaded = loadModel(a.model);
      const ds = loadDataset(a.dataset);
      checkMatch(a.model, loaded, ds);
      if (a.split === 'valid' && trainedOn(a.model) === 'train+valid') {
        throw new UserError(`${a.model} was trained on train+valid (--train-on): its validation items are training data; evaluate --split test`);
      }
      const { result, threads } = await evaluateOn(loaded.model, ds, a, ks);
      printResult('model', { model: a.model, dataset: a.dataset }, result, threads, a.json);
    },
  );
}

function registerBaseline(y: Argv): Argv {
  return y.command(
    'baseline <kind> <dataset>',
    'evaluate a non-learned baseline (popularity) with the same protocol as pris evaluate',
    (c) =>
      evalOptions(
        c
          .usage(
            '$0 baseline popularity <dataset> [--k 50] [--split test|valid] [--threads N] [--json] [--auc]\n\n' +
              'popularity: every user gets the items with the most training interactions (ties: lower item index ' +
              'first), with the same exclusions and metrics as pris evaluate.',
          )
          .positional('kind', { choices: ['popularity'] as const, describe: 'the baseline' })
          .positional('dataset', { type: 'string', describe: 'dataset directory' }),
      ).example('$0 baseline popularity data/gowalla --k 20 --k 50', 'the number a trained model should beat'),
    async (argv) => {
      const a = argv as unknown as EvalArgs & { kind: 'popularity'; dataset: string };
      const ks = parseKs(a.k);
      const ds = loadDataset(a.dataset);
      const { result, threads } = await evaluateOn(popularityModel(ds.train), ds, a, ks);
      printResult('popularity', { baseline: 'popularity', dataset: a.dataset }, result, threads, a.json);
    },
  );
}

function registerRecommend(y: Argv): Argv {
  return y.command(
    'recommend <model> <dataset>',
    "write every user's top-k items to an Arrow file",
    (c) =>
      c
        .usage(
          '$0 recommend <model> <dataset> --out recs.arrow [--k 50] [--threads N] [--include-seen]\n\n' +
            'Writes one row per (user, rank): user Int32, rank Int32 (1 = best), item Int32, score Float32, ' +
            "user_id Utf8, item_id Utf8 (raw ids from the dataset's id maps), users ascending. Every item the user is known " +
            'to have (train, valid and test) is left out unless --include-seen (or choose the splits with --exclude). Ties in score: lower item index first.',
        )
        .positional('model', { type: 'string', describe: 'model directory (pris train --out)' })
        .positional('dataset', { type: 'string', describe: 'the dataset directory the model was trained on' })
        .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Arrow IPC file to write (atomically)' })
        .option('force', { type: 'boolean', default: false, describe: 'replace an earlier pris recommendations file at --out' })
        .option('k', { type: 'string', default: '50', describe: 'items per user' })
        .option('threads', { alias: 't', type: 'number', default: defaultThreads(), describe: 'worker threads (default: every core)' })
        .option('include-seen', { type: 'boolean', default: false, describe: 'keep items the user already has (no exclusion)' })
        .option('exclude', {
          choices: ['train', 'valid', 'test'] as const,
          array: true,
          describe: 'splits whose items are not recommended (default: all three, every known interaction)',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
        .example('$0 recommend models/gowalla data/gowalla --k 50 --out recs.arrow', 'top-50 items the user has not interacted with')
        .example('$0 recommend models/gowalla data/gowalla --exclude train --out recs.arrow', 'leave out training items only (e.g. to inspect test hits)'),
    async (argv) => {
      const a = argv as unknown as {
        model: string;
        dataset: string;
        out: string;
        force: boolean;
        k: unknown;
        threads: unknown;
        'include-seen': boolean;
        exclude?: SplitName[];
        quiet: boolean;
      };
      const k = parseK(a.k);
      if (a['include-seen'] && a.exclude?.length) throw new UserError('--include-seen and --exclude contradict each other: give one');
      const exclude: SplitName[] = a['include-seen'] ? [] : [...new Set<SplitName>(a.exclude ?? ['train', 'valid', 'test'])];
      const threads = parseThreads(a.threads);
      using out = await openOutputFile({ path: a.out, kind: RECOMMENDATIONS_OUTPUT, force: a.force, reads: [a.model, a.dataset] });
      const loaded = loadModel(a.model);
      const ds = loadDataset(a.dataset);
      checkMatch(a.model, loaded, ds);
      const t0 = performance.now();
      const pool = new WorkerPool(threads, { memory: sharedMemory(), model: loaded.model, splits: { train: ds.train, valid: ds.valid, test: ds.test } });
      const progress = progressFor('recommend', a.quiet);
      let recs;
      try {
        recs = await pool.recommend({ k, exclude, onProgress: progress.onProgress });
      } finally {
        progress.stop();
        await pool.close();
      }
      out.write(recommendationsFile(recs, readUserIds(ds.dir), readItemIds(ds.dir)));
      const secs = (performance.now() - t0) / 1000;
      process.stdout.write(
        `wrote ${recs.user.length.toLocaleString('en-US')} recommendations (${ds.nUsers.toLocaleString('en-US')} users, top ${k}, ` +
          `${exclude.length ? exclude.join(' + ') + ' items excluded' : 'nothing excluded'}) to ${a.out} in ${secs.toFixed(1)} s\n`,
      );
    },
  );
}

/** Registers `evaluate`, `recommend` and `baseline`. */
export function registerEvaluateCommands(y: Argv): Argv {
  return registerBaseline(registerRecommend(registerEvaluate(y)));
}
