/**
 * What a checkpoint costs per epoch: a training run with a checkpoint after
 * every epoch (pris train's default), each write timed, against the epochs'
 * own seconds of SGD in the same run. The checkpoint is written as pris
 * train writes it (copies of the state, written and synced while the next
 * epoch trains) into a scratch directory. Reported: the write's seconds (it
 * overlaps the next epoch), and the epochs' SGD seconds with and without
 * checkpoints, in alternating runs of the same invocation.
 *
 *   node dist/scripts/bench-checkpoint.js [--dataset gowalla] [--epochs 10] [--rounds 3] [--sampler popularity]
 *                                         [--optimizer adagrad-row] [--out docs/results/bench-checkpoint.json] [--force]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../src/data/dataset.js';
import { findOption, parseValue, resolveTrainConfig, type TrainConfig } from '../src/train/options.js';
import { trainModel } from '../src/train/train.js';
import { closeSession } from '../src/train/session.js';
import { writeCheckpoint } from '../src/train/checkpoint.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { parseCount } from '../src/cli/args.js';
import { preparedDataset } from './lib/datasets.js';
import { benchOutputKind, runScript, scriptArgs } from './lib/script.js';

const USAGE = `usage: node dist/scripts/bench-checkpoint.js [--dataset gowalla] [--epochs 10] [--rounds 3] [--sampler popularity] [--optimizer adagrad-row]
                                         [--out docs/results/bench-checkpoint.json] [--force]

Wall seconds per epoch of training with a checkpoint after every epoch
against the same training without checkpoints, alternating in one
invocation (no validation), and the checkpoint's size and write time.
--out is relative to the working directory; --force replaces an earlier result.`;

const OUTPUT = benchOutputKind('bench-checkpoint');

interface Run {
  round: number;
  checkpoints: boolean;
  /** wall seconds of the whole run per epoch (epochs, checkpoints, everything between) */
  wall_per_epoch: number;
  sgd_per_epoch: number;
  write_seconds: number;
  bytes: number;
}

async function measure(ds: ReturnType<typeof loadDataset>, config: TrainConfig, checkpoints: boolean, round: number): Promise<Run> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pris-bench-checkpoint-'));
  const file = path.join(scratch, 'checkpoint.pris');
  const writes: number[] = [];
  const sgd: number[] = [];
  let bytes = 0;
  const t0 = performance.now();
  try {
    const trained = await trainModel(ds, config, {
      onEpoch: (e) => sgd.push(e.seconds),
      ...(checkpoints
        ? {
            checkpoint: {
              every: 1,
              save: async (cp) => {
                const w0 = performance.now();
                rmSync(file, { force: true });
                bytes = await writeCheckpoint(file, cp);
                writes.push((performance.now() - w0) / 1000);
              },
            },
          }
        : {}),
    });
    await closeSession(trained.session);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : 0);
  return { round, checkpoints, wall_per_epoch: (performance.now() - t0) / 1000 / config.epochs, sgd_per_epoch: mean(sgd.slice(1)), write_seconds: mean(writes), bytes };
}

async function main(): Promise<void> {
  const { values: v } = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string', default: 'gowalla' },
      epochs: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      sampler: { type: 'string', default: 'popularity' },
      optimizer: { type: 'string', default: 'adagrad-row' },
      out: { type: 'string', default: 'docs/results/bench-checkpoint.json' },
      force: { type: 'boolean', default: false },
    },
  });
  const epochs = parseCount('epochs', v.epochs, 2);
  const rounds = parseCount('rounds', v.rounds);
  const given: Partial<TrainConfig> = {
    epochs,
    evalEvery: 0,
    sampler: parseValue(findOption('sampler')!, v.sampler!) as TrainConfig['sampler'],
    optimizer: parseValue(findOption('optimizer')!, v.optimizer!) as TrainConfig['optimizer'],
  };
  using out = await openOutputFile({ path: v.out!, kind: OUTPUT, force: v.force! });
  const ds = loadDataset(await preparedDataset(v.dataset!));
  const config = resolveTrainConfig(given);
  const runs: Run[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const checkpoints of [false, true]) {
      const run = await measure(ds, config, checkpoints, r);
      runs.push(run);
      console.error(`round ${r} ${checkpoints ? 'checkpoint every epoch' : 'no checkpoints'}: ${run.wall_per_epoch.toFixed(3)} s/epoch wall, ${run.sgd_per_epoch.toFixed(3)} s SGD${checkpoints ? `, write ${run.write_seconds.toFixed(3)} s` : ''}`);
    }
  }
  // Per round (same load), then averaged.
  const ratios = runs.filter((x) => x.checkpoints).map((x) => x.wall_per_epoch / runs.find((y) => !y.checkpoints && y.round === x.round)!.wall_per_epoch);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const withCp = runs.filter((x) => x.checkpoints);
  const result = {
    dataset: v.dataset,
    config: given,
    epochs,
    rounds,
    checkpoint_bytes: withCp[0]!.bytes,
    write_seconds: mean(withCp.map((x) => x.write_seconds)),
    wall_per_epoch_without: mean(runs.filter((x) => !x.checkpoints).map((x) => x.wall_per_epoch)),
    wall_per_epoch_with: mean(withCp.map((x) => x.wall_per_epoch)),
    cost_ratio: mean(ratios),
    cost_ratios: ratios,
    runs,
  };
  console.log(`| dataset | checkpoint | write s (beside the next epoch) | s/epoch without | s/epoch with | with / without |\n|---|---|---|---|---|---|`);
  console.log(
    `| ${v.dataset} | ${(result.checkpoint_bytes / 2 ** 20).toFixed(1)} MB | ${result.write_seconds.toFixed(3)} | ${result.wall_per_epoch_without.toFixed(3)} | ${result.wall_per_epoch_with.toFixed(3)} | ${result.cost_ratio.toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(', ')}) |`,
  );
  out.write(
    jsonOutput(OUTPUT, {
      command: `node dist/scripts/bench-checkpoint.js --dataset ${v.dataset} --epochs ${epochs} --rounds ${rounds} --sampler ${given.sampler} --optimizer ${given.optimizer}`,
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      node: process.version,
      ...result,
    }),
  );
  console.error(`wrote ${v.out}`);
}

runScript('bench-checkpoint', main);
