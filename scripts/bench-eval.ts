/**
 * Evaluation speed against the machine's limit (not a test; no thresholds).
 *
 *   npm run build && node dist/scripts/bench-eval.js [--gowalla DIR] [--reps 5] [--out runs/bench-eval.json]
 *   node dist/scripts/bench-eval.js --data DIR [--model DIR] [--users 20000] [--blocks 2,8,32] [--full] [--reps 3]
 *
 * Default: a random model (Glorot normal, d = 32) over the real gowalla
 * train/test (LightGCN split: 29,858 users x 40,981 items), so the ranking
 * work per user (exclusions, test items) is the real one.
 * --data: any pris dataset directory at its own size, e.g. the Echonest
 * taste profile's shape (scripts/gen-echonest.ts, pris data import
 * triplets, pris data split), with the trained model of --model or a
 * random one of d = 32; the test protocol of pris train (train and valid
 * items excluded).
 *
 * Reports, each beside the machine's peak (scripts/lib/machine-peak.ts:
 * the clock measured in the same run x 8 float32 multiply-adds per cycle
 * without FMA, per core), rates per second of wall time and per second of
 * CPU time (which a shared machine does not dilute):
 *   1. the scoring kernel alone, in this thread, on a slice of users (G
 *      multiply-adds/s), and on operands that stay in L1 (its ceiling);
 *   2. the per-block pipeline in this thread (scoring + exclusion + top-K +
 *      metrics), extrapolated to all users;
 *   3. evaluations through the pool: gowalla in full at 1 and 2 threads,
 *      with AUC and on a 5,000-user sample; --data on a fixed sample of
 *      --users users, plain, with AUC, and skipping clusters (forced; its
 *      K-means timed apart), extrapolated to every user,
 *      at each --blocks size of users per block (the first is the
 *      baseline), and with --full one whole test evaluation as pris train
 *      runs it.
 * Results go to stderr as they come and, as JSON, to stdout and --out.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildCsr, emptyCsr, type Csr } from '../src/data/csr.js';
import { createModel, type Model } from '../src/model/store.js';
import { defaultThreads, WorkerPool } from '../src/pool/pool.js';
import type { EvalData } from '../src/eval/block-eval.js';
import type { EvalOptions } from '../src/eval/evaluate.js';
import { sharedFloat32, sharedMemory } from '../src/memory/shared.js';
import { kernels } from '../src/kernels/wasm.js';
import { BlockEvaluator } from '../src/eval/block-eval.js';
import { WasmScorer } from '../src/eval/score-wasm.js';
import { JsScorer } from '../src/eval/score-js.js';
import type { BlockScorer } from '../src/eval/scorer.js';
import { UserError } from '../src/errors.js';
import { SHARED_DATASETS } from './lib/datasets.js';
import { benchOutputKind, runScript, scriptArgs } from './lib/script.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';
import { parseCount, parseCountList } from '../src/cli/args.js';
import { loadDataset } from '../src/data/dataset.js';
import { loadModel } from '../src/model/io.js';
import { defaultBlockUsers, sampleUsersWithItems, usersWithItems } from '../src/eval/plan.js';
import { lazyProgress } from '../src/util/progress.js';
import { measureClockGHz, peakMaddsPerSecond, timed, timedAsync } from './lib/machine-peak.js';
import { TEST_AUC_USERS } from '../src/api/train-job.js';

const USAGE = `usage: node dist/scripts/bench-eval.js [--gowalla DIR] [--reps 5] [--out runs/bench-eval.json] [--force]
       node dist/scripts/bench-eval.js --data DIR [--model DIR] [--users 20000] [--blocks 2,8,32] [--full] [--reps 3] [--out FILE] [--force]`;

const OUTPUT = benchOutputKind('bench-eval', (j) => 'kernels' in j);

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

/**
 * scorePanels on operands that stay in L1 (16 users, 256 items, d of the
 * model): what the kernel reaches when memory is no limit, per CPU second.
 */
function kernelCeiling(d: number, reps: number): number {
  // Straight to the kernel (no packing in JavaScript): 32 pairs of users
  // (8 KB at d = 32) against 8 groups of 16 items (16 KB), rows of 128 scores.
  const pairs = 32;
  const groups = 8;
  const users = sharedFloat32(pairs * 2 * d).fill(0.5);
  const items = sharedFloat32(groups * 16 * d).fill(0.25);
  const out = sharedFloat32(pairs * 2 * groups * 16);
  const k = kernels();
  const calls = 4000;
  let best = Infinity;
  for (let r = 0; r <= reps; r++) {
    const t = timed(() => {
      for (let c = 0; c < calls; c++) k.scorePanels(users.byteOffset, pairs, items.byteOffset, groups, d, out.byteOffset, groups * 16);
    });
    if (r > 0) best = Math.min(best, t.cpu);
  }
  return (calls * pairs * 2 * groups * 16 * d) / best;
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
function kernelRates(model: Model, users: number, reps: number, withJs = true) {
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
  if (withJs) {
    const js = new JsScorer(96);
    js.loadItems(model);
    variants.push({ name: 'js 4x2 tile', run: blockRun(js) });
  }
  const secs = variants.map((): number[] => []);
  const cpu = variants.map((): number[] => []);
  for (let r = 0; r <= reps; r++) {
    variants.forEach((v, j) => {
      const t = timed(v.run);
      // The first round warms up (JIT, page faults) and does not count.
      if (r > 0) (secs[j]!.push(t.wall), cpu[j]!.push(t.cpu));
    });
  }
  const out: Record<string, { gmaddPerS: number; medianGmaddPerS: number; gmaddPerCpuS: number; extrapolatedFullSeconds: number }> = {};
  variants.forEach((v, j) => {
    const best = fastest(secs[j]!);
    out[v.name] = { gmaddPerS: madds / best / 1e9, medianGmaddPerS: madds / median(secs[j]!) / 1e9, gmaddPerCpuS: madds / fastest(cpu[j]!) / 1e9, extrapolatedFullSeconds: (full * best) / madds };
  });
  return out;
}

async function benchGowalla(dir: string, reps: number): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const g = gowalla(dir);
  const model = createModel(g.nUsers, g.nItems, 32, { kind: 'glorot', seed: 1 });
  const data: EvalData = { model, splits: { train: g.train, valid: emptyCsr(g.nUsers, g.nItems), test: g.test } };
  const gflop = (2 * g.nUsers * g.nItems * model.dim) / 1e9;
  console.error(`gowalla ${g.nUsers} users x ${g.nItems} items, d=${model.dim} (${gflop.toFixed(1)} GFLOP per full scoring); loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const clock0 = await measureClockGHz();
  const kernelResults = kernelRates(model, 960, reps);
  const ceiling = kernelCeiling(model.dim, reps);
  const clock = Math.max(clock0, await measureClockGHz());
  reportKernels(kernelResults, ceiling, clock);
  // The whole per-block pipeline in this thread (scoring, exclusion, top-K,
  // metrics) on the first 6,000 users, the evaluator reused as a worker does:
  // what it adds to the kernel alone.
  const ev = new BlockEvaluator(data);
  const pipeline = () =>
    timed(() => {
      for (let s = 0; s < 6000; s += 24) {
        ev.run({ kind: 'metrics', runId: 1, from: s, to: s + 24, target: 'test', exclude: ['train'], ks: [20, 50], auc: false, scorer: 'wasm' });
      }
    });
  pipeline();
  let localT = Infinity;
  let localCpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = pipeline();
    localT = Math.min(localT, t.wall);
    localCpu = Math.min(localCpu, t.cpu);
  }
  console.error(`in-thread pipeline, 6,000 users: ${localT.toFixed(2)} s (${localCpu.toFixed(2)} s of CPU) -> ${((localT * g.nUsers) / 6000).toFixed(1)} s for all users (1 thread); scoring ${((100 * (6000 * g.nItems * model.dim)) / localCpu / (kernelResults['scorePanels 2x16 tile (default)']!.gmaddPerCpuS * 1e9)).toFixed(0)}% of its CPU time`);

  const opts: EvalOptions = { target: 'test', exclude: ['train'], ks: [20, 50] };
  const threadCounts = [...new Set([1, 2, defaultThreads()])].filter((n) => n <= defaultThreads());
  // The machine may be shared: the fastest of the repetitions is the best
  // estimate of the uncontended time, the median says how noisy it was.
  const full: Record<string, { seconds: number[]; fastest: number; median: number }> = {};
  let ndcg50 = 0;
  // One pool per thread count, all alive, runs interleaved: a busy spell on
  // a shared machine then hits every thread count alike.
  const pools = threadCounts.map((threads) => ({ threads, pool: new WorkerPool(threads, { ...data, memory: sharedMemory() }), secs: [] as number[], cpu: [] as number[] }));
  try {
    for (const p of pools) await p.pool.evaluate({ ...opts, sampleUsers: 256 }); // warm up: JIT, kernel compile
    for (let r = 0; r < reps; r++) {
      for (const p of pools) {
        const t = await timedAsync(() => p.pool.evaluate(opts));
        p.secs.push(t.value.seconds);
        p.cpu.push(t.cpu);
        ndcg50 = t.value.perK[1]!.ndcg;
      }
    }
    for (const p of pools) {
      full[`${p.threads} thread(s)`] = { seconds: p.secs, fastest: fastest(p.secs), median: median(p.secs) };
      const perCpu = (g.nUsers * g.nItems * model.dim) / fastest(p.cpu);
      console.error(
        `full evaluation, ${p.threads} thread(s): ${p.secs.map((s) => s.toFixed(2)).join(', ')} s (fastest ${fastest(p.secs).toFixed(2)}, median ${median(p.secs).toFixed(2)}); ` +
          `${(perCpu / 1e9).toFixed(1)} G multiply-adds per CPU second, ${((100 * perCpu) / peakMaddsPerSecond(1, clock)).toFixed(0)}% of a core's peak`,
      );
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
  const madds = g.nUsers * g.nItems * model.dim;
  return {
    dataset: { dir, users: g.nUsers, items: g.nItems, dim: model.dim, gflopPerFullScoring: gflop },
    model: 'random (Glorot normal, seed 1)',
    randomModelNdcg50: ndcg50,
    machine: { clockGHz: clock, peakGmaddPerSPerThread: peakMaddsPerSecond(1, clock) / 1e9 },
    kernels: kernelResults,
    kernelCeilingGmaddPerS: ceiling / 1e9,
    inThreadPipelineSecondsAllUsers: (localT * g.nUsers) / 6000,
    fullEvaluation: full,
    // Scoring multiply-adds per CPU second (every thread), whole evaluations, against a core's peak.
    fullEvaluationShareOfPeak: Object.fromEntries(pools.map((p) => [`${p.threads} thread(s)`, madds / fastest(p.cpu) / peakMaddsPerSecond(1, clock)])),
  };
}

/** The kernel figures beside the peak of one core at the measured clock. */
function reportKernels(rates: ReturnType<typeof kernelRates>, ceiling: number, clock: number): void {
  const peak = peakMaddsPerSecond(1, clock);
  console.error(`clock ${clock.toFixed(2)} GHz (measured, cycles per CPU second): peak ${(peak / 1e9).toFixed(1)} G multiply-adds/s per core (f32x4 multiply + add, 8 per cycle)`);
  for (const [k, v] of Object.entries(rates)) {
    console.error(
      `kernel ${k}: ${v.gmaddPerS.toFixed(2)} G multiply-adds/s (median ${v.medianGmaddPerS.toFixed(2)}); per CPU second ${v.gmaddPerCpuS.toFixed(2)}, ${((100 * v.gmaddPerCpuS * 1e9) / peak).toFixed(0)}% of peak ` +
        `-> ${v.extrapolatedFullSeconds.toFixed(1)} s for all users (scoring only, 1 thread)`,
    );
  }
  console.error(`kernel on operands in L1: ${(ceiling / 1e9).toFixed(2)} G multiply-adds per CPU second, ${((100 * ceiling) / peak).toFixed(0)}% of peak`);
}

/**
 * A dataset directory at its own size (the Echonest shape): the kernel, the
 * in-thread pipeline and the pool's evaluation on a fixed sample of users,
 * extrapolated to every user; with `full`, one whole test evaluation as
 * pris train runs it (AUC included), with progress lines.
 */
async function benchDataset(dir: string, modelDir: string | undefined, sampleUsers: number, full: boolean, reps: number, blockSizes: number[]): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const ds = loadDataset(dir);
  const model = modelDir ? loadModel(modelDir).model : createModel(ds.nUsers, ds.nItems, 32, { kind: 'glorot', seed: 1 });
  if (model.nUsers !== ds.nUsers || model.nItems !== ds.nItems) throw new UserError(`model ${modelDir} does not match dataset ${dir}`);
  const data: EvalData = { model, splits: { train: ds.train, valid: ds.valid, test: ds.test } };
  const d = model.dim;
  const testUsers = usersWithItems(ds.test).length;
  const perUser = ds.nItems * d;
  console.error(`${dir}: ${ds.nUsers} users (${testUsers} with test items) x ${ds.nItems} items, d=${d}: ${((testUsers * perUser) / 1e12).toFixed(2)} T multiply-adds per test evaluation; loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const clock0 = await measureClockGHz();
  const kernelResults = kernelRates(model, 192, reps, false);
  const ceiling = kernelCeiling(d, reps);
  const clock = Math.max(clock0, await measureClockGHz());
  reportKernels(kernelResults, ceiling, clock);

  // The in-thread pipeline on 480 users with test items, in the evaluator's own blocks.
  const ev = new BlockEvaluator(data);
  const some = sampleUsersWithItems(ds.test, 480, 1);
  const block = defaultBlockUsers(ds.nUsers, ds.nItems, 1);
  let localCpu = Infinity;
  for (let r = 0; r <= reps; r++) {
    const t = timed(() => {
      for (let s = 0; s < some.length; s += block) {
        ev.run({ kind: 'metrics', runId: 1, from: 0, to: 0, users: Array.from(some.subarray(s, s + block)), target: 'test', exclude: ['train', 'valid'], ks: [20, 50], auc: false, scorer: 'wasm' });
      }
    });
    if (r > 0) localCpu = Math.min(localCpu, t.cpu);
  }
  const pipelinePerUser = localCpu / some.length;
  const scoringShare = perUser / (kernelResults['scorePanels 2x16 tile (default)']!.gmaddPerCpuS * 1e9) / pipelinePerUser;
  console.error(`in-thread pipeline (blocks of ${block}): ${(1000 * pipelinePerUser).toFixed(2)} ms of CPU per user -> ${((pipelinePerUser * testUsers) / 60).toFixed(1)} min of CPU for every test user; scoring ${(100 * scoringShare).toFixed(0)}% of it`);

  const threads = defaultThreads();
  const pool = new WorkerPool(threads, { ...data, memory: sharedMemory() });
  const evals: Record<string, unknown> = {};
  try {
    const opts: EvalOptions = { target: 'test', exclude: ['train', 'valid'], ks: [20, 50] };
    await pool.evaluate({ ...opts, sampleUsers: 256 }); // warm up
    // Plain (every item scored), with AUC (pris train's test evaluation), and skipping clusters
    // (forced on the sample; what pris evaluate does for every user at this size): rounds
    // interleaved, the pruned one's K-means timed apart (once per evaluation).
    const kinds = [
      ['sample', { prune: false }],
      ['sample with AUC', { auc: true }],
      ['sample, pruned', { prune: true }],
    ] as const;
    const wall = kinds.map((): number[] => []);
    const cpu = kinds.map((): number[] => []);
    let clustering: { clusters: number; seconds: number } | undefined;
    for (let r = 0; r < Math.max(1, Math.min(reps, 3)); r++) {
      for (const [j, [, extra]] of kinds.entries()) {
        const t = await timedAsync(() => pool.evaluate({ ...opts, ...extra, sampleUsers, sampleSeed: r + 1 }));
        const kmeans = t.value.pruned?.seconds ?? 0;
        if (t.value.pruned) clustering = t.value.pruned;
        // K-means (this thread, workers idle) is a cost per evaluation, not per user: apart.
        // Its CPU time is not known apart on a shared machine, so CPU counts it.
        wall[j]!.push(t.wall - kmeans);
        cpu[j]!.push(t.cpu);
      }
    }
    for (const [j, [label]] of kinds.entries()) {
      const best = fastest(wall[j]!);
      const madds = sampleUsers * perUser;
      const perCpu = madds / fastest(cpu[j]!);
      const all = (best * testUsers) / sampleUsers + (clustering && j === 2 ? clustering.seconds : 0);
      // Rounds interleaved: each round's time against the plain one's of the same round.
      const ratios = wall[j]!.map((x, r) => x / wall[0]![r]!);
      const cpuRatios = cpu[j]!.map((x, r) => x / cpu[0]![r]!);
      const rates = j === 2 ? {} : { gmaddPerS: madds / best / 1e9, gmaddPerCpuS: perCpu / 1e9, shareOfPeak: perCpu / peakMaddsPerSecond(1, clock) };
      evals[label] = { users: sampleUsers, seconds: wall[j], cpuSeconds: cpu[j], wallToPlain: ratios, cpuToPlain: cpuRatios, extrapolatedAllSeconds: all, ...rates, ...(j === 2 ? { clustering } : {}) };
      console.error(
        `${label} of ${sampleUsers} users, ${threads} threads: ${wall[j]!.map((x) => x.toFixed(1)).join(', ')} s (CPU ${cpu[j]!.map((x) => x.toFixed(1)).join(', ')} s) -> ${(all / 60).toFixed(1)} min for every test user` +
          (clustering && j === 2 ? ` (K-means of ${clustering.clusters} clusters: ${clustering.seconds.toFixed(0)} s, apart; its CPU counted)` : '') +
          (j === 0 ? '' : `; time / plain ${ratios.map((x) => x.toFixed(2)).join(', ')}, CPU / plain ${cpuRatios.map((x) => x.toFixed(2)).join(', ')}`) +
          (j === 2 ? '' : `; ${(madds / best / 1e9).toFixed(1)} G multiply-adds/s, per CPU second ${(perCpu / 1e9).toFixed(1)}, ${((100 * perCpu) / peakMaddsPerSecond(1, clock)).toFixed(0)}% of a core's peak`),
      );
    }
    if (blockSizes.length > 0) {
      // Users per block: each block's pairs sweep the item table once, so blocks of few users
      // stream it from memory again and again once it outgrows the caches. Rounds interleaved.
      const secs = new Map<number, number[]>(blockSizes.map((b) => [b, []]));
      for (let r = 0; r < Math.max(1, Math.min(reps, 3)); r++) {
        for (const b of blockSizes) secs.get(b)!.push((await pool.evaluate({ ...opts, sampleUsers, sampleSeed: 1, blockUsers: b })).seconds);
      }
      const base = fastest(secs.get(blockSizes[0]!)!);
      evals.blockUsers = Object.fromEntries(blockSizes.map((b) => [b, { seconds: secs.get(b)!, relative: fastest(secs.get(b)!) / base }]));
      console.error(`users per block (sample of ${sampleUsers}): ${blockSizes.map((b) => `${b}: ${fastest(secs.get(b)!).toFixed(1)} s (${(fastest(secs.get(b)!) / base).toFixed(2)}x)`).join(', ')}`);
    }
    if (full) {
      // As pris train runs it: AUC on its sample beside the ranking metrics of every user (pruned where it pays).
      const bar = lazyProgress('test', 'lines');
      const t = await timedAsync(() => pool.evaluate({ ...opts, auc: true, aucSample: TEST_AUC_USERS, sampleSeed: 1, onProgress: bar.onProgress }));
      bar.stop();
      const r = t.value;
      evals.full = { seconds: r.seconds, cpuSeconds: t.cpu, evaluated: r.evaluated, metrics: r.perK, auc: r.auc, aucSample: r.aucSample, pruned: r.pruned };
      console.error(
        `full test evaluation as pris train runs it, ${threads} threads: ${(r.seconds / 60).toFixed(1)} min (${(t.cpu / 60).toFixed(1)} min of CPU), ${r.evaluated} users` +
          (r.pruned ? `, ranking metrics skipping clusters (K-means of ${r.pruned.clusters}: ${r.pruned.seconds.toFixed(0)} s), AUC on ${r.aucSample} users` : ', AUC on every user'),
      );
    }
  } finally {
    await pool.close();
  }
  const clockAfter = await measureClockGHz();
  return {
    dataset: { dir: path.basename(dir), users: ds.nUsers, testUsers, items: ds.nItems, dim: d, teraMaddsPerTestEvaluation: (testUsers * perUser) / 1e12 },
    model: modelDir ? path.basename(modelDir) : 'random (Glorot normal, seed 1)',
    machine: { threads, clockGHz: clock, clockGHzAfter: clockAfter, peakGmaddPerSPerThread: peakMaddsPerSecond(1, clock) / 1e9 },
    kernels: kernelResults,
    kernelCeilingGmaddPerS: ceiling / 1e9,
    inThreadPipelineCpuMsPerUser: 1000 * pipelinePerUser,
    evaluations: evals,
  };
}

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, {
    options: {
      gowalla: { type: 'string', default: path.join(SHARED_DATASETS, 'gowalla') },
      data: { type: 'string' },
      model: { type: 'string' },
      users: { type: 'string', default: '20000' },
      full: { type: 'boolean', default: false },
      blocks: { type: 'string' },
      reps: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  // Every flag and input is checked before the output file is claimed.
  const reps = parseCount('reps', values.reps ?? (values.data ? '3' : '5'));
  const users = parseCount('users', values.users);
  const blocks = values.data && values.blocks ? parseCountList('blocks', values.blocks) : [];
  if (!values.data) {
    if (values.model || values.full) throw new UserError('--model and --full go with --data');
    if (!existsSync(path.join(values.gowalla, 'train.txt'))) throw new UserError(`gowalla not found in ${values.gowalla} (use --gowalla DIR)`);
  }
  using out = await openOutputFile({
    path: values.out ?? (values.data ? 'runs/bench-eval-data.json' : 'runs/bench-eval.json'),
    kind: OUTPUT,
    force: values.force,
    reads: [values.data ?? values.gowalla, ...(values.model ? [values.model] : [])],
  });
  const result: Record<string, unknown> = values.data
    ? await benchDataset(values.data, values.model, users, values.full, reps, blocks)
    : await benchGowalla(values.gowalla, reps);
  result.node = process.version;
  out.write(jsonOutput(OUTPUT, result));
  console.log(JSON.stringify(result, null, 2));
}

runScript('bench-eval', main);
