/**
 * Evaluation speed on gowalla's real shape (not a test; no thresholds).
 *
 *   npm run build && node dist/scripts/bench-eval.js [--gowalla DIR] [--reps 5] [--out runs/bench-eval.json]
 *
 * A random model (Glorot normal, d = 32) over the real gowalla train/test
 * (LightGCN split: 29,858 users x 40,981 items), so the ranking work per user
 * (exclusions, test items) is the real one. Reports:
 *   1. the scoring kernels alone, in this thread, on a slice of users
 *      (G multiply-adds/s, extrapolated seconds for all users);
 *   2. the per-block pipeline in this thread (scoring + exclusion + top-K +
 *      metrics), extrapolated to all users;
 *   3. full evaluations (test split, train excluded, k = 20 and 50) through
 *      the pool at 1 and 2 threads, and with AUC, and on a 5,000-user sample.
 * Results go to stderr as they come and, as JSON, to stdout and --out.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildCsr, emptyCsr, type Csr } from '../src/data/csr.js';
import { createModel, type Model } from '../src/model/store.js';
import { defaultThreads, WorkerPool } from '../src/pool/pool.js';
import type { EvalData } from '../src/eval/block-eval.js';
import type { EvalOptions } from '../src/eval/evaluate.js';
import { sharedMemory } from '../src/memory/shared.js';
import { BlockEvaluator } from '../src/eval/block-eval.js';
import { WasmScorer } from '../src/eval/score-wasm.js';
import { JsScorer } from '../src/eval/score-js.js';
import type { BlockScorer } from '../src/eval/scorer.js';
import { UserError } from '../src/errors.js';
import { SHARED_DATASETS } from './lib/datasets.js';
import { benchOutputKind, runScript, scriptArgs } from './lib/script.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { parseCount } from '../src/cli/args.js';

const USAGE = 'usage: node dist/scripts/bench-eval.js [--gowalla DIR] [--reps 5] [--out runs/bench-eval.json] [--force]';

const OUTPUT = benchOutputKind('bench-eval', (j) => 'fullEvaluation' in j && 'kernels' in j);

/** LightGCN lists: `user item item ...` per line, ids already dense. A throwaway parser, bench only. */
function readLists(file: string): { user: number[]; item: number[]; maxUser: number; maxItem: number } {
  const user: number[] = [];
  const item: number[] = [];
  let maxUser = -1;
  let maxItem = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || f[0] === '') continue;
    const u = Number(f[0]);
    maxUser = Math.max(maxUser, u);
    for (let k = 1; k < f.length; k++) {
      const i = Number(f[k]);
      user.push(u);
      item.push(i);
      maxItem = Math.max(maxItem, i);
    }
  }
  return { user, item, maxUser, maxItem };
}

function gowalla(dir: string): { train: Csr; test: Csr; nUsers: number; nItems: number } {
  const tr = readLists(path.join(dir, 'train.txt'));
  const te = readLists(path.join(dir, 'test.txt'));
  const nUsers = Math.max(tr.maxUser, te.maxUser) + 1;
  const nItems = Math.max(tr.maxItem, te.maxItem) + 1;
  const csr = (x: typeof tr) => buildCsr(nUsers, nItems, Int32Array.from(x.user), Int32Array.from(x.item));
  return { train: csr(tr), test: csr(te), nUsers, nItems };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fastest = (xs: number[]) => Math.min(...xs);

/**
 * Scoring only, `users` users in blocks of 96, best and median of `reps`
 * (runs of the variants interleaved, so a busy machine slows them alike): the
 * evaluation scorer (AssemblyScript scorePanels, 2 users x 16 items) and the
 * plain-JS kernel. Other tiles are compile-time shapes of scorePanels; their
 * figures are in src/kernels/assembly/index.ts and docs/metrics.md.
 */
function kernelRates(model: Model, users: number, reps: number) {
  const ids = Int32Array.from({ length: users }, (_, k) => k);
  const madds = users * model.nItems * model.dim;
  const full = model.nUsers * model.nItems * model.dim;
  const variants: { name: string; run: () => void }[] = [];
  const blockRun = (s: BlockScorer) => () => {
    for (let b = 0; b < users; b += 96) s.score(model, ids.subarray(b, b + 96), Math.min(96, users - b));
  };
  const wasm = new WasmScorer(96);
  wasm.loadItems(model);
  variants.push({ name: 'scorePanels 2x16 tile (default)', run: blockRun(wasm) });
  const js = new JsScorer(96);
  js.loadItems(model);
  variants.push({ name: 'js 4x2 tile', run: blockRun(js) });
  const secs = variants.map((): number[] => []);
  for (let r = 0; r <= reps; r++) {
    variants.forEach((v, j) => {
      const t0 = performance.now();
      v.run();
      // The first round warms up (JIT, page faults) and does not count.
      if (r > 0) secs[j]!.push((performance.now() - t0) / 1000);
    });
  }
  const out: Record<string, { gmaddPerS: number; medianGmaddPerS: number; extrapolatedFullSeconds: number }> = {};
  variants.forEach((v, j) => {
    const best = fastest(secs[j]!);
    out[v.name] = { gmaddPerS: madds / best / 1e9, medianGmaddPerS: madds / median(secs[j]!) / 1e9, extrapolatedFullSeconds: (full * best) / madds };
  });
  return out;
}

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, {
    options: {
      gowalla: { type: 'string', default: path.join(SHARED_DATASETS, 'gowalla') },
      reps: { type: 'string', default: '5' },
      out: { type: 'string', default: 'runs/bench-eval.json' },
      force: { type: 'boolean', default: false },
    },
  });
  const dir = values.gowalla;
  const reps = parseCount('reps', values.reps);
  using out = await openOutputFile({ path: values.out, kind: OUTPUT, force: values.force, reads: [dir] });
  if (!existsSync(path.join(dir, 'train.txt'))) throw new UserError(`gowalla not found in ${dir} (use --gowalla DIR)`);
  const t0 = performance.now();
  const g = gowalla(dir);
  const model = createModel(g.nUsers, g.nItems, 32, { kind: 'glorot', seed: 1 });
  const data: EvalData = { model, splits: { train: g.train, valid: emptyCsr(g.nUsers, g.nItems), test: g.test } };
  const gflop = (2 * g.nUsers * g.nItems * model.dim) / 1e9;
  console.error(`gowalla ${g.nUsers} users x ${g.nItems} items, d=${model.dim} (${gflop.toFixed(1)} GFLOP per full scoring); loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const kernelResults = kernelRates(model, 960, reps);
  for (const [k, v] of Object.entries(kernelResults)) {
    console.error(`kernel ${k}: ${v.gmaddPerS.toFixed(2)} G multiply-adds/s (median ${v.medianGmaddPerS.toFixed(2)}) -> ${v.extrapolatedFullSeconds.toFixed(1)} s for all users (scoring only, 1 thread)`);
  }
  // The whole per-block pipeline in this thread (scoring, exclusion, top-K,
  // metrics) on the first 6,000 users, the evaluator reused as a worker does:
  // what it adds to the kernel alone.
  const ev = new BlockEvaluator(data);
  const pipeline = () => {
    const t1 = performance.now();
    for (let s = 0; s < 6000; s += 24) {
      ev.run({ kind: 'metrics', runId: 1, from: s, to: s + 24, target: 'test', exclude: ['train'], ks: [20, 50], auc: false, scorer: 'wasm' });
    }
    return (performance.now() - t1) / 1000;
  };
  pipeline();
  let localT = Infinity;
  for (let r = 0; r < reps; r++) localT = Math.min(localT, pipeline());
  console.error(`in-thread pipeline, 6,000 users: ${localT.toFixed(2)} s -> ${((localT * g.nUsers) / 6000).toFixed(1)} s for all users (1 thread)`);

  const opts: EvalOptions = { target: 'test', exclude: ['train'], ks: [20, 50] };
  const threadCounts = [...new Set([1, 2, defaultThreads()])].filter((n) => n <= defaultThreads());
  // The machine may be shared: the fastest of the repetitions is the best
  // estimate of the uncontended time, the median says how noisy it was.
  const full: Record<string, { seconds: number[]; fastest: number; median: number }> = {};
  let ndcg50 = 0;
  // One pool per thread count, all alive, runs interleaved: a busy spell on
  // a shared machine then hits every thread count alike.
  const pools = threadCounts.map((threads) => ({ threads, pool: new WorkerPool(threads, { ...data, memory: sharedMemory() }), secs: [] as number[] }));
  try {
    for (const p of pools) await p.pool.evaluate({ ...opts, sampleUsers: 256 }); // warm up: JIT, kernel compile
    for (let r = 0; r < reps; r++) {
      for (const p of pools) {
        const res = await p.pool.evaluate(opts);
        p.secs.push(res.seconds);
        ndcg50 = res.perK[1]!.ndcg;
      }
    }
    for (const p of pools) {
      full[`${p.threads} thread(s)`] = { seconds: p.secs, fastest: fastest(p.secs), median: median(p.secs) };
      console.error(`full evaluation, ${p.threads} thread(s): ${p.secs.map((s) => s.toFixed(2)).join(', ')} s (fastest ${fastest(p.secs).toFixed(2)}, median ${median(p.secs).toFixed(2)})`);
    }
    const last = pools[pools.length - 1]!;
    for (const [label, extra] of [['with AUC', { auc: true }], ['5,000-user sample', { sampleUsers: 5000 }]] as const) {
      const secs2: number[] = [];
      for (let r = 0; r < reps; r++) secs2.push((await last.pool.evaluate({ ...opts, ...extra })).seconds);
      full[`${last.threads} thread(s), ${label}`] = { seconds: secs2, fastest: fastest(secs2), median: median(secs2) };
      console.error(`${label}, ${last.threads} thread(s): ${secs2.map((s) => s.toFixed(2)).join(', ')} s (fastest ${fastest(secs2).toFixed(2)})`);
    }
  } finally {
    for (const p of pools) await p.pool.close();
  }
  const result = {
    dataset: { dir, users: g.nUsers, items: g.nItems, dim: model.dim, gflopPerFullScoring: gflop },
    model: 'random (Glorot normal, seed 1)',
    randomModelNdcg50: ndcg50,
    kernels: kernelResults,
    inThreadPipelineSecondsAllUsers: (localT * g.nUsers) / 6000,
    fullEvaluation: full,
    node: process.version,
  };
  out.write(jsonOutput(OUTPUT, result));
  console.log(JSON.stringify(result, null, 2));
}

runScript('bench-eval', main);
