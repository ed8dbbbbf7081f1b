/**
 * Throughput of the Hogwild SGD loop: positives per second of PRIS (L = 5,
 * d = 32) for one or more sampler/optimizer pairs at 1..N threads, and in
 * the same invocation the C reference loop ../shared/bench/hogwild_ref.c on
 * the same training pairs at the same thread counts (interleaved, so both
 * see the same machine load).
 *
 *   node dist/scripts/bench-throughput.js [--shape gowalla|echonest] [--threads 1,2] [--epochs 6] [--rounds 2]
 *        [--configs uniform:sgd,popularity:adagrad-row] [--work-dir runs/bench] [--out FILE] [--force]
 *
 * --shape gowalla (the default) trains on gowalla's train.txt as is (no
 * validation carved), the file the C loop reads; --shape echonest builds a
 * training set of the full Echonest shape in memory
 * (scripts/lib/echonest-shape.ts: 1.02 M users, 384 K items, 28.5 M
 * positives) and writes the same pairs for the C loop under --work-dir.
 * pris's figure is SGD time only (no loading, no evaluation), mean over the
 * epochs after the first (JIT warm-up); the C figure is its own
 * `pos_per_s_mean`. The C loop runs again before each configuration. Beside
 * the wall-time ratio, the ratio of CPU seconds per positive (user + system
 * over every thread: pris's epochs, the C run's minus a run of 0 epochs
 * that only loads) is reported: on a machine shared with other jobs it
 * moves far less than wall time. sgd runs at the C loop's lr 0.05 and reg
 * 0.01; the other optimizers at their default lr and reg.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset, type LoadedDataset } from '../src/data/dataset.js';
import { resolveTrainConfig } from '../src/train/options.js';
import { defaultThreads } from '../src/pool/pool.js';
import { closeSession, runEpoch, startSession } from '../src/train/session.js';
import { prepareRun } from '../src/train/train.js';
import { UserError } from '../src/errors.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { trackTemp } from '../src/util/atomic.js';
import { OPTIMIZERS, type OptimizerKind } from '../src/kernels/codes.js';
import { SAMPLER_KINDS, type SamplerKind } from '../src/samplers/index.js';
import { buildCReference } from '../src/experiment/c-reference.js';
import { preparedDataset, SHARED_DATASETS } from './lib/datasets.js';
import { ECHONEST_SHAPE, shapeCsr, shapeDataset, writeLightGcn } from './lib/echonest-shape.js';
import { benchOutputKind, readFlags, runScript, scriptArgs } from './lib/script.js';
import { parseCount, parseCountList } from '../src/cli/args.js';

const USAGE = `usage: node dist/scripts/bench-throughput.js [--shape gowalla|echonest] [--threads 1,2] [--epochs 6] [--rounds 2]
       [--configs uniform:sgd,popularity:adagrad-row] [--work-dir runs/bench] [--out FILE] [--force]

Positives per second of PRIS SGD (L=5, d=32) for each sampler:optimizer pair
at each thread count, beside ../shared/bench/hogwild_ref.c run in the same
invocation on the same pairs at the same thread counts. --shape echonest
builds a training set of the full Echonest shape in memory and writes its
pairs for the C loop under --work-dir (about 200 MB). Defaults: --configs
uniform:sgd on gowalla; on echonest popularity:adagrad-row (pris train's
defaults), uniform:sgd, popularity:sgd, uniform:adagrad-row. --out
(docs/results/bench-throughput[-echonest].json) is relative to the working
directory; --force replaces an earlier result.`;

interface Config {
  sampler: SamplerKind;
  optimizer: OptimizerKind;
}
const SHAPES = ['gowalla', 'echonest'] as const;
const DEFAULT_CONFIGS = { gowalla: 'uniform:sgd', echonest: 'popularity:adagrad-row,uniform:sgd,popularity:sgd,uniform:adagrad-row' };

function parseConfigs(v: string): Config[] {
  return v.split(',').map((item) => {
    const [sampler, optimizer, extra] = item.split(':');
    if (extra !== undefined || !SAMPLER_KINDS.includes(sampler as SamplerKind) || !OPTIMIZERS.includes(optimizer as OptimizerKind)) {
      throw new UserError(`--configs: '${item}' is not sampler:optimizer (samplers: ${SAMPLER_KINDS.join(', ')}; optimizers: ${OPTIMIZERS.join(', ')})`);
    }
    return { sampler: sampler as SamplerKind, optimizer: optimizer as OptimizerKind };
  });
}

const OUTPUT = benchOutputKind('bench-throughput');
const { values, shape, threadList, epochs, rounds, configs, outPath } = readFlags('bench-throughput', () => {
  const values = scriptArgs(USAGE, {
    options: {
      shape: { type: 'string', default: 'gowalla' },
      threads: { type: 'string' },
      epochs: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '2' },
      configs: { type: 'string' },
      'work-dir': { type: 'string', default: 'runs/bench' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  }).values;
  const shape = values.shape as (typeof SHAPES)[number];
  if (!SHAPES.includes(shape)) throw new UserError(`--shape must be one of ${SHAPES.join(', ')} (got '${values.shape}')`);
  const threadList = values.threads ? parseCountList('threads', values.threads) : Array.from({ length: defaultThreads() }, (_, k) => k + 1);
  // The first epoch is warm-up, so at least two.
  const epochs = parseCount('epochs', values.epochs!, 2);
  const rounds = parseCount('rounds', values.rounds!);
  const configs = parseConfigs(values.configs ?? DEFAULT_CONFIGS[shape]);
  const outPath = values.out ?? `docs/results/bench-throughput${shape === 'gowalla' ? '' : `-${shape}`}.json`;
  return { values, shape, threadList, epochs, rounds, configs, outPath };
});

/** Positives per second (wall) and CPU seconds (user + system, every thread) per positive. */
interface Rate {
  perSecond: number;
  cpuPerPositive: number;
}

/** Runs the C loop under bash's `time`, which reports the child's CPU seconds on stderr. */
function timedC(bin: string, file: string, threads: number, runEpochs: number): { out: string; cpu: number } {
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='cpu %3U %3S'; time "$@" 2>/dev/null`, 'bash', bin, file, String(threads), String(runEpochs)], { encoding: 'utf8' });
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`the C reference failed: ${(r.stderr ?? '').trim() || r.error?.message}`);
  return { out: r.stdout, cpu: Number(m[1]) + Number(m[2]) };
}

/** CPU seconds the C loop spends reading the file and initialising (a run of 0 epochs), subtracted from its runs. */
let cLoadCpu: number | undefined;

function runC(bin: string, file: string, threads: number): Rate {
  cLoadCpu ??= timedC(bin, file, 1, 0).cpu;
  const { out, cpu } = timedC(bin, file, threads, epochs);
  const o = JSON.parse(out.trim().split('\n').pop()!) as { pos_per_s_mean: number; nnz: number };
  return { perSecond: o.pos_per_s_mean, cpuPerPositive: (cpu - cLoadCpu) / (o.nnz * epochs) };
}

async function runPris(ds: LoadedDataset, threads: number, c: Config): Promise<Rate> {
  const sgd = c.optimizer === 'sgd';
  const cfg = resolveTrainConfig({
    threads, sampler: c.sampler, loss: 'pris', optimizer: c.optimizer, ...(sgd ? { lr: 0.05, reg: 0.01 } : {}), dim: 32, negatives: 5, epochs, evalEvery: 0,
  });
  const s = startSession(ds, prepareRun(ds, cfg));
  let pos = 0;
  let sec = 0;
  let cpu = 0;
  try {
    for (let e = 1; e <= epochs; e++) {
      const c0 = process.cpuUsage();
      const st = await runEpoch(s, e);
      const c1 = process.cpuUsage(c0);
      if (e > 1) {
        pos += st.positives;
        sec += st.seconds;
        cpu += (c1.user + c1.system) / 1e6;
      }
    }
  } finally {
    await closeSession(s);
  }
  return { perSecond: pos / sec, cpuPerPositive: cpu / pos };
}

/** The training pairs for pris and the C loop's file of the same pairs. */
async function trainingSet(): Promise<{ ds: LoadedDataset; file: string; setup: string }> {
  if (shape === 'gowalla') {
    const ds = loadDataset(await preparedDataset('gowalla', { validFraction: 0 }));
    return { ds, file: path.join(SHARED_DATASETS, 'gowalla', 'train.txt'), setup: 'gowalla train.txt' };
  }
  const spec = ECHONEST_SHAPE;
  const t0 = performance.now();
  const csr = shapeCsr(spec);
  const file = await writeLightGcn(csr, path.resolve(values['work-dir']!), `echonest-shape-seed${spec.seed}`);
  const n = csr.indptr[spec.users]!;
  console.error(`echonest shape: ${spec.users} users, ${spec.items} items, ${n} positives (${((performance.now() - t0) / 1000).toFixed(1)} s to build and write)`);
  const setup = `Echonest shape in memory (scripts/lib/echonest-shape.ts, seed ${spec.seed}): ${spec.users} users, ${spec.items} items, ${n} positives, Zipf ${spec.zipf}`;
  return { ds: shapeDataset(spec, csr, 'echonest-shape'), file, setup };
}

const label = (c: Config): string => `${c.sampler}:${c.optimizer}`;

async function main(): Promise<void> {
  using out = await openOutputFile({ path: outPath, kind: OUTPUT, force: values.force! });
  const { ds, file, setup } = await trainingSet();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pris-bench-c-'));
  const untrack = trackTemp(scratch);
  const rows: { threads: number; config: string; round: number; pris: number; c: number; pris_cpu_us: number; c_cpu_us: number }[] = [];
  try {
    const bin = buildCReference(scratch);
    for (let r = 1; r <= rounds; r++) {
      for (const t of threadList) {
        for (const cfg of configs) {
          // The C loop beside each configuration, so each ratio compares runs seconds apart.
          const c = runC(bin, file, t);
          const p = await runPris(ds, t, cfg);
          rows.push({ threads: t, config: label(cfg), round: r, pris: p.perSecond, c: c.perSecond, pris_cpu_us: p.cpuPerPositive * 1e6, c_cpu_us: c.cpuPerPositive * 1e6 });
          console.error(
            `round ${r} threads ${t} ${label(cfg)}: pris ${(p.perSecond / 1e6).toFixed(2)} M/s, C ${(c.perSecond / 1e6).toFixed(2)} M/s; ` +
              `CPU per positive pris ${(p.cpuPerPositive * 1e6).toFixed(3)} us, C ${(c.cpuPerPositive * 1e6).toFixed(3)} us`,
          );
        }
      }
    }
  } finally {
    untrack();
    rmSync(scratch, { recursive: true, force: true });
  }
  const summary = configs.flatMap((cfg) =>
    threadList.map((t) => {
      const mine = rows.filter((x) => x.threads === t && x.config === label(cfg));
      const mean = (f: (x: (typeof rows)[number]) => number) => mine.reduce((s, x) => s + f(x), 0) / mine.length;
      return {
        threads: t,
        config: label(cfg),
        pris_pos_per_s: mean((x) => x.pris),
        c_pos_per_s: mean((x) => x.c),
        pris_over_c: mean((x) => x.pris / x.c),
        pris_over_c_cpu: mean((x) => x.c_cpu_us / x.pris_cpu_us),
      };
    }),
  );
  const table = summary.map((s) => {
    const one = summary.find((x) => x.threads === 1 && x.config === s.config);
    return { ...s, pris_speedup: one ? s.pris_pos_per_s / one.pris_pos_per_s : NaN, c_speedup: one ? s.c_pos_per_s / one.c_pos_per_s : NaN };
  });
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  console.log('| sampler:optimizer | threads | pris M pos/s | C M pos/s | pris / C | pris / C, CPU time | pris speedup | C speedup |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of table) {
    console.log(
      `| ${s.config} | ${s.threads} | ${fmt(s.pris_pos_per_s / 1e6)} | ${fmt(s.c_pos_per_s / 1e6)} | ${fmt(s.pris_over_c)} | ${fmt(s.pris_over_c_cpu)} | ${fmt(s.pris_speedup)} | ${fmt(s.c_speedup)} |`,
    );
  }
  out.write(jsonOutput(OUTPUT, {
    command: `node dist/scripts/bench-throughput.js --shape ${shape} --threads ${threadList.join(',')} --epochs ${epochs} --rounds ${rounds} --configs ${configs.map(label).join(',')}`,
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    setup: `${setup}; PRIS, L=5, d=32; sgd lr 0.05 reg 0.01, other optimizers their default lr and reg; C: hogwild_ref.c built with gcc -O3 -march=native -pthread`,
    rows,
    summary: table,
  }));
  console.error(`wrote ${outPath}`);
}

runScript('bench-throughput', main);
