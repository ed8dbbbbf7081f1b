import t, { type Test } from 'tap';
import { buildCsr } from '../src/data/csr.js';
import { sharedFloat32 } from '../src/memory/shared.js';
import { wrapModel } from '../src/model/store.js';
import { UserMetrics, addExact, exactValue, normalizeKs } from '../src/eval/metrics.js';
import { TopK } from '../src/eval/topk.js';
import { evaluateModelLocal } from '../src/eval/evaluate.js';
import { recommendLocal } from '../src/eval/recommend.js';

/** Hand-computed cases: the numbers in the assertions are worked out in the comments. */

const close = (t: Test, got: number, want: number, msg: string) => t.ok(Math.abs(got - want) < 1e-12, `${msg}: ${got} vs ${want}`);

function userMetrics(ks: number[], ranked: number[], test: number[], nItems = 20) {
  const m = new UserMetrics(ks);
  const isTest = new Uint8Array(nItems);
  for (const i of test) isTest[i] = 1;
  const sums = new Float64Array(m.sumsLength);
  m.add(Int32Array.from(ranked), ranked.length, isTest, test.length, sums);
  return m.ks.length
    ? Array.from(m.ks, (k, ki) => ({
        k,
        ndcg: exactValue(sums, ki * 4),
        recall: exactValue(sums, ki * 4 + 1),
        precision: exactValue(sums, ki * 4 + 2),
        map: exactValue(sums, ki * 4 + 3),
      }))
    : [];
}

t.test('two hits at ranks 1 and 3, |test| = 4, k = 5 (and k = 2)', async (t) => {
  // ranked: 7 (hit), 1, 9 (hit), 2, 3; test = {7, 9, 11, 12}
  const [at2, at5] = userMetrics([5, 2], [7, 1, 9, 2, 3], [7, 9, 11, 12]);
  // DCG@5 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@5 over min(5, 4) = 4 ranks
  const idcg4 = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
  close(t, at5!.ndcg, 1.5 / idcg4, 'NDCG@5 = 1.5 / 2.5616');
  t.ok(Math.abs(at5!.ndcg - 0.58557) < 1e-5, 'NDCG@5 = 0.58557');
  close(t, at5!.recall, 2 / 4, 'Recall@5 = hits / |test|');
  close(t, at5!.precision, 2 / 5, 'Precision@5 = hits / k');
  close(t, at5!.map, (1 / 1 + 2 / 3) / 4, 'MAP@5 = (P@1 + P@3) / min(5, 4)');
  // k = 2: one hit at rank 1; IDCG@2 = 1 + 1/log2(3)
  close(t, at2!.ndcg, 1 / (1 + 1 / Math.log2(3)), 'NDCG@2');
  close(t, at2!.recall, 1 / 4, 'Recall@2');
  close(t, at2!.precision, 1 / 2, 'Precision@2');
  close(t, at2!.map, 1 / 2, 'MAP@2 = P@1 / min(2, 4)');
});

t.test('recall is hits / |test| even when |test| > k; precision divides by k even for a short list', async (t) => {
  // 10 test items, k = 3, all three ranked items hit: recall 3/10 (not 3/min(3,10) = 1), NDCG 1, MAP 1
  const [m] = userMetrics([3], [0, 1, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  close(t, m!.recall, 0.3, 'Recall@3');
  close(t, m!.ndcg, 1, 'NDCG@3: ideal over min(3, 10) ranks');
  close(t, m!.map, 1, 'MAP@3');
  // Only 2 candidates ranked (the rest excluded), k = 5, one hit at rank 2
  const [s] = userMetrics([5], [4, 6], [6]);
  close(t, s!.precision, 1 / 5, 'Precision@5 of a 2-item list');
  close(t, s!.ndcg, 1 / Math.log2(3), 'NDCG@5 with the hit at rank 2, |test| = 1');
  close(t, s!.map, 1 / 2, 'MAP@5 = P@2 / 1');
  // No hit at all
  const [z] = userMetrics([5], [1, 2, 3], [9]);
  t.same([z!.ndcg, z!.recall, z!.precision, z!.map], [0, 0, 0, 0], 'all zero without hits');
});

t.test('cutoffs: sorted, deduplicated, positive integers only', async (t) => {
  t.same(normalizeKs([50, 10, 50, 20]), [10, 20, 50]);
  t.throws(() => normalizeKs([]), /at least one/);
  t.throws(() => normalizeKs([0]), /positive integer/);
  t.throws(() => normalizeKs([2.5]), /positive integer/);
});

t.test('exact sums do not depend on the order of addition', async (t) => {
  const xs = Array.from({ length: 1000 }, (_, k) => Math.abs(Math.sin(k * 12.9898)) % 1);
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  for (const x of xs) addExact(a, 0, x);
  for (const x of [...xs].reverse()) addExact(b, 0, x);
  t.equal(exactValue(a, 0), exactValue(b, 0), 'same bits forwards and backwards');
  const plain = xs.reduce((s, x) => s + x, 0);
  t.ok(Math.abs(exactValue(a, 0) - plain) < 1e-9, 'and the right sum');
  const c = new Float64Array(3);
  addExact(c, 0, 1);
  addExact(c, 0, 1 / 3);
  t.equal(exactValue(c, 0), 1 + 1 / 3, 'exact for 1 + 1/3');
});

t.test('top-K: higher score first, ties by lower index, -Infinity and NaN never selected', async (t) => {
  const row = new Float32Array([1, 3, 3, 2, 3, -Infinity, NaN, 0]);
  const k2 = new TopK(2);
  t.equal(k2.select(row, 0, row.length), 2);
  t.same(Array.from(k2.items.subarray(0, 2)), [1, 2], 'of three 3s, items 1 and 2');
  const k10 = new TopK(10);
  const n = k10.select(row, 0, row.length);
  t.equal(n, 6, 'only the 6 finite items');
  t.same(Array.from(k10.items.subarray(0, n)), [1, 2, 4, 3, 0, 7]);
  t.same(Array.from(k10.scores.subarray(0, n)), [3, 3, 3, 2, 1, 0]);
  t.throws(() => new TopK(0));
});

t.test('top-K with chunk maxima equals a full sort (many ties, many chunks)', async (t) => {
  const chunk = 4;
  const n = 203;
  for (let trial = 0; trial < 50; trial++) {
    const row = new Float32Array(n);
    for (let i = 0; i < n; i++) row[i] = Math.floor(Math.abs(Math.sin((trial + 1) * (i + 3) * 7.31)) * 6);
    for (let i = trial % 7; i < n; i += 11) row[i] = -Infinity;
    const maxima = new Float32Array(Math.ceil(n / chunk));
    for (let c = 0; c < maxima.length; c++) maxima[c] = Math.max(...row.subarray(c * chunk, Math.min(n, (c + 1) * chunk)));
    const K = 1 + (trial % 17);
    const want = Array.from(row, (s, i) => ({ s, i }))
      .filter((x) => x.s > -Infinity)
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, K)
      .map((x) => x.i);
    const tk = new TopK(K);
    const got = tk.select(row, 0, n, maxima, 0, chunk);
    t.same(Array.from(tk.items.subarray(0, got)), want, `trial ${trial}, K=${K}`);
  }
});

t.test('a one-user case by hand: exclusion, ties, AUC (both kernels)', async (t) => {
  // d = 1, user coordinate 1: the score of item i is its coordinate.
  //   item:   0    1    2    3    4    5
  //   score: 0.9  0.5  0.7  0.5  0.1  2.0
  //   test = {0, 1}; item 5 is a training item (excluded despite the top score)
  const item = sharedFloat32(6);
  item.set([0.9, 0.5, 0.7, 0.5, 0.1, 2.0]);
  const user = sharedFloat32(1);
  user[0] = 1;
  const model = wrapModel(1, 6, 1, user, item);
  const u = (xs: number[]) => Int32Array.from(xs.map(() => 0));
  const splits = {
    train: buildCsr(1, 6, u([5]), Int32Array.from([5])),
    valid: buildCsr(1, 6, u([]), new Int32Array(0)),
    test: buildCsr(1, 6, u([0, 1]), Int32Array.from([0, 1])),
  };
  for (const scorer of ['wasm', 'js'] as const) {
    const r = evaluateModelLocal({ model, splits }, { target: 'test', exclude: ['train', 'valid'], ks: [1, 5], auc: true, scorer });
    // Ranking: 0 (0.9), 2 (0.7), 1 (0.5; ties with 3, lower index first), 3, 4. Hits at ranks 1 and 3.
    const [at1, at5] = r.perK;
    close(t, at1!.ndcg, 1, `${scorer}: NDCG@1`);
    close(t, at1!.precision, 1, `${scorer}: Precision@1 (item 5 excluded, else 0)`);
    close(t, at5!.ndcg, (1 + 0.5) / (1 + 1 / Math.log2(3)), `${scorer}: NDCG@5, the tie broken by index`);
    close(t, at5!.map, (1 + 2 / 3) / 2, `${scorer}: MAP@5`);
    close(t, at5!.precision, 2 / 5, `${scorer}: Precision@5`);
    // AUC pairs over candidates {2, 3, 4}: 0.9 beats all 3; 0.5 beats 0.1, ties 0.5, loses to 0.7 -> 1.5.
    close(t, r.auc!, 4.5 / 6, `${scorer}: AUC = 4.5 / (2 x 3)`);
    t.equal(r.aucUsers, 1);
  }
});

t.test('masking a chunk maximum: the chunk maxima are recomputed, top-K stays exact', async (t) => {
  // d = 1, one user with coordinate 1: item i scores item[i]. 20 chunks of 64
  // items; in every chunk the best item (score 100 + c) is a training item.
  // With stale maxima the 5th largest (115) would hide every candidate.
  const n = 20 * 64;
  const item = sharedFloat32(n);
  for (let i = 0; i < n; i++) item[i] = (i * 37) % 101; // 0..100, ties included
  const train: number[] = [];
  for (let c = 0; c < 20; c++) {
    item[c * 64 + 5] = 100 + c;
    train.push(c * 64 + 5);
  }
  const user = sharedFloat32(1);
  user[0] = 1;
  const model = wrapModel(1, n, 1, user, item);
  const none = buildCsr(1, n, new Int32Array(0), new Int32Array(0));
  const splits = { train: buildCsr(1, n, new Int32Array(20), Int32Array.from(train)), valid: none, test: none };
  const want = Array.from(item, (s, i) => ({ s, i }))
    .filter((x) => !train.includes(x.i))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, 5)
    .map((x) => x.i);
  for (const scorer of ['wasm', 'js'] as const) {
    const r = recommendLocal({ model, splits }, { k: 5, exclude: ['train'], scorer });
    t.same(Array.from(r.item), want, `${scorer}: the five best non-training items`);
  }
});
