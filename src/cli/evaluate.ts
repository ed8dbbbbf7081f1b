import type { Argv } from 'yargs';
import { parseCount, parseKs } from './args.js';
import { UserError } from '../errors.js';
import { evaluate, flatMetrics, loadDataset, loadModel, type Dataset, type EvalResult, type PrisModel } from '../index.js';
import { baselineModel } from '../api/baseline.js';
import { TEST_AUC_USERS } from '../api/train-job.js';
import { lazyProgress } from '../util/progress.js';
import { formatEvalTable } from './tables.js';

/**
 * `pris evaluate` and `pris baseline popularity`: the library's evaluate
 * (the protocol of docs/metrics.md) on a loaded model or a baseline. Results
 * go to stdout (a table, or JSON with --json), progress to stderr.
 */

/** --threads of the commands that query a model: undefined is every core. */
export function parseThreads(v: unknown): number | undefined {
  return v === undefined ? undefined : parseCount('threads', v);
}

export function progressFor(label: string, quiet: boolean) {
  return lazyProgress(label, quiet ? 'quiet' : 'auto');
}

interface EvalArgs {
  k: unknown;
  split: 'test' | 'valid';
  threads: unknown;
  json: boolean;
  auc: boolean;
  'auc-users'?: unknown;
  'test-users'?: unknown;
  'valid-users'?: unknown;
  seed?: unknown;
  quiet: boolean;
}

/**
 * --test-users / --valid-users: the one name, in pris train and here, for
 * "a fixed sample of N users of that split, drawn with --seed".
 */
function parseSample(a: EvalArgs): number | undefined {
  const own = `${a.split}-users` as const;
  const other = a.split === 'test' ? 'valid-users' : 'test-users';
  if (a[other] !== undefined) throw new UserError(`--${other} samples the ${other.slice(0, -6)} split, but this evaluates --split ${a.split}: use --${own}`);
  return a[own] === undefined ? undefined : parseCount(own, a[own]);
}

/** The flags, checked before anything is loaded. */
function evalFlags(a: EvalArgs) {
  return {
    threads: parseThreads(a.threads),
    k: parseKs(a.k),
    sampleUsers: parseSample(a),
    sampleSeed: a.seed === undefined ? undefined : parseCount('seed', a.seed, 0),
    aucSample: parseAucUsers(a),
  };
}

/** --auc-users: pris train's AUC sample by default, 0 for every user; meaningless without --auc. */
function parseAucUsers(a: EvalArgs): number | undefined {
  if (a['auc-users'] === undefined) return TEST_AUC_USERS;
  if (!a.auc) throw new UserError('--auc-users sets the sample of the AUC: give it with --auc');
  const n = parseCount('auc-users', a['auc-users'], 0);
  return n === 0 ? undefined : n;
}

/** Evaluates, closes the model whatever happens, and refuses a split nobody has items in. */
async function evaluateOn(model: PrisModel, ds: Dataset, a: EvalArgs, f: ReturnType<typeof evalFlags>): Promise<EvalResult> {
  const { k, sampleUsers, sampleSeed, aucSample } = f;
  const progress = progressFor(`evaluate ${a.split}`, a.quiet || a.json);
  try {
    const result = await evaluate(model, ds, {
      k,
      split: a.split,
      auc: a.auc,
      ...(a.auc && aucSample !== undefined ? { aucSample } : {}),
      ...(sampleUsers !== undefined ? { sampleUsers } : {}),
      ...(sampleSeed !== undefined ? { sampleSeed } : {}),
      onProgress: progress.onProgress,
    });
    if (result.evaluated === 0) {
      throw new UserError(`no user of ${ds.dir} has ${a.split} items: nothing to evaluate (run 'pris data split' with a ${a.split} fraction)`);
    }
    return result;
  } finally {
    progress.stop();
    await model.close();
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

/** --threads as every command that runs a model's queries shows it. */
export const THREADS_OPTION = { alias: 't', type: 'number', requiresArg: true, defaultDescription: 'every core', describe: 'worker threads' } as const;

function evalOptions(c: Argv): Argv<EvalArgs> {
  return c
    .option('k', { type: 'string', default: '50', describe: 'cutoff(s); repeat or comma-separate: --k 10 --k 50, --k 10,20,50' })
    .option('split', {
      choices: ['test', 'valid'] as const,
      default: 'test' as const,
      describe: 'relevant items: test (train + valid items excluded from the ranking) or valid (train items excluded)',
    })
    .option('threads', THREADS_OPTION)
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON to stdout (no table, no progress)' })
    .option('auc', { type: 'boolean', default: false, describe: 'also compute AUC over all candidate items (one more pass per user)' })
    .option('auc-users', {
      type: 'number',
      requiresArg: true,
      defaultDescription: String(TEST_AUC_USERS),
      describe:
        "with --auc on a catalogue of 100,000 items or more: AUC on a fixed sample of N of the evaluated users (drawn with --seed), the ranking metrics over all of them skipping item clusters, as pris train's test does; 0 = AUC over every user, every item scored",
    })
    .option('test-users', { type: 'number', requiresArg: true, describe: 'with --split test: evaluate a fixed sample of N users with test items, drawn with --seed (faster, approximate; the same flag and sample as pris train --test-users)' })
    .option('valid-users', { type: 'number', requiresArg: true, describe: "with --split valid: a fixed sample of N users with validation items, drawn with --seed (pris train's --valid-users sample)" })
    .option('seed', { type: 'number', requiresArg: true, defaultDescription: "the model's training seed (1 for a baseline)", describe: 'seed of the --test-users / --valid-users sample and of the --auc-users one' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' }) as unknown as Argv<EvalArgs>;
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
      const f = evalFlags(a);
      const ds = await loadDataset(a.dataset);
      const model = await loadModel(a.model, { dataset: ds, ...(f.threads ? { threads: f.threads } : {}) });
      const threads = model.threads;
      printResult('model', { model: a.model, dataset: a.dataset }, await evaluateOn(model, ds, a, f), threads, a.json);
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
      const f = evalFlags(a);
      const ds = await loadDataset(a.dataset);
      const model = baselineModel(a.kind, ds, f.threads ? { threads: f.threads } : {});
      const threads = model.threads;
      printResult('popularity', { baseline: 'popularity', dataset: a.dataset }, await evaluateOn(model, ds, a, f), threads, a.json);
    },
  );
}

/** Registers `evaluate` and `baseline`. */
export function registerEvaluateCommands(y: Argv): Argv {
  return registerBaseline(registerEvaluate(y));
}
