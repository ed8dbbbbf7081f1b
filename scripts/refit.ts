/**
 * The LightGCN protocol (validation carved from the training file, then a
 * refit on all of it): a validated run chooses the epoch count, a second run
 * trains on train + valid for exactly that many epochs, and the test split is
 * scored once, at Recall@20 / NDCG@20 (and @50). See docs/results.md.
 *
 *   node dist/scripts/refit.js --dataset gowalla [--set key=value ...] [--threads N] [--out results.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { defaultThreads } from '../src/train/pool.js';
import { runTraining } from '../src/train/run.js';
import { parseCount } from '../src/cli/args.js';
import { parseSet, resolveConfig } from './lib/experiment-config.js';
import { resolveDataset } from './lib/experiment-dataset.js';
import { runScript, scriptArgs } from './lib/script.js';

const USAGE = `usage: node dist/scripts/refit.js --dataset <dir | gowalla | citeulike-t | ml-100k | lastfm> [options]

Validated run (train, validation every eval-every epochs) to choose the epochs,
then a refit on train + valid for that many epochs, tested once.

options:
  --dataset D       a dataset directory (pris data import + pris data split) or a known dataset name
  --set key=value   a training setting (repeatable), as in the experiment script: dim=64, negatives=10, ...
                    (default k = 20,50: validation on NDCG@20, the protocol's metric)
  --threads N       threads (default: every core)
  --out FILE        also write both runs' metrics as JSON
  --verbose         print each run's per-epoch lines
`;

const OPTIONS = {
  options: {
    dataset: { type: 'string' },
    set: { type: 'string', multiple: true },
    threads: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean' },
  },
} as const;

async function main(): Promise<number> {
  const { values: v } = scriptArgs(USAGE, OPTIONS);
  if (!v.dataset) throw new UserError(`--dataset is required\n\n${USAGE}`);
  const sets = [parseSet('k=20,50'), ...(v.set ?? []).map(parseSet)];
  if (sets.some((s) => s.scope)) throw new UserError('--set takes no scope here (key=value)');
  const threads = v.threads !== undefined ? parseCount('threads', v.threads) : defaultThreads();
  const config = resolveConfig({ threads, studyDefaults: {}, flags: {}, sets, vary: {}, series: '', x: '' });
  if (config.evalEvery === 0) throw new UserError('the validated run needs validation: eval-every > 0');
  const dataset = await resolveDataset(v.dataset);
  const work = mkdtempSync(path.join(os.tmpdir(), 'pris-refit-'));
  const progress = v.verbose ? 'lines' : 'quiet';
  const log = (s: string) => process.stderr.write(s);
  try {
    log(`validated run on ${dataset.label} (up to ${config.epochs} epochs) ...\n`);
    const validated = await runTraining({ dataset: dataset.dir, out: path.join(work, 'validated'), config, trainOn: 'train', validUsers: 0, progress });
    const best = validated.metrics.best_epoch as number | undefined;
    if (best === undefined) throw new UserError(`${dataset.label}: the validation split is empty; nothing to choose the epochs on`);
    log(`best validated epoch ${best}; refit on train + valid for ${best} epochs ...\n`);
    const refitConfig = { ...config, epochs: best, evalEvery: 0, patience: 0 };
    const refit = await runTraining({ dataset: dataset.dir, out: path.join(work, 'refit'), config: refitConfig, trainOn: 'train+valid', validUsers: 0, progress });
    const row = (name: string, m: Record<string, unknown>) => {
      const t = m.test as Record<string, number>;
      const f = (k: string) => (t[k] === undefined ? '–' : t[k]!.toFixed(4));
      return `| ${name} | ${f('recall@20')} | ${f('ndcg@20')} | ${f('recall@50')} | ${f('ndcg@50')} | ${m.epochs_run} | ${(m.train_seconds as number).toFixed(0)} |`;
    };
    process.stdout.write(
      [
        '| run | Recall@20 | NDCG@20 | Recall@50 | NDCG@50 | epochs | SGD s |',
        '|---|---|---|---|---|---|---|',
        row(`validated (best epoch ${best})`, validated.metrics),
        row('refit on train + valid', refit.metrics),
      ].join('\n') + '\n',
    );
    if (v.out) {
      const strip = (m: Record<string, unknown>) => ({ ...m, history: undefined });
      writeFileSync(v.out, JSON.stringify({ dataset: dataset.label, config, validated: strip(validated.metrics), refit: strip(refit.metrics), validated_history: validated.metrics.history }, null, 2) + '\n');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

runScript('refit', main);
