/**
 * How much a fixed sample of validation users costs the validation figure
 * and the choice of the kept epoch (the default --valid-users of pris train,
 * docs/metrics.md). Not a test; no thresholds.
 *
 *   npm run build && node dist/scripts/valid-sample.js [--dataset gowalla | --data DIR]
 *     [--epochs 60] [--every 5 | --model DIR] [--sizes 1000,2000,5000,10000,20000,50000]
 *     [--seeds 50] [--k 50] [--threads N] [--out runs/valid-sample-<name>.json]
 *
 * Trains with pris train's defaults (no validation inside the run), and at
 * every --every epochs (or once, for the trained model of --model: no
 * training, no choice of epoch) computes every validation user's NDCG@k (top-k of
 * the whole catalogue, train items excluded: the validation protocol) and
 * checks that their mean is the full validation figure of the evaluator.
 * A sample's figure is then the mean over its users, for the samples
 * training draws (sampleUsersWithItems, seeds 1..--seeds), so any size is
 * judged against the full figure without another pass:
 *   - error: sample figure - full figure, over seeds and validations
 *     (sd and largest), and the per-user sd that predicts it (sd / sqrt(N));
 *   - choice: the epoch with the best sample figure against the one with
 *     the best full figure, and the full figure given up by choosing on the
 *     sample (what keeping "the best validated state" loses);
 *   - cost: seconds of one validation on the sample and on every user.
 */
import * as path from 'node:path';
import { loadDataset, type LoadedDataset } from '../src/data/dataset.js';
import { sampleUsersWithItems, usersWithItems } from '../src/eval/plan.js';
import { resolveTrainConfig } from '../src/train/options.js';
import { closeSession, runEpoch, startSession } from '../src/train/session.js';
import { prepareRun } from '../src/train/train.js';
import { defaultThreads, WorkerPool } from '../src/pool/pool.js';
import { loadModel } from '../src/model/io.js';
import { sharedMemory } from '../src/memory/shared.js';
import { parseCount, parseCountList } from '../src/cli/args.js';
import { UserError } from '../src/errors.js';
import { preparedDataset } from './lib/datasets.js';
import { benchOutputKind, runScript, scriptArgs } from './lib/script.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';

const USAGE = `usage: node dist/scripts/valid-sample.js [--dataset gowalla | --data DIR] [--epochs 60] [--every 5 | --model DIR]
  [--sizes 1000,2000,5000,10000,20000,50000] [--seeds 50] [--k 50] [--threads N] [--out FILE] [--force]`;

const OUTPUT = benchOutputKind('valid-sample');

/**
 * Users scored per recommend call: bounds the top-k lists held at once
 * (200,000 x k = 50: 160 MB), and enough users that a large catalogue's
 * calls skip item clusters (the same lists, found sooner).
 */
const CHUNK_USERS = 200_000;

/** Every validation user's NDCG@k (binary gains, IDCG over min(k, |T|)), by position in `users`. */
async function perUserNdcg(pool: WorkerPool, ds: LoadedDataset, users: Int32Array, k: number): Promise<Float64Array> {
  const out = new Float64Array(users.length);
  const isTarget = new Uint8Array(ds.nItems);
  const disc = Float64Array.from({ length: k }, (_, r) => 1 / Math.log2(r + 2));
  const v = ds.valid;
  for (let c0 = 0; c0 < users.length; c0 += CHUNK_USERS) {
    const chunk = users.subarray(c0, Math.min(users.length, c0 + CHUNK_USERS));
    const recs = await pool.recommend({ k, exclude: ['train'], users: chunk });
    let row = 0;
    for (let j = 0; j < chunk.length; j++) {
      const u = chunk[j]!;
      let nT = 0;
      for (let p = v.indptr[u]!; p < v.indptr[u + 1]!; p++) if (isTarget[v.indices[p]!] === 0) (isTarget[v.indices[p]!] = 1), nT++;
      let dcg = 0;
      for (; row < recs.user.length && recs.user[row] === u; row++) if (isTarget[recs.item[row]!]) dcg += disc[recs.rank[row]! - 1]!;
      let idcg = 0;
      for (let r = 0; r < Math.min(k, nT); r++) idcg += disc[r]!;
      out[c0 + j] = dcg / idcg;
      for (let p = v.indptr[u]!; p < v.indptr[u + 1]!; p++) isTarget[v.indices[p]!] = 0;
    }
  }
  return out;
}

const mean = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let q = 0; q < xs.length; q++) s += xs[q]!;
  return s / xs.length;
};
const sd = (xs: ArrayLike<number>) => {
  const m = mean(xs);
  let s = 0;
  for (let q = 0; q < xs.length; q++) s += (xs[q]! - m) ** 2;
  return Math.sqrt(s / Math.max(1, xs.length - 1));
};

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string' },
      data: { type: 'string' },
      epochs: { type: 'string', default: '60' },
      every: { type: 'string', default: '5' },
      sizes: { type: 'string', default: '1000,2000,5000,10000,20000,50000' },
      seeds: { type: 'string', default: '50' },
      k: { type: 'string', default: '50' },
      threads: { type: 'string', default: String(defaultThreads()) },
      model: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if ((values.dataset === undefined) === (values.data === undefined)) throw new UserError('give --dataset NAME or --data DIR (one of them)');
  const dir = values.data ?? (await preparedDataset(values.dataset!));
  const name = values.dataset ?? path.basename(path.resolve(dir));
  const epochs = parseCount('epochs', values.epochs);
  const every = parseCount('every', values.every);
  const sizes = parseCountList('sizes', values.sizes);
  const seeds = parseCount('seeds', values.seeds);
  const k = parseCount('k', values.k);
  const threads = parseCount('threads', values.threads);
  using out = await openOutputFile({ path: values.out ?? path.join('runs', `valid-sample-${name}.json`), kind: OUTPUT, force: values.force, reads: [dir, ...(values.model ? [values.model] : [])] });

  const ds = loadDataset(dir);
  const users = usersWithItems(ds.valid);
  if (users.length === 0) throw new UserError(`${dir} has no validation split`);
  const position = new Int32Array(ds.nUsers).fill(-1);
  users.forEach((u, j) => (position[u] = j));
  const what = values.model ? `the model in ${values.model}` : `${epochs} epochs, per-user NDCG@${k} every ${every}`;
  console.error(`${name}: ${ds.nUsers} users (${users.length} with validation items) x ${ds.nItems} items; ${what}`);

  const points: { epoch: number; full: number; userSd: number; perUser: Float64Array; fullSeconds: number }[] = [];
  const cost: Record<string, number> = {};
  /** One validation point: every user's NDCG (checked against the evaluator the first time). */
  const measure = async (pool: WorkerPool, epoch: number, note: string) => {
    const t0 = performance.now();
    const perUser = await perUserNdcg(pool, ds, users, k);
    const fullSeconds = (performance.now() - t0) / 1000;
    const full = mean(perUser);
    points.push({ epoch, full, userSd: sd(perUser), perUser, fullSeconds });
    console.error(`${note}valid NDCG@${k} ${full.toFixed(5)} (per-user sd ${sd(perUser).toFixed(4)}; ${fullSeconds.toFixed(1)} s)`);
    if (points.length === 1) {
      // The per-user figures must add up to the evaluator's own.
      const ev = await pool.evaluate({ target: 'valid', exclude: ['train'], ks: [k] });
      if (Math.abs(ev.perK[0]!.ndcg - full) > 1e-9) throw new Error(`per-user NDCG mean ${full} differs from the evaluator's ${ev.perK[0]!.ndcg}`);
      cost.all = ev.seconds;
    }
  };
  const sampleCosts = async (pool: WorkerPool) => {
    for (const n of sizes) if (n < users.length) cost[String(n)] = (await pool.evaluate({ target: 'valid', exclude: ['train'], ks: [k], sampleUsers: n, sampleSeed: 1 })).seconds;
  };
  if (values.model) {
    const { model } = loadModel(values.model);
    if (model.nUsers !== ds.nUsers || model.nItems !== ds.nItems) throw new UserError(`model ${values.model} does not match ${dir}`);
    const pool = new WorkerPool(threads, { memory: sharedMemory(), model, splits: { train: ds.train, valid: ds.valid, test: ds.test } });
    try {
      await measure(pool, 0, `model ${values.model}: `);
      await sampleCosts(pool);
    } finally {
      await pool.close();
    }
  } else {
    const s = startSession(ds, prepareRun(ds, resolveTrainConfig({ threads, epochs, evalEvery: 0, validUsers: 0, k: [k] })));
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const st = await runEpoch(s, epoch);
        if (epoch % every === 0 || epoch === epochs) await measure(s.pool, epoch, `epoch ${epoch}: loss ${st.loss.toFixed(4)}, `);
      }
      await sampleCosts(s.pool);
    } finally {
      await closeSession(s);
    }
  }

  const fullBest = points.reduce((b, p, j) => (p.full > points[b]!.full ? j : b), 0);
  const rows = [];
  for (const n of sizes) {
    if (n >= users.length) continue;
    const errors: number[] = [];
    const lost: number[] = [];
    let sameChoice = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const sample = sampleUsersWithItems(ds.valid, n, seed);
      let best = -1;
      let bestScore = -Infinity;
      points.forEach((p, j) => {
        let sum = 0;
        for (const u of sample) sum += p.perUser[position[u]!]!;
        const est = sum / n;
        errors.push(est - p.full);
        // Early stopping keeps the first best (a later equal score is no improvement).
        if (est > bestScore) (bestScore = est), (best = j);
      });
      if (best === fullBest) sameChoice++;
      lost.push(points[fullBest]!.full - points[best]!.full);
    }
    const predicted = mean(points.map((p) => p.userSd)) / Math.sqrt(n) * Math.sqrt(1 - n / users.length);
    const row = {
      users: n,
      errorSd: sd(errors),
      predictedSd: predicted,
      errorSdRelative: sd(errors) / mean(points.map((p) => p.full)),
      largestError: Math.max(...errors.map(Math.abs)),
      sameEpochShare: sameChoice / seeds,
      lostMean: mean(lost),
      lostLargest: Math.max(...lost),
      seconds: cost[String(n)],
    };
    rows.push(row);
  }
  const head = `| users | error sd | predicted sd | sd / figure | largest error | same epoch kept | full figure lost: mean | largest | s per validation |`;
  const lines = [head, '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.users.toLocaleString('en-US')} | ${r.errorSd.toFixed(5)} | ${r.predictedSd.toFixed(5)} | ${(100 * r.errorSdRelative).toFixed(2)}% | ${r.largestError.toFixed(5)} | ` +
        `${(100 * r.sameEpochShare).toFixed(0)}% | ${r.lostMean.toFixed(5)} | ${r.lostLargest.toFixed(5)} | ${r.seconds?.toFixed(2)} |`,
    );
  }
  lines.push(`| all ${users.length.toLocaleString('en-US')} | 0 | | | | 100% | 0 | 0 | ${cost.all?.toFixed(2)} |`);
  const table = lines.join('\n');
  console.error(`\nfull validation NDCG@${k} by epoch: ${points.map((p) => `${p.epoch}: ${p.full.toFixed(5)}`).join(', ')}; best at epoch ${points[fullBest]!.epoch}\n\n${table}\n`);
  const result = {
    dataset: { name, dir: path.basename(dir), users: ds.nUsers, items: ds.nItems, validUsers: users.length },
    config: values.model ? { model: path.basename(values.model), k, threads, seeds } : { epochs, every, k, threads, seeds },
    validations: points.map((p) => ({ epoch: p.epoch, full: p.full, perUserSd: p.userSd, fullSeconds: p.fullSeconds })),
    bestEpoch: points[fullBest]!.epoch,
    samples: rows,
    secondsAll: cost.all,
    table,
    node: process.version,
  };
  out.write(jsonOutput(OUTPUT, result));
  console.log(JSON.stringify(result, null, 2));
}

runScript('valid-sample', main);
