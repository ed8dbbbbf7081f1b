/**
 * `npm start`: the main job on the bundled dataset, end to end. Imports
 * data/synthetic/interactions.csv, splits it (seed 1), trains PRIS on every
 * core, and prints the test metrics next to a popularity ranking.
 * Everything lands in runs/quickstart/ (git-ignored).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../src/paths.js';
import { importDataset } from '../src/data/import/run.js';
import { splitDataset } from '../src/data/split.js';
import { loadDataset } from '../src/data/dataset.js';
import { resolveTrainConfig } from '../src/train/options.js';
import { defaultThreads } from '../src/pool/pool.js';
import { runTrainJob } from '../src/api/train-job.js';
import { evaluateModelLocal, flatMetrics } from '../src/eval/evaluate.js';
import { popularityModel } from '../src/eval/popularity.js';
import { runScript } from './lib/script.js';

async function main(): Promise<void> {
  const root = packageRoot();
  const raw = path.join(root, 'data', 'synthetic', 'interactions.csv');
  const work = path.join(root, 'runs', 'quickstart');
  const dataDir = path.join(work, 'dataset');
  const modelDir = path.join(work, 'model');

  if (!existsSync(path.join(dataDir, 'train.arrow'))) {
    console.log(`importing ${path.relative(root, raw)} ...`);
    // runs/quickstart is this script's own: earlier outputs there are replaced.
    await importDataset({ format: 'csv', inputs: [raw], out: dataDir, header: true, force: true });
    await splitDataset(dataDir, { seed: 1, force: true });
  }
  const threads = defaultThreads();
  const config = resolveTrainConfig({ threads, epochs: 40, evalEvery: 5 });
  console.log(`training PRIS (${config.sampler} sampler, d=${config.dim}, L=${config.negatives}) on ${threads} threads ...`);
  const { metrics } = await runTrainJob({ dataset: dataDir, out: modelDir, given: config, checkpointEvery: 0, resume: false, force: true, progress: 'auto', log: (line) => console.error(line) });

  const ds = loadDataset(dataDir);
  const pop = evaluateModelLocal(
    { model: popularityModel(ds.train), splits: { train: ds.train, valid: ds.valid, test: ds.test } },
    { target: 'test', exclude: ['train', 'valid'], ks: config.k, auc: true },
  );
  const ours = metrics.test as Record<string, number>;
  const base = flatMetrics(pop);
  console.log('\ntest metrics (training and validation items excluded from the ranking)');
  console.log(`${'metric'.padEnd(14)}${'PRIS'.padStart(10)}${'popularity'.padStart(12)}`);
  for (const key of Object.keys(ours)) {
    console.log(`${key.padEnd(14)}${ours[key]!.toFixed(4).padStart(10)}${(base[key] ?? NaN).toFixed(4).padStart(12)}`);
  }
  console.log(
    `\n${metrics.epochs_run} epochs, ${(metrics.train_seconds as number).toFixed(1)} s of SGD, ` +
      `${Math.round(metrics.positives_per_second as number).toLocaleString('en-US')} positives/s. Model: ${path.relative(root, modelDir)}/`,
  );
}

runScript('pris', main);
