/**
 * Does skipping K-means clusters pay for exact top-K at d = 32? (Not a
 * test; no thresholds.) docs/metrics.md records the answer.
 *
 *   npm run build && node dist/scripts/bench-pruned.js (--dataset gowalla | --data DIR) --model DIR
 *     [--users 2000] [--clusters 100,316,1000,3162] [--iterations 10] [--k 50] [--reps 3] [--out FILE]
 *
 * On a fixed sample of users with test items, in this thread (the work of
 * one evaluation worker), the top-k with train and valid items excluded:
 *   - plain: the evaluator's blocks (scorePanels over every item, chunk
 *     maxima, TopK), as pris evaluate runs them;
 *   - pruned, per cluster count: src/eval/pruned-topk.ts (the bound
 *     u·c + ||u|| r_c skips clusters that cannot reach the user's k-th
 *     score), after K-means on the item table (timed apart: once per
 *     evaluation).
 * Every user's list (items and scores) is checked identical to the plain
 * one first; then rounds of all variants, interleaved, give each pruned
 * variant's time as a ratio to the plain one in the same round.
 */
import * as path from 'node:path';
import { loadDataset } from '../src/data/dataset.js';
import { BlockEvaluator, type RecommendBlockResult } from '../src/eval/block-eval.js';
import { defaultBlockUsers, sampleUsersWithItems, usersWithItems } from '../src/eval/plan.js';
import { loadModel } from '../src/model/io.js';
import { parseCount, parseCountList } from '../src/cli/args.js';
import { UserError } from '../src/errors.js';
import { preparedDataset } from './lib/datasets.js';
import { buildItemClusters } from '../src/eval/item-clusters.js';
import { PrunedTopK } from '../src/eval/pruned-topk.js';
import { sharedMemory } from '../src/memory/shared.js';
import { benchOutputKind, runScript, scriptArgs } from './lib/script.js';
import { jsonOutput, openOutputFile } from '../src/util/output.js';

const USAGE = `usage: node dist/scripts/bench-pruned.js (--dataset gowalla | --data DIR) --model DIR
  [--users 2000] [--clusters 100,316,1000,3162] [--iterations 10] [--k 50] [--reps 3] [--out FILE] [--force]`;

const OUTPUT = benchOutputKind('bench-pruned');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string' },
      data: { type: 'string' },
      model: { type: 'string' },
      users: { type: 'string', default: '2000' },
      clusters: { type: 'string', default: '100,316,1000,3162' },
      iterations: { type: 'string', default: '10' },
      k: { type: 'string', default: '50' },
      reps: { type: 'string', default: '3' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if ((values.dataset === undefined) === (values.data === undefined)) throw new UserError('give --dataset NAME or --data DIR (one of them)');
  if (!values.model) throw new UserError('--model DIR is required: a trained model (a random one has no clusters worth the name)');
  const dir = values.data ?? (await preparedDataset(values.dataset!));
  const name = values.dataset ?? path.basename(path.resolve(dir));
  const nUsers = parseCount('users', values.users);
  const clusterCounts = parseCountList('clusters', values.clusters);
  const iterations = parseCount('iterations', values.iterations);
  const k = parseCount('k', values.k);
  const reps = parseCount('reps', values.reps);
  using out = await openOutputFile({ path: values.out ?? path.join('runs', `bench-pruned-${name}.json`), kind: OUTPUT, force: values.force, reads: [dir, ...(values.model ? [values.model] : [])] });

  const ds = loadDataset(dir);
  const { model } = loadModel(values.model);
  if (model.nUsers !== ds.nUsers || model.nItems !== ds.nItems) throw new UserError(`model ${values.model} does not match ${dir}`);
  const users = sampleUsersWithItems(ds.test, nUsers, 1);
  const testUsers = usersWithItems(ds.test).length;
  const exclude = [ds.train, ds.valid];
  console.error(`${name}: ${ds.nUsers} users x ${ds.nItems} items, d=${model.dim}; ${users.length} users with test items, top ${k}, train + valid excluded`);

  const ev = new BlockEvaluator({ model, splits: { train: ds.train, valid: ds.valid, test: ds.test } });
  const block = defaultBlockUsers(ds.nUsers, ds.nItems, 1);
  const plain = (): RecommendBlockResult[] => {
    const out: RecommendBlockResult[] = [];
    for (let s = 0; s < users.length; s += block) {
      const list = Array.from(users.subarray(s, s + block));
      out.push(ev.run({ kind: 'recommend', runId: 1, from: 0, to: 0, users: list, target: 'test', exclude: ['train', 'valid'], ks: [k], auc: false, scorer: 'wasm' }) as RecommendBlockResult);
    }
    return out;
  };
  const ref = plain();
  const refItems = new Int32Array(users.length * k).fill(-1);
  const refScores = new Float32Array(users.length * k);
  let at = 0;
  for (const b of ref) {
    for (let j = 0; j < b.users.length; j++, at++) {
      refItems.set(b.items.subarray(j * k, j * k + b.counts[j]!), at * k);
      refScores.set(b.scores.subarray(j * k, j * k + b.counts[j]!), at * k);
    }
  }

  const variants: { name: string; run: () => void; clusters?: number; clusterSeconds?: number; scored?: number }[] = [{ name: 'plain', run: plain }];
  for (const C of clusterCounts) {
    if (C > ds.nItems) continue;
    const t0 = performance.now();
    const clusters = buildItemClusters(model, sharedMemory(), C, iterations);
    const clusterSeconds = (performance.now() - t0) / 1000;
    const pruned = new PrunedTopK();
    pruned.load(model, clusters, k);
    let mismatched = 0;
    const run = (check: boolean) => {
      // Variants take turns in this thread: each reloads its own clusters (no repacking).
      pruned.load(model, clusters, k);
      for (let j = 0; j < users.length; j += 2) {
        const pair = j + 1 < users.length;
        const counts = pruned.pair(users[j]!, pair ? users[j + 1]! : -1, exclude);
        if (!check) continue;
        for (let r = 0; r < (pair ? 2 : 1); r++) {
          const heap = pruned.heap(r as 0 | 1);
          const u = j + r;
          const n = counts[r]!;
          let same = n === k || refItems[u * k + n] === -1;
          for (let q = 0; q < n && same; q++) same = heap.items[q] === refItems[u * k + q] && Math.fround(heap.scores[q]!) === refScores[u * k + q];
          if (!same) mismatched++;
        }
      }
    };
    run(true);
    if (mismatched > 0) throw new Error(`${C} clusters: ${mismatched} users' lists differ from the plain evaluator's`);
    const scored = pruned.stats.groupsScored / pruned.stats.groupsTotal;
    console.error(`${C} clusters: K-means (${iterations} iterations) and packing ${clusterSeconds.toFixed(1)} s; every list identical to the plain one; ${(100 * scored).toFixed(1)}% of the item groups scored`);
    variants.push({ name: `pruned, ${C} clusters`, run: () => run(false), clusters: C, clusterSeconds, scored });
  }

  const secs = variants.map((): number[] => []);
  for (let r = 0; r < reps; r++) {
    variants.forEach((v, j) => {
      const t0 = performance.now();
      v.run();
      secs[j]!.push((performance.now() - t0) / 1000);
    });
  }
  const rows = variants.map((v, j) => {
    const ratios = secs[j]!.map((x, r) => x / secs[0]![r]!);
    return {
      variant: v.name,
      clusters: v.clusters,
      groupsScored: v.scored ?? 1,
      msPerUser: (1000 * median(secs[j]!)) / users.length,
      ratioToPlain: mean(ratios),
      ratios,
      clusteringSeconds: v.clusterSeconds,
      clusteringMsPerTestUser: v.clusterSeconds !== undefined ? (1000 * v.clusterSeconds) / testUsers : undefined,
    };
  });
  const lines = ['| variant | item groups scored | ms per user (median) | time / plain (mean of rounds) | K-means + packing, s |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.variant} | ${(100 * r.groupsScored).toFixed(1)}% | ${r.msPerUser.toFixed(3)} | ${r.ratioToPlain.toFixed(2)} (${r.ratios.map((x) => x.toFixed(2)).join(', ')}) | ${r.clusteringSeconds?.toFixed(1) ?? ''} |`);
  }
  const table = lines.join('\n');
  console.error(`\n${table}\n`);
  const result = { dataset: { name, dir: path.basename(dir), users: ds.nUsers, items: ds.nItems, dim: model.dim, testUsers }, model: path.basename(values.model), sampleUsers: users.length, k, iterations, reps, plainBlockUsers: block, rows, table, node: process.version };
  out.write(jsonOutput(OUTPUT, result));
  console.log(JSON.stringify(result, null, 2));
}

runScript('bench-pruned', main);
