/**
 * Seconds per training epoch for each sampler on one dataset, clustering
 * included, relative to the popularity sampler in the same invocation
 * (rounds interleave the samplers, so all see the same machine load).
 *
 *   node dist/scripts/bench-epoch.js [--dataset gowalla|echonest-shape] [--threads N] [--epochs 6] [--rounds 2]
 *                                    [--samplers popularity,cluster-popularity,...] [--out docs/results/bench-epoch.json]
 *
 * --dataset echonest-shape trains on the in-memory training set of the full
 * Echonest shape that bench-throughput --shape echonest uses
 * (scripts/lib/echonest-shape.ts; no validation, no test split).
 *
 * An epoch's time is the wall time of its SGD on the pool. With the default
 * asynchronous clustering, K-means runs on its own thread during the next
 * epochs and its cost shows up as slower SGD (it shares the cores); with
 * --sync, the coordinator waits for each refresh and that wait is added
 * to the epoch. The first epoch (JIT warm-up, and no clustering yet) is not counted.
 * Beside wall time, the CPU seconds of every thread (SGD and clustering)
 * per epoch are reported: on a machine shared with other jobs they move
 * far less than wall time.
 */
import * as os from 'node:os';
import { loadDataset, type LoadedDataset } from '../src/data/dataset.js';
import { DEFAULTS, resolveTrainConfig, type TrainConfig } from '../src/train/options.js';
import { defaultThreads } from '../src/pool/pool.js';
import { closeSession, runEpoch, startSession } from '../src/train/session.js';
import { prepareRun } from '../src/train/train.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { SAMPLER_KINDS, type SamplerKind } from '../src/samplers/index.js';
import { UserError } from '../src/errors.js';
import { preparedDataset } from './lib/datasets.js';
import { ECHONEST_SHAPE, shapeCsr, shapeDataset } from './lib/echonest-shape.js';
import { benchOutputKind, readFlags, runScript, scriptArgs } from './lib/script.js';
import { parseCount } from '../src/cli/args.js';

const USAGE = `usage: node dist/scripts/bench-epoch.js [--dataset gowalla|echonest-shape] [--threads N] [--epochs 6] [--rounds 2]
                                    [--samplers popularity,cluster-popularity,...] [--sync] [--cluster-iterations N]
                                    [--out docs/results/bench-epoch[-DATASET].json] [--force]

Seconds of SGD per epoch for each sampler, clustering included, relative to
the popularity sampler in the same round (the first epoch is not counted).
--dataset echonest-shape: a training set of the full Echonest shape built in
memory (scripts/lib/echonest-shape.ts).
--out is relative to the working directory; --force replaces an earlier result.`;

const OUTPUT = benchOutputKind('bench-epoch');

const { values, threads, epochs, rounds, samplers, clusterIterations, outPath } = readFlags('bench-epoch', () => {
  const values = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string', default: 'gowalla' },
      threads: { type: 'string' },
      epochs: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '2' },
      samplers: { type: 'string', default: 'popularity,cluster-popularity,cluster-uniform,cluster-popularity-joint,uniform' },
      sync: { type: 'boolean', default: false },
      'cluster-iterations': { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  }).values;
  const threads = values.threads ? parseCount('threads', values.threads) : defaultThreads();
  // The first epoch is warm-up, so at least two.
  const epochs = parseCount('epochs', values.epochs!, 2);
  const rounds = parseCount('rounds', values.rounds!);
  const samplers = values.samplers!.split(',') as SamplerKind[];
  const clusterIterations = values['cluster-iterations'] ? parseCount('cluster-iterations', values['cluster-iterations']) : DEFAULTS.clusterIterations;
  for (const s of samplers) if (!SAMPLER_KINDS.includes(s)) throw new UserError(`--samplers: unknown sampler '${s}' (choose from ${SAMPLER_KINDS.join(', ')})`);
  const outPath = values.out ?? `docs/results/bench-epoch${values.dataset === 'gowalla' ? '' : `-${values.dataset}`}.json`;
  return { values, threads, epochs, rounds, samplers, clusterIterations, outPath };
});

interface Row {
  sampler: SamplerKind;
  round: number;
  seconds_per_epoch: number;
  /** CPU seconds (user + system, every thread: SGD and clustering) per epoch, from epoch 2 to the end of the last refresh */
  cpu_seconds_per_epoch: number;
  cluster_seconds: number;
  refreshes: number;
}

/** The dataset's loader: the in-memory Echonest shape is built once and kept across sessions. */
async function datasetLoader(name: string): Promise<() => LoadedDataset> {
  if (name === 'echonest-shape') {
    const ds = shapeDataset(ECHONEST_SHAPE, shapeCsr(ECHONEST_SHAPE), name);
    return () => ds;
  }
  const dir = await preparedDataset(name);
  return () => loadDataset(dir);
}

async function measure(load: () => LoadedDataset, sampler: SamplerKind, round: number): Promise<Row> {
  const cfg: TrainConfig = resolveTrainConfig({ threads, sampler, epochs, evalEvery: 0, clusterSync: values.sync!, clusterIterations });
  const ds = load();
  const s = startSession(ds, prepareRun(ds, cfg));
  let seconds = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  try {
    for (let e = 1; e <= epochs; e++) {
      if (e === 2) cpu0 = process.cpuUsage();
      const st = await runEpoch(s, e);
      if (e > 1) seconds += st.seconds;
      // The same schedule as pris train: a refresh after every epoch, asynchronous unless --sync
      // (then the wait is part of the epoch's cost).
      const start = performance.now();
      await s.clusters?.afterEpoch(e);
      if (e > 1) seconds += (performance.now() - start) / 1000;
    }
    // The refresh still running after the last epoch is part of the cost too.
    const tail = performance.now();
    await s.clusters?.drain();
    seconds += (performance.now() - tail) / 1000;
    cpu = process.cpuUsage(cpu0);
  } finally {
    await closeSession(s);
  }
  const c = s.clusters?.summary();
  const clusterSeconds = c?.seconds_total ?? 0;
  const refreshes = c?.refreshes ?? 0;
  const cpuSeconds = cpu ? (cpu.user + cpu.system) / 1e6 : NaN;
  return { sampler, round, seconds_per_epoch: seconds / (epochs - 1), cpu_seconds_per_epoch: cpuSeconds / (epochs - 1), cluster_seconds: clusterSeconds, refreshes };
}

async function main(): Promise<void> {
  using out = await openOutputFile({ path: outPath, kind: OUTPUT, force: values.force! });
  const load = await datasetLoader(values.dataset!);
  const rows: Row[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const sampler of samplers) {
      const row = await measure(load, sampler, r);
      rows.push(row);
      console.error(`round ${r} ${sampler}: ${row.seconds_per_epoch.toFixed(3)} s/epoch, ${row.cpu_seconds_per_epoch.toFixed(3)} CPU s/epoch (clustering ${row.cluster_seconds.toFixed(2)} s in ${row.refreshes} refreshes)`);
    }
  }
  const base = rows.filter((x) => x.sampler === 'popularity');
  const baseMean = base.reduce((a, x) => a + x.seconds_per_epoch, 0) / Math.max(1, base.length);
  const summary = samplers.map((sampler) => {
    const mine = rows.filter((x) => x.sampler === sampler);
    const mean = mine.reduce((a, x) => a + x.seconds_per_epoch, 0) / mine.length;
    // Ratios per round (same load), then averaged.
    const ratioOf = (f: (x: Row) => number) =>
      mine.reduce((a, x) => {
        const b = base.find((y) => y.round === x.round);
        return a + (b ? f(x) / f(b) : NaN);
      }, 0) / mine.length;
    const cpuMean = mine.reduce((a, x) => a + x.cpu_seconds_per_epoch, 0) / mine.length;
    return {
      sampler,
      seconds_per_epoch: mean,
      over_popularity: base.length ? ratioOf((x) => x.seconds_per_epoch) : NaN,
      cpu_seconds_per_epoch: cpuMean,
      cpu_over_popularity: base.length ? ratioOf((x) => x.cpu_seconds_per_epoch) : NaN,
    };
  });
  console.log(`| sampler | s/epoch | × popularity | CPU s/epoch | × popularity, CPU time |`);
  console.log(`|---|---|---|---|---|`);
  for (const s of summary) {
    console.log(`| ${s.sampler} | ${s.seconds_per_epoch.toFixed(3)} | ${s.over_popularity.toFixed(2)} | ${s.cpu_seconds_per_epoch.toFixed(3)} | ${s.cpu_over_popularity.toFixed(2)} |`);
  }
  out.write(jsonOutput(OUTPUT, {
    command: `node dist/scripts/bench-epoch.js --dataset ${values.dataset} --threads ${threads} --epochs ${epochs} --rounds ${rounds}${values.sync ? ' --sync' : ''} --cluster-iterations ${clusterIterations} --samplers ${samplers.join(',')}`,
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    node: process.version,
    popularity_seconds_per_epoch: baseMean,
    rows,
    summary,
  }));
  console.error(`wrote ${outPath}`);
}

runScript('bench-epoch', main);
