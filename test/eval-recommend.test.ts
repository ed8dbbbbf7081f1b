import t, { type Test } from 'tap';
import * as path from 'node:path';
import { buildCsr, type Csr } from '../src/data/csr.js';
import type { SplitName } from '../src/data/dataset.js';
import { nextFloat, nextInt, seedRng } from '../src/kernels/rng.js';
import { sharedFloat32, sharedMemory } from '../src/memory/shared.js';
import { wrapModel, type Model } from '../src/model/store.js';
import { WorkerPool } from '../src/pool/pool.js';
import { recommendLocal, type Recommendations } from '../src/eval/recommend.js';
import { readRecommendations, writeRecommendations } from '../src/eval/recs-io.js';

function setup(seed: number, nUsers: number, nItems: number, dim: number) {
  const rng = seedRng(seed);
  const user = sharedFloat32(nUsers * dim);
  const item = sharedFloat32(nItems * dim);
  // Multiples of 1/2: exact in float32 and float64, and ties.
  for (let k = 0; k < user.length; k++) user[k] = (nextInt(rng, 5) - 2) / 2;
  for (let k = 0; k < item.length; k++) item[k] = (nextInt(rng, 5) - 2) / 2;
  const model = wrapModel(nUsers, nItems, dim, user, item);
  const rows: Record<SplitName, { u: number[]; i: number[] }> = { train: { u: [], i: [] }, valid: { u: [], i: [] }, test: { u: [], i: [] } };
  for (let u = 0; u < nUsers; u++) {
    // User 0 has seen almost everything: fewer than k candidates remain.
    const p = u === 0 ? 0.97 : 0.2;
    for (let i = 0; i < nItems; i++) {
      if (nextFloat(rng) < p) {
        const s: SplitName = u === 0 || nextFloat(rng) < 0.8 ? 'train' : 'test';
        rows[s].u.push(u);
        rows[s].i.push(i);
      }
    }
  }
  const csr = (r: { u: number[]; i: number[] }) => buildCsr(nUsers, nItems, Int32Array.from(r.u), Int32Array.from(r.i));
  const splits = { train: csr(rows.train), valid: csr(rows.valid), test: csr(rows.test) };
  return { model, splits };
}

/** Per user: all non-excluded items sorted by score (descending), index ascending, first k. */
function naiveTopK(model: Model, splits: Record<SplitName, Csr>, exclude: SplitName[], k: number): { item: number; score: number }[][] {
  const out: { item: number; score: number }[][] = [];
  for (let u = 0; u < model.nUsers; u++) {
    const ex = new Set<number>();
    for (const s of exclude) for (let q = splits[s].indptr[u]!; q < splits[s].indptr[u + 1]!; q++) ex.add(splits[s].indices[q]!);
    const list = [];
    for (let i = 0; i < model.nItems; i++) {
      if (ex.has(i)) continue;
      let s = 0;
      for (let d = 0; d < model.dim; d++) s += model.user[u * model.dim + d]! * model.item[i * model.dim + d]!;
      list.push({ item: i, score: s });
    }
    list.sort((a, b) => b.score - a.score || a.item - b.item);
    out.push(list.slice(0, k));
  }
  return out;
}

function sameAsNaive(t: Test, recs: Recommendations, want: { item: number; score: number }[][], what: string): void {
  const rows = want.reduce((n, l) => n + l.length, 0);
  t.equal(recs.user.length, rows, `${what}: one row per (user, rank)`);
  let r = 0;
  let bad = 0;
  for (let u = 0; u < want.length; u++) {
    want[u]!.forEach((x, q) => {
      if (recs.user[r] !== u || recs.rank[r] !== q + 1 || recs.item[r] !== x.item || recs.score[r] !== x.score) bad++;
      r++;
    });
  }
  t.equal(bad, 0, `${what}: users ascending, ranks 1.., items and scores of the full sort`);
}

t.test('recommendations equal a full sort, training items excluded', async (t) => {
  const { model, splits } = setup(3, 41, 70, 4);
  const data = { model, splits };
  const want = naiveTopK(model, splits, ['train'], 10);
  t.ok(want[0]!.length < 10, 'a user with fewer than k candidates');
  for (const scorer of ['wasm', 'js'] as const) {
    sameAsNaive(t, recommendLocal(data, { k: 10, exclude: ['train'], scorer, blockUsers: 6 }), want, `in-thread ${scorer}`);
  }
  const seen = recommendLocal(data, { k: 10, exclude: ['train'] });
  let trainHits = 0;
  for (let r = 0; r < seen.user.length; r++) {
    const u = seen.user[r]!;
    const items = splits.train.indices.subarray(splits.train.indptr[u]!, splits.train.indptr[u + 1]!);
    if (items.includes(seen.item[r]!)) trainHits++;
  }
  t.equal(trainHits, 0, 'no training item recommended');
  const all = recommendLocal(data, { k: 10, exclude: [] });
  sameAsNaive(t, all, naiveTopK(model, splits, [], 10), 'nothing excluded (--include-seen)');

  const pool = new WorkerPool(2, { ...data, memory: sharedMemory() });
  t.teardown(() => pool.close());
  sameAsNaive(t, await pool.recommend({ k: 10, exclude: ['train'], blockUsers: 4 }), want, 'pool, 2 threads');
});

t.test('recommendations round-trip through an Arrow file with raw ids', async (t) => {
  const { model, splits } = setup(4, 12, 30, 3);
  const recs = recommendLocal({ model, splits }, { k: 5, exclude: ['train'] });
  const userIds = Array.from({ length: 12 }, (_, u) => `user-${u}`);
  const itemIds = Array.from({ length: 30 }, (_, i) => `ítem/${i}`); // non-ASCII survives
  const dir = t.testdir();
  const file = path.join(dir, 'recs.arrow');
  await writeRecommendations(file, recs, userIds, itemIds);
  const back = readRecommendations(file);
  t.same(Array.from(back.user), Array.from(recs.user));
  t.same(Array.from(back.rank), Array.from(recs.rank));
  t.same(Array.from(back.item), Array.from(recs.item));
  t.same(Array.from(back.score), Array.from(recs.score));
  t.same(back.userId, Array.from(recs.user, (u) => userIds[u]));
  t.same(back.itemId, Array.from(recs.item, (i) => itemIds[i]));
});
