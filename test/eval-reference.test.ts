import t, { type Test } from 'tap';
import { buildCsr, type Csr } from '../src/data/csr.js';
import type { SplitName } from '../src/data/dataset.js';
import { seedRng, nextFloat, nextInt, nextGaussian } from '../src/kernels/rng.js';
import { sharedFloat32 } from '../src/memory/shared.js';
import { wrapModel, type Model } from '../src/model/store.js';
import { WorkerPool } from '../src/pool/pool.js';
import type { EvalData } from '../src/eval/block-eval.js';
import { evaluateModelLocal, type EvalResult } from '../src/eval/evaluate.js';
import { sharedMemory } from '../src/memory/shared.js';
import { popularityModel } from '../src/eval/popularity.js';
import { sampleUsersWithItems } from '../src/eval/plan.js';

/**
 * The evaluator against a naive reference written straight from the
 * definitions in docs/metrics.md: every score of a user in float64, a full
 * sort of the candidates (score descending, index ascending), metrics from
 * the formulas, AUC from explicit pairs.
 */

interface RefResult {
  evaluated: number;
  skipped: number;
  perK: { k: number; ndcg: number; recall: number; precision: number; map: number }[];
  auc: number;
  aucUsers: number;
}

function rowSet(c: Csr, u: number): Set<number> {
  return new Set(Array.from(c.indices.subarray(c.indptr[u]!, c.indptr[u + 1]!)));
}

function naive(model: Model, splits: Record<SplitName, Csr>, target: SplitName, exclude: SplitName[], ks: number[], users?: Iterable<number>): RefResult {
  const sums = ks.map(() => ({ ndcg: 0, recall: 0, precision: 0, map: 0 }));
  let evaluated = 0;
  let skipped = 0;
  let aucSum = 0;
  let aucUsers = 0;
  const { dim: d } = model;
  const userList = users ? Array.from(users) : Array.from({ length: model.nUsers }, (_, u) => u);
  for (const u of userList) {
    const T = rowSet(splits[target], u);
    if (T.size === 0) {
      skipped++;
      continue;
    }
    evaluated++;
    const excluded = new Set<number>();
    for (const s of exclude) for (const i of rowSet(splits[s], u)) excluded.add(i);
    const score = (i: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += model.user[u * d + k]! * model.item[i * d + k]!;
      return s;
    };
    const ranked: { i: number; s: number }[] = [];
    for (let i = 0; i < model.nItems; i++) if (!excluded.has(i)) ranked.push({ i, s: score(i) });
    ranked.sort((a, b) => b.s - a.s || a.i - b.i);
    ks.forEach((k, ki) => {
      let hits = 0;
      let dcg = 0;
      let ap = 0;
      for (let r = 1; r <= Math.min(k, ranked.length); r++) {
        if (T.has(ranked[r - 1]!.i)) {
          hits++;
          dcg += 1 / Math.log2(r + 1);
          ap += hits / r;
        }
      }
      let idcg = 0;
      for (let r = 1; r <= Math.min(k, T.size); r++) idcg += 1 / Math.log2(r + 1);
      sums[ki]!.ndcg += dcg / idcg;
      sums[ki]!.recall += hits / T.size;
      sums[ki]!.precision += hits / k;
      sums[ki]!.map += ap / Math.min(k, T.size);
    });
    // AUC: a test item that is also excluded cannot be ranked, so it wins no pair.
    const negatives = ranked.filter((x) => !T.has(x.i));
    if (negatives.length > 0) {
      let wins = 0;
      for (const ti of T) {
        if (excluded.has(ti)) continue;
        const st = score(ti);
        for (const n of negatives) wins += st > n.s ? 1 : st === n.s ? 0.5 : 0;
      }
      aucSum += wins / (T.size * negatives.length);
      aucUsers++;
    }
  }
  return {
    evaluated,
    skipped,
    perK: ks.map((k, ki) => ({
      k,
      ndcg: sums[ki]!.ndcg / evaluated,
      recall: sums[ki]!.recall / evaluated,
      precision: sums[ki]!.precision / evaluated,
      map: sums[ki]!.map / evaluated,
    })),
    auc: aucSum / aucUsers,
    aucUsers,
  };
}

/**
 * A random model and random splits. `grid` embeddings are multiples of 1/2 in
 * [-1, 1]: float32 and float64 arithmetic are then both exact, and scores tie
 * often (the tie rule gets exercised). Otherwise Gaussian values.
 */
function randomCase(seed: number, nUsers: number, nItems: number, dim: number, grid: boolean) {
  const rng = seedRng(seed);
  const val = () => (grid ? (nextInt(rng, 5) - 2) / 2 : nextGaussian(rng));
  const user = sharedFloat32(nUsers * dim);
  const item = sharedFloat32(nItems * dim);
  for (let k = 0; k < user.length; k++) user[k] = val();
  for (let k = 0; k < item.length; k++) item[k] = val();
  // Some items are exact copies of others: ties even without the grid.
  for (let i = 1; i < nItems; i += 7) item.copyWithin(i * dim, (i - 1) * dim, i * dim);
  const model = wrapModel(nUsers, nItems, dim, user, item);
  const parts: Record<SplitName, { u: number[]; i: number[] }> = { train: { u: [], i: [] }, valid: { u: [], i: [] }, test: { u: [], i: [] } };
  for (let u = 0; u < nUsers; u++) {
    // Every 5th user has no test items; some users have many.
    const density = u % 4 === 0 ? 0.6 : 0.15;
    for (let i = 0; i < nItems; i++) {
      if (nextFloat(rng) >= density) continue;
      const x = nextFloat(rng);
      const split: SplitName = x < 0.6 ? 'train' : x < 0.75 ? 'valid' : 'test';
      if (split === 'test' && u % 5 === 1) continue;
      parts[split].u.push(u);
      parts[split].i.push(i);
    }
  }
  // A few overlaps between test and train: exclusion must win (documented edge case).
  for (let u = 2; u < nUsers; u += 9) {
    const c = parts.test;
    const k = c.u.indexOf(u);
    if (k >= 0) {
      parts.train.u.push(u);
      parts.train.i.push(c.i[k]!);
    }
  }
  const csr = (p: { u: number[]; i: number[] }) => buildCsr(nUsers, nItems, Int32Array.from(p.u), Int32Array.from(p.i));
  const splits = { train: csr(parts.train), valid: csr(parts.valid), test: csr(parts.test) };
  return { model, splits, data: { model, splits } as EvalData };
}

function agree(t: Test, got: EvalResult, ref: RefResult, what: string, withAuc = true): void {
  t.equal(got.evaluated, ref.evaluated, `${what}: evaluated users`);
  let worst = 0;
  let where = '';
  got.perK.forEach((m, ki) => {
    const r = ref.perK[ki]!;
    t.equal(m.k, r.k);
    for (const name of ['ndcg', 'recall', 'precision', 'map'] as const) {
      const diff = Math.abs(m[name] - r[name]);
      if (diff > worst) {
        worst = diff;
        where = `${name}@${m.k}: ${m[name]} vs ${r[name]}`;
      }
    }
  });
  if (withAuc) {
    t.equal(got.aucUsers, ref.aucUsers, `${what}: AUC users`);
    const diff = Math.abs(got.auc! - ref.auc);
    if (diff > worst) {
      worst = diff;
      where = `auc: ${got.auc} vs ${ref.auc}`;
    }
  }
  t.ok(worst <= 1e-6, `${what}: every metric within 1e-6 of the reference (worst ${worst.toExponential(2)} ${where})`);
}

const KS = [1, 3, 5, 10, 80];

t.test('in-thread evaluation agrees with the naive reference (both kernels, grid and Gaussian models)', async (t) => {
  let caseNo = 0;
  for (const grid of [true, false]) {
    for (const dim of [1, 3, 4, 8]) {
      const { model, splits, data } = randomCase(100 + caseNo++, 37, 61, dim, grid);
      for (const [target, exclude] of [['test', ['train', 'valid']], ['valid', ['train']], ['test', []]] as [SplitName & ('valid' | 'test'), SplitName[]][]) {
        const ref = naive(model, splits, target, exclude, KS);
        t.ok(ref.skipped > 0 && ref.evaluated > 0, 'the case has users with and without target items');
        for (const scorer of ['wasm', 'js'] as const) {
          const got = evaluateModelLocal(data, { target, exclude, ks: KS, auc: true, scorer, blockUsers: 6 });
          agree(t, got, ref, `${grid ? 'grid' : 'gauss'} d=${dim} ${target} excl=[${exclude}] ${scorer}`);
          t.equal(got.skipped, ref.skipped, 'skipped users counted');
        }
      }
    }
  }
});

t.test('a catalogue of many chunks (top-K reads only chunks reaching the K-th largest chunk maximum)', async (t) => {
  for (const grid of [true, false]) {
    const { model, splits, data } = randomCase(grid ? 501 : 502, 23, 1500, 3, grid);
    const ks = [1, 4, 10];
    const ref = naive(model, splits, 'test', ['train', 'valid'], ks);
    for (const scorer of ['wasm', 'js'] as const) {
      const got = evaluateModelLocal(data, { target: 'test', exclude: ['train', 'valid'], ks, auc: true, scorer, blockUsers: 8 });
      agree(t, got, ref, `${grid ? 'grid' : 'gauss'} 1500 items ${scorer}`);
    }
  }
});

t.test('the result does not depend on the block size (exact sums)', async (t) => {
  const { data } = randomCase(7, 50, 40, 4, false);
  const opts = { target: 'test' as const, exclude: ['train', 'valid'] as SplitName[], auc: true };
  const a = evaluateModelLocal(data, { ...opts, ks: [5, 20], blockUsers: 1 });
  const b = evaluateModelLocal(data, { ...opts, ks: [20, 5, 5], blockUsers: 50 });
  const c = evaluateModelLocal(data, { ...opts, ks: [5, 20], blockUsers: 7, scorer: 'js' });
  t.same(b.ks, [5, 20], 'cutoffs sorted and deduplicated');
  t.same(b.perK, a.perK, 'bit-identical means for blocks of 1 and of 50 users');
  t.equal(b.auc, a.auc);
  t.same(c.perK, a.perK, 'and with the other kernel (scores tie exactly only through identical embeddings, ranks agree here)');
});

t.test('evaluation through the pool (2 threads, many blocks) agrees with the reference', async (t) => {
  const { model, splits, data } = randomCase(42, 83, 97, 5, true);
  const pool = new WorkerPool(2, { ...data, memory: sharedMemory() });
  t.teardown(() => pool.close());
  const ref = naive(model, splits, 'test', ['train', 'valid'], KS);
  let progress = 0;
  const got = await pool.evaluate({
    target: 'test',
    exclude: ['train', 'valid'],
    ks: KS,
    auc: true,
    blockUsers: 5,
    onProgress: (done, total) => {
      t.ok(done <= total);
      progress = done;
    },
  });
  agree(t, got, ref, 'pool, wasm');
  const here = evaluateModelLocal(data, { target: 'test', exclude: ['train', 'valid'], ks: KS, auc: true });
  t.same(here.perK, got.perK, '2 threads x blocks of 5 and 1 thread x default blocks: the same bits');
  t.equal(here.auc, got.auc);
  t.equal(progress, Math.ceil(83 / 5), 'one progress call per block');
  const js = await pool.evaluate({ target: 'test', exclude: ['train', 'valid'], ks: KS, auc: true, blockUsers: 9, scorer: 'js' });
  agree(t, js, ref, 'pool, js');

  // Training changes the model between evaluations: the workers must see it.
  for (let k = 0; k < model.item.length; k++) model.item[k] = -model.item[k]!;
  const ref2 = naive(model, splits, 'valid', ['train'], KS);
  const got2 = await pool.evaluate({ target: 'valid', exclude: ['train'], ks: KS, auc: true, blockUsers: 5 });
  agree(t, got2, ref2, 'pool after the model changed');

  // A fixed user sample: the reference over the same users.
  const sample = sampleUsersWithItems(splits.valid, 20, 3);
  t.equal(sample.length, 20);
  const sampled = await pool.evaluate({ target: 'valid', exclude: ['train'], ks: KS, auc: true, sampleUsers: 20, sampleSeed: 3, blockUsers: 6 });
  agree(t, sampled, naive(model, splits, 'valid', ['train'], KS, sample), 'sampled users');
  t.equal(sampled.evaluated, 20);
  const again = await pool.evaluate({ target: 'valid', exclude: ['train'], ks: KS, sampleUsers: 20, sampleSeed: 3 });
  t.same(again.perK, sampled.perK, 'the same seed samples the same users');
});

t.test('popularity baseline ranks by training count, ties by index', async (t) => {
  const { splits } = randomCase(9, 45, 30, 2, true);
  const pop = popularityModel(splits.train);
  t.equal(pop.dim, 1);
  const counts = new Array<number>(30).fill(0);
  for (const i of splits.train.indices) counts[i]!++;
  t.same(Array.from(pop.item), counts);
  const ref = naive(pop, splits, 'test', ['train', 'valid'], KS);
  const got = evaluateModelLocal({ model: pop, splits }, { target: 'test', exclude: ['train', 'valid'], ks: KS, auc: true });
  agree(t, got, ref, 'popularity');
});
