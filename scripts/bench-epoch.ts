/**
 * Seconds per training epoch for each sampler on one dataset, clustering
 * included, relative to the popularity sampler in the same invocation
 * (rounds interleave the samplers, so all see the same machine load).
 *
 *   node dist/scripts/bench-epoch.js [--dataset gowalla] [--threads N] [--epochs 6] [--rounds 2]
 *                                    [--samplers popularity,cluster-popularity,...] [--dims 32,64] [--out docs/results/bench-epoch.json]
 *
 * With several --dims, every sampler runs at every dimension, and the ratios
 * are against popularity at the first dimension.
 *
 * An epoch's time is the wall time of its SGD on the pool. With the default
 * asynchronous clustering, K-means runs on its own thread during the next
 * epochs and its cost shows up as slower SGD (it shares the cores); with
 * --sync, the coordinator waits for each refresh and that wait is added
 * to the epoch. The first epoch (JIT warm-up, and no clustering yet) is not counted.
 */
import { mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../src/data/dataset.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { defaultThreads } from '../src/train/pool.js';
import { closeSession, refreshClusters, runEpoch, startSession } from '../src/train/trainer.js';
import { writeJson } from '../src/model/io.js';
import { packageRoot } from '../src/paths.js';
import { SAMPLER_KINDS, type SamplerKind } from '../src/samplers/index.js';
import { UserError } from '../src/errors.js';
import { releaseShared, sharedMark } from '../src/memory/shared.js';
import { preparedDataset } from './lib/datasets.js';
import { readFlags, runScript, scriptArgs } from './lib/script.js';
import { parseCount, parseCountList } from '../src/cli/args.js';

const USAGE = `usage: node dist/scripts/bench-epoch.js [--dataset gowalla] [--threads N] [--epochs 6] [--rounds 2]
                                    [--samplers popularity,cluster-popularity,...] [--dims 32,64] [--sync] [--cluster-iterations N]
                                    [--out docs/results/bench-epoch.json]

Seconds of SGD per epoch for each sampler (at each dimension), clustering
included, relative to the popularity sampler (at the first dimension) in the
same round (the first epoch is not counted).`;

const { values, threads, epochs, rounds, samplers, dims, clusterIterations } = readFlags('bench-epoch', () => {
  const values = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string', default: 'gowalla' },
      threads: { type: 'string' },
      epochs: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '2' },
      samplers: { type: 'string', default: 'popularity,cluster-popularity,cluster-uniform,cluster-popularity-joint,uniform' },
      sync: { type: 'boolean', default: false },
      'cluster-iterations': { type: 'string' },
      dims: { type: 'string', default: String(DEFAULTS.dim) },
      out: { type: 'string', default: 'docs/results/bench-epoch.json' },
    },
  }).values;
  const threads = values.threads ? parseCount('threads', values.threads) : defaultThreads();
  // The first epoch is warm-up, so at least two.
  const epochs = parseCount('epochs', values.epochs!, 2);
  const rounds = parseCount('rounds', values.rounds!);
  const samplers = values.samplers!.split(',') as SamplerKind[];
  const clusterIterations = values['cluster-iterations'] ? parseCount('cluster-iterations', values['cluster-iterations']) : DEFAULTS.clusterIterations;
  for (const s of samplers) if (!SAMPLER_KINDS.includes(s)) throw new UserError(`--samplers: unknown sampler '${s}' (choose from ${SAMPLER_KINDS.join(', ')})`);
  const dims = parseCountList('dims', values.dims!);
  return { values, threads, epochs, rounds, samplers, dims, clusterIterations };
});

interface Row {
  sampler: SamplerKind;
  dim: number;
  round: number;
  seconds_per_epoch: number;
  cluster_seconds: number;
  refreshes: number;
}

async function measure(dir: string, sampler: SamplerKind, dim: number, round: number): Promise<Row> {
  const cfg: TrainConfig = validateConfig({ ...DEFAULTS, threads, sampler, dim, epochs, evalEvery: 0, clusterSync: values.sync!, clusterIterations });
  const mark = sharedMark();
  const s = startSession(loadDataset(dir), cfg);
  let seconds = 0;
  let clusterSeconds = 0;
  let refreshes = 0;
  let pending: Promise<void> | undefined;
  try {
    for (let e = 1; e <= epochs; e++) {
      const st = await runEpoch(s, e);
      if (e > 1) seconds += st.seconds;
      if (s.clusterPool && e < epochs) {
        // The same schedule as pris train: a refresh after every epoch, asynchronous unless --sync.
        const start = performance.now();
        if (values.sync) {
          const r = await refreshClusters(s, e);
          clusterSeconds += r.seconds;
          refreshes++;
          if (e > 1) seconds += (performance.now() - start) / 1000;
        } else if (!pending) {
          pending = refreshClusters(s, e).then((r) => {
            clusterSeconds += r.seconds;
            refreshes++;
            pending = undefined;
          });
        }
      }
    }
    // The refresh still running after the last epoch is part of the cost too.
    const tail = performance.now();
    await pending;
    seconds += (performance.now() - tail) / 1000;
  } finally {
    await closeSession(s);
    releaseShared(mark);
  }
  return { sampler, dim, round, seconds_per_epoch: seconds / (epochs - 1), cluster_seconds: clusterSeconds, refreshes };
}

async function main(): Promise<void> {
  const dir = await preparedDataset(values.dataset!);
  const rows: Row[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const dim of dims) {
      for (const sampler of samplers) {
        const row = await measure(dir, sampler, dim, r);
        rows.push(row);
        console.error(`round ${r} ${sampler} d ${dim}: ${row.seconds_per_epoch.toFixed(3)} s/epoch (clustering ${row.cluster_seconds.toFixed(2)} s in ${row.refreshes} refreshes)`);
      }
    }
  }
  const base = rows.filter((x) => x.sampler === 'popularity' && x.dim === dims[0]);
  const baseMean = base.reduce((a, x) => a + x.seconds_per_epoch, 0) / Math.max(1, base.length);
  const summary = dims.flatMap((dim) =>
    samplers.map((sampler) => {
      const mine = rows.filter((x) => x.sampler === sampler && x.dim === dim);
      const mean = mine.reduce((a, x) => a + x.seconds_per_epoch, 0) / mine.length;
      // Ratios per round (same load), then averaged.
      const ratio = mine.reduce((a, x) => a + x.seconds_per_epoch / (base.find((b) => b.round === x.round)?.seconds_per_epoch ?? NaN), 0) / mine.length;
      return { sampler, dim, seconds_per_epoch: mean, over_popularity: base.length ? ratio : NaN };
    }),
  );
  const many = dims.length > 1;
  console.log(`| sampler |${many ? ' d |' : ''} s/epoch | × popularity${many ? ` (d ${dims[0]})` : ''} |`);
  console.log(`|---|${many ? '---|' : ''}---|---|`);
  for (const s of summary) console.log(`| ${s.sampler} |${many ? ` ${s.dim} |` : ''} ${s.seconds_per_epoch.toFixed(3)} | ${s.over_popularity.toFixed(2)} |`);
  const out = path.resolve(packageRoot(), values.out!);
  mkdirSync(path.dirname(out), { recursive: true });
  await writeJson(out, {
    command: `node dist/scripts/bench-epoch.js --dataset ${values.dataset} --threads ${threads} --epochs ${epochs} --rounds ${rounds}${values.sync ? ' --sync' : ''} --cluster-iterations ${clusterIterations} --samplers ${samplers.join(',')} --dims ${dims.join(',')}`,
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    node: process.version,
    popularity_seconds_per_epoch: baseMean,
    rows,
    summary,
  });
  console.error(`wrote ${path.relative(packageRoot(), out)}`);
}

runScript('bench-epoch', main);
