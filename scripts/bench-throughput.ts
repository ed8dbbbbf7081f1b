/**
 * Throughput of the Hogwild SGD loop: positives per second for PRIS with the
 * uniform sampler, L = 5, d = 32, plain SGD, at 1..N threads on gowalla, and
 * in the same invocation the C reference loop ../shared/bench/hogwild_ref.c at
 * the same thread counts (interleaved, so both see the same machine load).
 *
 *   node dist/scripts/bench-throughput.js [--threads 1,2] [--epochs 6] [--rounds 2] [--out docs/results/bench-throughput.json]
 *
 * pris's figure is SGD time only (no loading, no evaluation), mean over the
 * epochs after the first (JIT warm-up); the C figure is its own
 * `pos_per_s_mean`. The training set is gowalla's train.txt as is (no
 * validation carved), the set the C loop reads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../src/data/dataset.js';
import { resolveTrainConfig } from '../src/train/options.js';
import { defaultThreads } from '../src/pool/pool.js';
import { closeSession, runEpoch, startSession } from '../src/train/session.js';
import { prepareRun } from '../src/train/train.js';
import { UserError } from '../src/errors.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { trackTemp } from '../src/util/atomic.js';
import { preparedDataset, SHARED, SHARED_DATASETS } from './lib/datasets.js';
import { benchOutputKind, readFlags, runScript, scriptArgs } from './lib/script.js';
import { parseCount, parseCountList } from '../src/cli/args.js';

const USAGE = `usage: node dist/scripts/bench-throughput.js [--threads 1,2] [--epochs 6] [--rounds 2] [--out docs/results/bench-throughput.json] [--force]

Positives per second of PRIS-uniform SGD (L=5, d=32, --optimizer sgd) on
gowalla at each thread count, beside ../shared/bench/hogwild_ref.c run in the
same invocation at the same thread counts. --out is relative to the working
directory; --force replaces an earlier result.`;

const OUTPUT = benchOutputKind('bench-throughput');
const { values, threadList, epochs, rounds } = readFlags('bench-throughput', () => {
  const values = scriptArgs(USAGE, {
    options: {
      threads: { type: 'string' },
      epochs: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '2' },
      out: { type: 'string', default: 'docs/results/bench-throughput.json' },
      force: { type: 'boolean', default: false },
    },
  }).values;
  const threadList = values.threads ? parseCountList('threads', values.threads) : Array.from({ length: defaultThreads() }, (_, k) => k + 1);
  // The first epoch is warm-up, so at least two.
  const epochs = parseCount('epochs', values.epochs!, 2);
  const rounds = parseCount('rounds', values.rounds!);
  return { values, threadList, epochs, rounds };
});

/** Builds the C reference into `dir` (a temporary directory of this run). */
function buildC(dir: string): string {
  const src = path.join(SHARED, 'bench', 'hogwild_ref.c');
  if (!existsSync(src)) throw new UserError(`the C reference ${src} is missing (../shared beside the repository, or set PRIS_SHARED)`);
  const bin = path.join(dir, 'hogwild_ref');
  // The build line from the file's header.
  try {
    execFileSync('gcc', ['-O3', '-march=native', '-pthread', '-o', bin, src, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new UserError(`building the C reference with gcc failed: ${err.stderr?.toString().trim() || err.message}`);
  }
  return bin;
}

function runC(bin: string, threads: number): number {
  const out = execFileSync(bin, [path.join(SHARED_DATASETS, 'gowalla', 'train.txt'), String(threads), String(epochs)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out.trim().split('\n').pop()!) as { pos_per_s_mean: number }).pos_per_s_mean;
}

async function runPris(dir: string, threads: number): Promise<number> {
  const ds = loadDataset(dir);
  const cfg = resolveTrainConfig({ threads, sampler: 'uniform', loss: 'pris', optimizer: 'sgd', lr: 0.05, reg: 0.01, dim: 32, negatives: 5, epochs, evalEvery: 0 });
  const s = startSession(ds, prepareRun(ds, cfg));
  let pos = 0;
  let sec = 0;
  try {
    for (let e = 1; e <= epochs; e++) {
      const st = await runEpoch(s, e);
      if (e > 1) {
        pos += st.positives;
        sec += st.seconds;
      }
    }
  } finally {
    await closeSession(s);
  }
  return pos / sec;
}

async function main(): Promise<void> {
  using out = await openOutputFile({ path: values.out!, kind: OUTPUT, force: values.force! });
  const dir = await preparedDataset('gowalla', { validFraction: 0 });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pris-bench-c-'));
  const untrack = trackTemp(scratch);
  const rows: { threads: number; round: number; pris: number; c: number }[] = [];
  try {
    const bin = buildC(scratch);
    for (let r = 1; r <= rounds; r++) {
      for (const t of threadList) {
        const c = runC(bin, t);
        const p = await runPris(dir, t);
        rows.push({ threads: t, round: r, pris: p, c });
        console.error(`round ${r} threads ${t}: pris ${(p / 1e6).toFixed(2)} M/s, C ${(c / 1e6).toFixed(2)} M/s`);
      }
    }
  } finally {
    untrack();
    rmSync(scratch, { recursive: true, force: true });
  }
  const summary = threadList.map((t) => {
    const mine = rows.filter((x) => x.threads === t);
    const mean = (f: (x: (typeof rows)[number]) => number) => mine.reduce((s, x) => s + f(x), 0) / mine.length;
    return { threads: t, pris_pos_per_s: mean((x) => x.pris), c_pos_per_s: mean((x) => x.c), pris_over_c: mean((x) => x.pris / x.c) };
  });
  const one = summary.find((s) => s.threads === 1);
  const table = summary.map((s) => ({
    ...s,
    pris_speedup: one ? s.pris_pos_per_s / one.pris_pos_per_s : NaN,
    c_speedup: one ? s.c_pos_per_s / one.c_pos_per_s : NaN,
  }));
  console.log('| threads | pris M pos/s | C M pos/s | pris / C | pris speedup | C speedup |');
  console.log('|---|---|---|---|---|---|');
  for (const s of table) {
    console.log(
      `| ${s.threads} | ${(s.pris_pos_per_s / 1e6).toFixed(2)} | ${(s.c_pos_per_s / 1e6).toFixed(2)} | ${s.pris_over_c.toFixed(2)} | ${s.pris_speedup.toFixed(2)} | ${s.c_speedup.toFixed(2)} |`,
    );
  }
  out.write(jsonOutput(OUTPUT, {
    command: `node dist/scripts/bench-throughput.js --threads ${threadList.join(',')} --epochs ${epochs} --rounds ${rounds}`,
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    setup: 'gowalla train.txt, PRIS, uniform sampler, L=5, d=32, sgd lr 0.05 reg 0.01; C: hogwild_ref.c built with gcc -O3 -march=native -pthread',
    rows,
    summary: table,
  }));
  console.error(`wrote ${values.out}`);
}

runScript('bench-throughput', main);
