import t from 'tap';
import { nextFloat, seedRng } from '../src/kernels/rng.js';
import { sharedFloat32, sharedFloat64, sharedInt32 } from '../src/memory/shared.js';
import { buildAlias, drawAlias } from '../src/samplers/alias.js';
import { kernels } from '../src/kernels/wasm.js';
import { UniformSampler } from '../src/samplers/uniform.js';
import { PopularitySampler, popularityTables } from '../src/samplers/popularity.js';
import { popularityWeights } from '../src/samplers/popularity-weights.js';
import { PositiveBits, type NegativeSampler } from '../src/samplers/sampler.js';

/** Total variation distance between an empirical histogram and a distribution. */
function tv(counts: Float64Array, p: Float64Array): number {
  const n = counts.reduce((s, c) => s + c, 0);
  let d = 0;
  for (let j = 0; j < p.length; j++) d += Math.abs(counts[j]! / n - p[j]!);
  return d / 2;
}

// With n draws over m outcomes the expected TV of a correct sampler is about
// 0.4 * sum_j sqrt(p_j / n) <= 0.4 * sqrt(m / n): 0.006 here. A sampler that
// forgot to reject positives, or drew from the wrong weights, is off by far more.
const N_DRAWS = 200_000;
const TOL = 0.015;

function drawMany(s: NegativeSampler, nItems: number, L: number, pos: Int32Array): { counts: Float64Array; lnq: Map<number, number> } {
  const rng = seedRng(42);
  const negs = sharedInt32(L);
  const lnq = sharedFloat32(L);
  const counts = new Float64Array(nItems);
  const seen = new Map<number, number>();
  t.ok(s.beginUser(0, pos, 0, pos.length), 'user has negatives');
  for (let q = 0; q < N_DRAWS / L; q++) {
    s.draw(rng, L, negs, lnq);
    for (let l = 0; l < L; l++) {
      counts[negs[l]!]!++;
      seen.set(negs[l]!, lnq[l]!);
    }
  }
  return { counts, lnq: seen };
}

t.test('alias table draws from its weights', async (t) => {
  const w = [5, 0, 1, 3, 0.5, 10, 2];
  const table = buildAlias(w);
  const rng = seedRng(3);
  const counts = new Float64Array(w.length);
  for (let q = 0; q < N_DRAWS; q++) counts[drawAlias(table, rng)]!++;
  const total = w.reduce((s, x) => s + x, 0);
  t.ok(tv(counts, Float64Array.from(w, (x) => x / total)) < TOL);
  t.equal(counts[1], 0, 'zero weight never drawn');
  t.throws(() => buildAlias([0, 0]), /sum to zero/);
});

t.test('uniform sampler: uniform over non-positives, positives never drawn, ln Q~ = 0', async (t) => {
  const nItems = 40;
  const pos = Int32Array.from([0, 3, 7, 8, 39]);
  const s = new UniformSampler(nItems, kernels());
  const { counts, lnq } = drawMany(s, nItems, 5, pos);
  const p = new Float64Array(nItems).fill(1 / (nItems - pos.length));
  for (const j of pos) p[j] = 0;
  for (const j of pos) t.equal(counts[j], 0, `positive ${j} never drawn`);
  const dist = tv(counts, p);
  t.ok(dist < TOL, `TV ${dist.toFixed(4)}`);
  t.same([...new Set(lnq.values())], [0]);
  t.ok(s.draws / s.accepted > 1 && s.draws / s.accepted < 1.3, 'draws per negative near N/(N-N_u) = 1.14');
  t.notOk(new UniformSampler(3, kernels()).beginUser(0, Int32Array.from([0, 1, 2]), 0, 3), 'a user with every item has no negatives');
});

t.test('popularity sampler: proportional to f over non-positives, ln Q~ = ln f', async (t) => {
  const nItems = 30;
  const counts0 = new Float64Array(nItems);
  for (let j = 0; j < nItems; j++) counts0[j] = j % 7 === 0 ? 0 : Math.floor(100 / (j + 1)) + 1;
  for (const fn of ['log1p', 'count', 'pow0.75'] as const) {
    const f = popularityWeights(counts0, fn);
    const tables = popularityTables(f);
    const pos = Int32Array.from([1, 2, 10]);
    const s = new PopularitySampler(tables, kernels());
    const { counts, lnq } = drawMany(s, nItems, 5, pos);
    const p = Float64Array.from(f);
    for (const j of pos) p[j] = 0;
    const z = p.reduce((a, b) => a + b, 0);
    for (let j = 0; j < nItems; j++) p[j]! /= z;
    for (const j of pos) t.equal(counts[j], 0, `${fn}: positive ${j} never drawn`);
    t.equal(counts[0], 0, `${fn}: an item with no interactions is never drawn`);
    const dist = tv(counts, p);
    t.ok(dist < TOL, `${fn}: TV ${dist.toFixed(4)}`);
    for (const [j, v] of lnq) t.ok(Math.abs(v - Math.log(f[j]!)) < 1e-6, `${fn}: ln Q~(${j}) = ln f`);
    // Expected draws per accepted negative: 1 / (1 - P_Q(I_u)) (Corollary 4.3).
    const posMass = (f[1]! + f[2]! + f[10]!) / tables.total;
    const expected = 1 / (1 - posMass);
    t.ok(Math.abs(s.draws / s.accepted - expected) < 0.05 * expected, `${fn}: draws/negative ${(s.draws / s.accepted).toFixed(3)} vs ${expected.toFixed(3)}`);
  }
});

t.test('positive bitset: the current user\'s items only, across word boundaries', async (t) => {
  const nItems = 100;
  const bits = new PositiveBits(nItems);
  const rng = seedRng(5);
  for (let user = 0; user < 30; user++) {
    const pos = Int32Array.from({ length: 1 + (user % 9) }, () => Math.floor(nextFloat(rng) * nItems));
    // Edges of words and of the table, now and then.
    if (user % 4 === 0) pos.set([31, 32, 99].slice(0, pos.length));
    const from = user % 2;
    bits.set(pos, from, pos.length);
    const want = new Set(pos.subarray(from));
    for (let j = 0; j < nItems; j++) t.equal(bits.has(j), want.has(j), `user ${user}: item ${j}`);
  }
  t.equal(bits.words.length, 4, 'one bit per item, in 32-bit words');
});

t.test('popularity tables: the packed alias entries give each item exactly f_j / sum f, with ln f', async (t) => {
  const n = 37;
  const f = sharedFloat64(n);
  for (let j = 0; j < n; j++) f[j] = j % 6 === 0 ? 0 : Math.log1p((j * 13) % 29);
  const tab = popularityTables(f);
  const fl = new Float32Array(tab.entries.buffer, tab.entries.byteOffset, tab.entries.length);
  // The exact distribution of an alias draw: column k (1/n), kept with prob_k, else its alias.
  const p = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const a = tab.entries[4 * k]!;
    p[k]! += fl[4 * k + 1]! / n;
    p[a]! += (1 - fl[4 * k + 1]!) / n;
    if (fl[4 * k + 1]! > 0) t.equal(fl[4 * k + 2], Math.fround(Math.log(f[k]!)), `ln f of column ${k}`);
    if (fl[4 * k + 1]! < 1) t.equal(fl[4 * k + 3], Math.fround(Math.log(f[a]!)), `ln f of column ${k}'s alias ${a}`);
  }
  const total = f.reduce((a, b) => a + b, 0);
  let worst = 0;
  for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(p[j]! - f[j]! / total));
  t.ok(worst < 1e-6, `largest error ${worst.toExponential(2)}`);
  t.equal(tab.total, total);
  t.equal(tab.fMax, Math.max(...f));
  t.throws(() => popularityTables(sharedFloat64(3)), /sum to zero/);
});

t.test('the kernel\'s popularity draws follow the alias stream: column, coin, rejection', async (t) => {
  const n = 50;
  const f = sharedFloat64(n);
  for (let j = 0; j < n; j++) f[j] = 1 + ((j * 7) % 10);
  const tab = popularityTables(f);
  const fl = new Float32Array(tab.entries.buffer, tab.entries.byteOffset, tab.entries.length);
  const pos = Int32Array.from([3, 17, 31, 32, 49]);
  const s = new PopularitySampler(tab, kernels());
  t.ok(s.beginUser(0, pos, 0, pos.length));
  const L = 5;
  const rows = 40;
  const negs = sharedInt32(rows * L);
  const lnq = sharedFloat32(rows * 8);
  const r1 = seedRng(77);
  const r2 = seedRng(77);
  s.draw(r1, L, negs, lnq, rows, 8);
  let candidates = 0;
  const want: number[] = [];
  const wantLnq: number[] = [];
  for (let q = 0; q < rows * L; q++) {
    let j: number;
    let lq: number;
    do {
      const k = Math.floor(nextFloat(r2) * n);
      const keep = nextFloat(r2) < fl[4 * k + 1]!;
      j = keep ? k : tab.entries[4 * k]!;
      lq = keep ? fl[4 * k + 2]! : fl[4 * k + 3]!;
      candidates++;
    } while (pos.includes(j));
    want.push(j);
    wantLnq.push(lq);
  }
  t.same([...negs], want, 'the same negatives');
  t.same(Array.from({ length: rows * L }, (_, q) => lnq[Math.floor(q / L) * 8 + (q % L)]), wantLnq, 'the same ln Q~');
  t.same([...r1], [...r2], 'the generator ends in the same state');
  t.equal(s.draws, candidates, 'candidates counted, rejections included');
});

t.test('popularity sampler: a user holding (nearly) all the mass has nothing to draw; the next user is unaffected', async (t) => {
  const f = sharedFloat64(6);
  f.set([0, 5, 5, 1e-9, 0, 2]);
  const s = new PopularitySampler(popularityTables(f), kernels());
  t.notOk(s.beginUser(0, Int32Array.from([1, 2, 5]), 0, 3), 'only a 1e-9 share left');
  t.ok(s.beginUser(1, Int32Array.from([1]), 0, 1));
  const negs = sharedInt32(4000);
  const lnq = sharedFloat32(4000);
  s.draw(seedRng(1), 4000, negs, lnq);
  const seen = new Set(negs);
  t.ok(seen.has(2) && seen.has(5), "the earlier user's positives are drawable again");
  t.notOk(seen.has(1) || seen.has(0) || seen.has(4), 'the positive and f = 0 items never');
});
