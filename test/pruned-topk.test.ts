import t, { type Test } from 'tap';
import { buildCsr, type Csr } from '../src/data/csr.js';
import { BlockEvaluator, type RecommendBlockResult } from '../src/eval/block-eval.js';
import { nextFloat, nextInt, seedRng } from '../src/kernels/rng.js';
import { createModel, type Model } from '../src/model/store.js';
import { buildItemClusters } from '../src/eval/item-clusters.js';
import { PrunedTopK } from '../src/eval/pruned-topk.js';
import { sharedMemory } from '../src/memory/shared.js';
import { pruneClusterCount } from '../src/eval/item-clusters.js';
import { evaluateModelLocal } from '../src/eval/evaluate.js';
import { WorkerPool } from '../src/pool/pool.js';

/**
 * The cluster-pruned top-K (src/eval/pruned-topk.ts) against the plain evaluator: the same items and the same
 * float32 scores for every user, with exclusions, ties and users alone.
 */

/** Each user excludes ~5% of the items. */
function randomExclusions(nUsers: number, nItems: number, seed: number): Csr {
  const rng = seedRng(seed);
  const u: number[] = [];
  const i: number[] = [];
  for (let x = 0; x < nUsers; x++) for (let j = 0; j < nItems; j++) if (nextFloat(rng) < 0.05) (u.push(x), i.push(j));
  return buildCsr(nUsers, nItems, Int32Array.from(u), Int32Array.from(i));
}

/** The plain evaluator's top-k per user (items and scores). */
function plainTopK(model: Model, train: Csr, k: number, users: number[]): RecommendBlockResult {
  const empty = buildCsr(model.nUsers, model.nItems, new Int32Array(0), new Int32Array(0));
  const ev = new BlockEvaluator({ model, splits: { train, valid: empty, test: empty } });
  return ev.run({ kind: 'recommend', runId: 1, from: 0, to: 0, users, target: 'test', exclude: ['train'], ks: [k], auc: false, scorer: 'wasm' }) as RecommendBlockResult;
}

function check(t: Test, label: string, model: Model, train: Csr, k: number, clusters: number): void {
  const users = Array.from({ length: model.nUsers }, (_, u) => u);
  const ref = plainTopK(model, train, k, users);
  const pruned = new PrunedTopK();
  pruned.load(model, buildItemClusters(model, sharedMemory(), clusters, 5, 3), k);
  let same = 0;
  // Pairs, and the last user alone (odd count).
  for (let j = 0; j < users.length; j += 2) {
    const b = j + 1 < users.length ? j + 1 : -1;
    const counts = pruned.pair(j, b, [train]);
    for (const [r, u] of (b >= 0 ? [[0, j], [1, b]] : [[0, j]]) as [0 | 1, number][]) {
      const n = ref.counts[u]!;
      const heap = pruned.heap(r);
      const ok =
        counts[r] === n &&
        Array.from(heap.items.subarray(0, n)).join() === Array.from(ref.items.subarray(u * k, u * k + n)).join() &&
        Array.from(heap.scores.subarray(0, n)).join() === Array.from(ref.scores.subarray(u * k, u * k + n)).join();
      if (ok) same++;
    }
  }
  t.equal(same, users.length, `${label}, ${clusters} clusters: every user's top ${k} identical, items and scores`);
  t.ok(pruned.stats.groupsScored <= pruned.stats.groupsTotal);
}

t.test('pruned top-K equals the plain one on random models', async (t) => {
  const model = createModel(41, 700, 12, { kind: 'glorot', seed: 5 });
  const train = randomExclusions(41, 700, 6);
  for (const clusters of [1, 9, 60, 700]) check(t, 'Glorot model', model, train, 20, clusters);
});

t.test('ties: duplicated items and integer coordinates', async (t) => {
  const model = createModel(30, 400, 8, { kind: 'glorot', seed: 7 });
  const rng = seedRng(8);
  // Small integers: many users score many items equal; the lower index must win, as in the plain list.
  for (let q = 0; q < model.item.length; q++) model.item[q] = nextInt(rng, 3) - 1;
  for (let q = 0; q < model.user.length; q++) model.user[q] = nextInt(rng, 3) - 1;
  // And exact copies of a few rows.
  for (let j = 0; j < 40; j++) model.item.copyWithin((200 + j) * 8, j * 8, j * 8 + 8);
  const train = randomExclusions(30, 400, 9);
  for (const clusters of [5, 40]) check(t, 'integer model', model, train, 50, clusters);
});

t.test('fewer candidates than k: the shorter list', async (t) => {
  const model = createModel(6, 40, 4, { kind: 'glorot', seed: 2 });
  const train = randomExclusions(6, 40, 3);
  check(t, 'tiny catalogue', model, train, 45, 6);
});

t.test('evaluation and recommendation: pruned or not, the same figures to the bit, on the pool and in this thread', async (t) => {
  const model = createModel(90, 900, 8, { kind: 'glorot', seed: 11 });
  const train = randomExclusions(90, 900, 12);
  const valid = randomExclusions(90, 900, 13);
  const test = randomExclusions(90, 900, 14);
  const data = { model, splits: { train, valid, test } };
  const opts = { target: 'test', exclude: ['train', 'valid'], ks: [5, 20] } as const;
  const plainLocal = evaluateModelLocal(data, { ...opts, exclude: [...opts.exclude], ks: [...opts.ks], prune: false });
  const prunedLocal = evaluateModelLocal(data, { ...opts, exclude: [...opts.exclude], ks: [...opts.ks], prune: true });
  t.same(prunedLocal.perK, plainLocal.perK, 'in this thread');
  t.ok(prunedLocal.pruned && prunedLocal.pruned.clusters > 1, `pruned with ${prunedLocal.pruned?.clusters} clusters`);
  t.equal(plainLocal.pruned, undefined);
  const pool = new WorkerPool(2, { ...data, memory: sharedMemory() });
  t.teardown(() => pool.close());
  const prunedPool = await pool.evaluate({ ...opts, exclude: [...opts.exclude], ks: [...opts.ks], prune: true, sampleUsers: 61 });
  const plainPool = await pool.evaluate({ ...opts, exclude: [...opts.exclude], ks: [...opts.ks], prune: false, sampleUsers: 61 });
  t.same(prunedPool.perK, plainPool.perK, 'on the pool, a sample of users');
  const a = await pool.recommend({ k: 15, exclude: ['train'], prune: true });
  const b = await pool.recommend({ k: 15, exclude: ['train'], prune: false });
  t.same([a.user, a.item, a.score], [b.user, b.item, b.score], 'recommendations');
  t.throws(() => evaluateModelLocal(data, { ...opts, exclude: [...opts.exclude], ks: [...opts.ks], prune: true, auc: true }), /AUC needs every score/);
});

t.test('when pruning is on by default', async (t) => {
  t.equal(pruneClusterCount(40_981, 1_000_000, false), 0, "gowalla's catalogue: never");
  t.equal(pruneClusterCount(384_546, 1_000_000, true), 0, 'never with AUC');
  t.equal(pruneClusterCount(384_546, 1_019_318, false), 1240, 'the Echonest shape: 2 sqrt(items) clusters');
  t.equal(pruneClusterCount(384_546, 20_000, false), 1240, "pris train's validation sample at that size");
  t.equal(pruneClusterCount(384_546, 12_399, false), 0, 'too few users to pay for the clustering');
});

t.test('AUC on a sample beside pruned ranking metrics (aucSample)', async (t) => {
  const model = createModel(90, 900, 8, { kind: 'glorot', seed: 21 });
  const data = { model, splits: { train: randomExclusions(90, 900, 22), valid: randomExclusions(90, 900, 23), test: randomExclusions(90, 900, 24) } };
  const opts = () => ({ target: 'test', exclude: ['train', 'valid'], ks: [5, 20], sampleSeed: 7 }) as const;
  const exact = evaluateModelLocal(data, { ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, prune: false });
  const split = evaluateModelLocal(data, { ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, prune: true, aucSample: 30 });
  const sampleAuc = evaluateModelLocal(data, { ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, prune: false, sampleUsers: 30 });
  t.same(split.perK, exact.perK, 'ranking metrics over every user, exact, from the pruned scorer');
  t.equal(split.evaluated, exact.evaluated);
  t.ok(split.pruned, 'pruned');
  t.equal(split.aucSample, 30);
  t.equal(split.auc, sampleAuc.auc, 'AUC: the mean over the sample of 30 drawn with sampleSeed, to the bit');
  t.not(split.auc, exact.auc, 'not the mean over every user');
  const whole = evaluateModelLocal(data, { ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, aucSample: 1000 });
  t.equal(whole.auc, exact.auc, 'a sample as large as the users: exact AUC in one pass');
  t.equal(whole.aucSample, undefined);
  t.equal(whole.pruned, undefined);
  const pool = new WorkerPool(2, { ...data, memory: sharedMemory() });
  t.teardown(() => pool.close());
  const seen: number[] = [];
  const p = await pool.evaluate({ ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, prune: true, sampleUsers: 61, aucSample: 20, onProgress: (d, n) => seen.push(d / n) });
  const q = await pool.evaluate({ ...opts(), exclude: ['train', 'valid'], ks: [5, 20], auc: true, prune: false, sampleUsers: 20 });
  t.equal(p.auc, q.auc, 'on the pool: AUC of the first 20 of the 61-user sample');
  t.equal(p.evaluated, 61);
  t.equal(seen.at(-1), 1, 'one progress count over both passes');
  t.ok(seen.every((x, j) => j === 0 || x >= seen[j - 1]!), 'never going back');
});
