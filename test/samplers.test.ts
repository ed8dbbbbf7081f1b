import t from 'tap';
import { seedRng } from '../src/kernels/rng.js';
import { sharedFloat32, sharedInt32 } from '../src/memory/shared.js';
import { buildAlias, drawAlias } from '../src/samplers/alias.js';
import { UniformSampler } from '../src/samplers/uniform.js';
import { PopularitySampler, type PopularityTables } from '../src/samplers/popularity.js';
import { popularityWeights } from '../src/samplers/popularity-weights.js';
import type { NegativeSampler } from '../src/samplers/sampler.js';

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
  const s = new UniformSampler(nItems);
  const { counts, lnq } = drawMany(s, nItems, 5, pos);
  const p = new Float64Array(nItems).fill(1 / (nItems - pos.length));
  for (const j of pos) p[j] = 0;
  for (const j of pos) t.equal(counts[j], 0, `positive ${j} never drawn`);
  const dist = tv(counts, p);
  t.ok(dist < TOL, `TV ${dist.toFixed(4)}`);
  t.same([...new Set(lnq.values())], [0]);
  t.equal(s.lnMass(), Math.log(nItems - pos.length), 'ln Z_Q = ln of the non-positives');
  t.ok(s.draws / s.accepted > 1 && s.draws / s.accepted < 1.3, 'draws per negative near N/(N-N_u) = 1.14');
  t.notOk(new UniformSampler(3).beginUser(0, Int32Array.from([0, 1, 2]), 0, 3), 'a user with every item has no negatives');
});

t.test('popularity sampler: proportional to f over non-positives, ln Q~ = ln f', async (t) => {
  const nItems = 30;
  const counts0 = new Float64Array(nItems);
  for (let j = 0; j < nItems; j++) counts0[j] = j % 7 === 0 ? 0 : Math.floor(100 / (j + 1)) + 1;
  for (const fn of ['log1p', 'count', 'pow0.75'] as const) {
    const f = popularityWeights(counts0, fn);
    const lnf = Float64Array.from(f, Math.log);
    const tables: PopularityTables = { f, lnf, alias: buildAlias(f), total: f.reduce((a, b) => a + b, 0) };
    const pos = Int32Array.from([1, 2, 10]);
    const s = new PopularitySampler(tables);
    const { counts, lnq } = drawMany(s, nItems, 5, pos);
    const p = Float64Array.from(f);
    for (const j of pos) p[j] = 0;
    const z = p.reduce((a, b) => a + b, 0);
    for (let j = 0; j < nItems; j++) p[j]! /= z;
    t.ok(Math.abs(s.lnMass() - Math.log(z)) < 1e-9, `${fn}: ln Z_Q = ln of the mass of the non-positives`);
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
