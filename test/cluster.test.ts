import t from 'tap';
import { seedRng, nextFloat } from '../src/kernels/rng.js';
import { kernels } from '../src/kernels/wasm.js';
import { kmeans } from '../src/cluster/kmeans.js';
import { createClusterTables, fillHalf, halfOf, halfChecksum } from '../src/cluster/tables.js';
import { claimReaderSlot, publishVersion, sharedFloat32, sharedFloat64, sharedInt32, toShared } from '../src/memory/shared.js';
import { ClusterSampler } from '../src/samplers/cluster.js';
import { ExactSampler } from '../src/samplers/exact.js';
import { UniformSampler } from '../src/samplers/uniform.js';
import { PopularitySampler, type PopularityTables } from '../src/samplers/popularity.js';
import { buildAlias } from '../src/samplers/alias.js';
import type { NegativeSampler } from '../src/samplers/sampler.js';

const N_DRAWS = 200_000;
const TOL = 0.015; // see samplers.test.ts: a correct sampler's expected TV is ~0.006 here

function tv(counts: Float64Array, p: Float64Array): number {
  const n = counts.reduce((s, c) => s + c, 0);
  let d = 0;
  for (let j = 0; j < p.length; j++) d += Math.abs(counts[j]! / n - p[j]!);
  return d / 2;
}

function histogram(s: NegativeSampler, nItems: number, user: number, pos: Int32Array) {
  const rng = seedRng(9);
  const L = 5;
  const negs = sharedInt32(L);
  const lnq = sharedFloat32(L);
  const counts = new Float64Array(nItems);
  const lnqOf = new Map<number, number>();
  if (!s.beginUser(user, pos, 0, pos.length)) throw new Error('no negatives');
  for (let q = 0; q < N_DRAWS / L; q++) {
    s.draw(rng, L, negs, lnq);
    for (let l = 0; l < L; l++) {
      counts[negs[l]!]!++;
      lnqOf.set(negs[l]!, lnq[l]!);
    }
  }
  return { counts, lnqOf };
}

const d = 4;
const nItems = 24;
const K = 4;

function smallModel() {
  const rng = seedRng(11);
  const user = sharedFloat32(3 * d);
  const item = sharedFloat32(nItems * d);
  for (let x = 0; x < user.length; x++) user[x] = (nextFloat(rng) - 0.5) * 2;
  for (let x = 0; x < item.length; x++) item[x] = (nextFloat(rng) - 0.5) * 2;
  return { user, item };
}

function popularity(): PopularityTables {
  const f = sharedFloat64(nItems);
  for (let j = 0; j < nItems; j++) f[j] = j % 5 === 0 ? 0 : Math.log1p(1 + ((j * 7) % 11));
  const lnf = sharedFloat64(nItems);
  for (let j = 0; j < nItems; j++) lnf[j] = Math.log(f[j]!);
  return { f, lnf, alias: buildAlias(f), total: f.reduce((a, b) => a + b, 0) };
}

/** Cluster tables with one published version: centers[x] = center(x), item j in cluster label(j). */
function publishedTables(center: (x: number) => number, label: (j: number) => number) {
  const tables = createClusterTables(K, d, nItems, 1);
  const centers = sharedFloat32(K * d);
  for (let x = 0; x < centers.length; x++) centers[x] = center(x);
  const labels = Int32Array.from({ length: nItems }, (_, j) => label(j));
  const reader = claimReaderSlot(tables.vc);
  publishVersion(tables.vc);
  return { tables, centers, labels, reader };
}

t.test('cluster samplers draw from Q^CU / Q^CP (Eq. 12, 14) and report ln Q~ of Eq. 13, 15', async (t) => {
  const { user } = smallModel();
  const pop = popularity();
  const { tables, centers, labels, reader } = publishedTables((x) => Math.cos(x * 1.3), (j) => (j * 5 + 1) % K);
  for (const popular of [false, true]) {
    fillHalf(halfOf(tables, 1), K, d, centers, labels, popular ? pop.f : undefined, 1);
    const base = popular ? new PopularitySampler(pop) : new UniformSampler(nItems);
    const s = new ClusterSampler(popular, tables, base, user, kernels(), reader, popular ? pop : undefined);
    const u = 1;
    const pos = toShared(Int32Array.from([2, 3, 9, 14]));
    const { counts, lnqOf } = histogram(s, nItems, u, pos);
    // Brute force: Q(j) ∝ exp(u·c_{y_j}) (· f_j) over non-positives.
    const score = (c: number) => {
      let v = 0;
      for (let x = 0; x < d; x++) v += user[u * d + x]! * centers[c * d + x]!;
      return v;
    };
    const p = new Float64Array(nItems);
    for (let j = 0; j < nItems; j++) {
      if (pos.includes(j)) continue;
      p[j] = Math.exp(score(labels[j]!)) * (popular ? pop.f[j]! : 1);
    }
    const z = p.reduce((a, b) => a + b, 0);
    for (let j = 0; j < nItems; j++) p[j]! /= z;
    const name = popular ? 'cluster-popularity' : 'cluster-uniform';
    t.ok(Math.abs(s.lnMass() - Math.log(z)) < 1e-5, `${name}: ln Z_Q ${s.lnMass().toFixed(5)} = ${Math.log(z).toFixed(5)}`);
    for (const j of pos) t.equal(counts[j], 0, `${name}: positive ${j} never drawn`);
    const dist = tv(counts, p);
    t.ok(dist < TOL, `${name}: TV ${dist.toFixed(4)}`);
    for (const [j, v] of lnqOf) {
      const want = score(labels[j]!) + (popular ? Math.log(pop.f[j]!) : 0);
      t.ok(Math.abs(v - want) < 1e-4, `${name}: ln Q~(${j}) ${v.toFixed(5)} = ${want.toFixed(5)}`);
    }
  }
});

t.test('cluster sampler falls back to its base sampler before the first clustering', async (t) => {
  const { user } = smallModel();
  const tables = createClusterTables(K, d, nItems, 1);
  const base = new UniformSampler(nItems);
  const s = new ClusterSampler(false, tables, base, user, kernels(), 0, undefined);
  const { counts, lnqOf } = histogram(s, nItems, 0, toShared(Int32Array.from([5])));
  const p = new Float64Array(nItems).fill(1 / (nItems - 1));
  p[5] = 0;
  t.ok(tv(counts, p) < TOL, 'uniform before any version');
  t.equal(s.lnMass(), Math.log(nItems - 1), "ln Z_Q is the base sampler's");
  t.same([...new Set(lnqOf.values())], [0]);
});

t.test('exact sampler draws from the softmax of the scores over non-positives', async (t) => {
  const { user, item } = smallModel();
  for (const maskTop of [0, 2]) {
    const s = new ExactSampler(nItems, d, user, item, kernels(), maskTop);
    const u = 2;
    const pos = Int32Array.from([0, 7, 8]);
    const { counts, lnqOf } = histogram(s, nItems, u, pos);
    const sc = Array.from({ length: nItems }, (_, j) => {
      let v = 0;
      for (let x = 0; x < d; x++) v += user[u * d + x]! * item[j * d + x]!;
      return v;
    });
    const excluded = new Set(pos);
    const order = [...sc.keys()].filter((j) => !excluded.has(j)).sort((a, b) => sc[b]! - sc[a]!);
    for (const j of order.slice(0, maskTop)) excluded.add(j);
    const p = Float64Array.from(sc, (v, j) => (excluded.has(j) ? 0 : Math.exp(v)));
    const z = p.reduce((a, b) => a + b, 0);
    t.ok(Math.abs(s.lnMass() - Math.log(z)) < 1e-6, `mask ${maskTop}: ln Z_Q = ln of the mass left`);
    for (let j = 0; j < nItems; j++) p[j]! /= z;
    for (const j of excluded) t.equal(counts[j], 0, `mask ${maskTop}: excluded ${j} never drawn`);
    t.ok(tv(counts, p) < TOL, `mask ${maskTop}: TV ${tv(counts, p).toFixed(4)}`);
    for (const [j, v] of lnqOf) t.ok(Math.abs(v - sc[j]!) < 1e-5, 'ln Q~ = x_uj');
  }
});

t.test('a user\'s sets drawn in one call (rows, lnq stride) are the draws of one call per set', async (t) => {
  const { user, item } = smallModel();
  const pop = popularity();
  const { tables, centers, labels, reader } = publishedTables((x) => Math.sin(x * 0.7), (j) => (j * 3 + 2) % K);
  fillHalf(halfOf(tables, 1), K, d, centers, labels, pop.f, 1);
  const make: Record<string, () => NegativeSampler> = {
    uniform: () => new UniformSampler(nItems),
    popularity: () => new PopularitySampler(pop),
    'cluster-uniform': () => new ClusterSampler(false, tables, new UniformSampler(nItems), user, kernels(), reader, undefined),
    'cluster-popularity': () => new ClusterSampler(true, tables, new PopularitySampler(pop), user, kernels(), reader, pop),
    exact: () => new ExactSampler(nItems, d, user, item, kernels(), 0),
  };
  const L = 3;
  const rows = 7;
  const stride = 4;
  const pos = toShared(Int32Array.from([1, 4, 6, 20]));
  for (const [name, mk] of Object.entries(make)) {
    const one = mk();
    const many = mk();
    t.ok(one.beginUser(2, pos, 0, pos.length) && many.beginUser(2, pos, 0, pos.length), `${name}: user has negatives`);
    const r1 = seedRng(4);
    const r2 = seedRng(4);
    const negs1 = sharedInt32(L);
    const lnq1 = sharedFloat32(4);
    const negs2 = sharedInt32(rows * L);
    const lnq2 = sharedFloat32(rows * stride).fill(-7);
    const want: number[] = [];
    const wantLnq: number[] = [];
    for (let r = 0; r < rows; r++) {
      one.draw(r1, L, negs1, lnq1);
      want.push(...negs1);
      wantLnq.push(...lnq1.subarray(0, L));
    }
    many.draw(r2, L, negs2, lnq2, rows, stride);
    t.same([...negs2], want, `${name}: the same negatives`);
    const got: number[] = [];
    for (let r = 0; r < rows; r++) {
      got.push(...lnq2.subarray(r * stride, r * stride + L));
      t.equal(lnq2[r * stride + L], -7, `${name}: row ${r}'s padding untouched`);
    }
    t.same(got, wantLnq, `${name}: the same ln Q~`);
    t.same([...r2], [...r1], `${name}: the generator ends in the same state`);
    t.equal(many.draws, one.draws, `${name}: the same count of candidates`);
  }
});

t.test('the cluster sampling kernel refuses output arrays outside the shared memory', async (t) => {
  const { user } = smallModel();
  const { tables, centers, labels, reader } = publishedTables((x) => Math.cos(x), (j) => j % K);
  fillHalf(halfOf(tables, 1), K, d, centers, labels, undefined, 1);
  const s = new ClusterSampler(false, tables, new UniformSampler(nItems), user, kernels(), reader, undefined);
  t.ok(s.beginUser(0, toShared(Int32Array.from([1])), 0, 1));
  t.throws(() => s.draw(seedRng(1), 2, new Int32Array(2), new Float32Array(4)), /must be allocated in shared memory/);
});

t.test('K-means: labels are the nearest centers (brute force), centers the means of their members', async (t) => {
  for (const seed of [1, 2, 3]) {
    const n = 300;
    const dd = 8;
    const k = 7;
    const rng = seedRng(seed);
    const X = sharedFloat32(n * dd);
    for (let r = 0; r < n; r++) for (let x = 0; x < dd; x++) X[r * dd + x] = (r % k) * 0.7 * Math.sin(x + r % k) + (nextFloat(rng) - 0.5);
    const res = kmeans(X, n, dd, { k, iterations: 100, rng: seedRng(seed, 5) });
    t.ok(res.iterations < 100, `converged in ${res.iterations} iterations`);
    let wrong = 0;
    for (let r = 0; r < n; r++) {
      let best = -1;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        let dist = 0;
        for (let x = 0; x < dd; x++) dist += (X[r * dd + x]! - res.centers[c * dd + x]!) ** 2;
        if (dist < bestD - 1e-9) {
          bestD = dist;
          best = c;
        }
      }
      if (best !== res.labels[r]) wrong++;
    }
    t.equal(wrong, 0, `seed ${seed}: every label is the nearest center`);
    let err = 0;
    for (let c = 0; c < k; c++) {
      const mean = new Float64Array(dd);
      let cnt = 0;
      for (let r = 0; r < n; r++) {
        if (res.labels[r] !== c) continue;
        cnt++;
        for (let x = 0; x < dd; x++) mean[x]! += X[r * dd + x]!;
      }
      t.ok(cnt > 0, `cluster ${c} not empty`);
      for (let x = 0; x < dd; x++) err = Math.max(err, Math.abs(mean[x]! / cnt - res.centers[c * dd + x]!));
    }
    t.ok(err < 1e-5, `centers are member means (${err.toExponential(1)})`);
  }
});

t.test('K-means reseeds an empty cluster', async (t) => {
  const n = 50;
  const X = sharedFloat32(n * 4);
  for (let r = 0; r < n; r++) X[r * 4] = r < 49 ? 0 : 10; // 49 identical rows and one outlier
  const init = sharedFloat32(3 * 4);
  init.set([0, 0, 0, 0, 100, 0, 0, 0, -100, 0, 0, 0]); // two centers nobody is near
  const res = kmeans(X, n, 4, { k: 3, iterations: 5, rng: seedRng(1), init });
  t.ok(res.reseeded >= 1, `reseeded ${res.reseeded}`);
  t.equal(res.labels[49] !== res.labels[0], true, 'the outlier got its own cluster');
});

t.test('fillHalf groups members, sums mass, and the checksum covers the contents', async (t) => {
  const tables = createClusterTables(3, 2, 6, 1);
  const h = halfOf(tables, 1);
  const f = sharedFloat64(6);
  f.set([1, 0, 2, 3, 0.5, 4]);
  fillHalf(h, 3, 2, Float32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([2, 0, 2, 1, 0, 2]), f, 1);
  t.same(Array.from(h.ptr), [0, 2, 3, 6]);
  t.same(Array.from(h.members), [1, 4, 3, 0, 2, 5]);
  t.same(Array.from(h.mass), [0.5, 3, 7]);
  t.same(Array.from(h.alive), [1, 1, 3]);
  // Packed draw entries: each position's item, an item of the same cluster as its alias, a keep probability.
  const probs = new Float32Array(h.entries.buffer, h.entries.byteOffset, h.entries.length);
  const clusterOf = [2, 0, 2, 1, 0, 2];
  for (let q = 0; q < 6; q++) {
    t.equal(h.entries[4 * q], h.members[q], `entry ${q}: its item`);
    t.equal(clusterOf[h.entries[4 * q + 1]!], clusterOf[h.members[q]!], `entry ${q}: alias in the same cluster`);
    t.ok(probs[4 * q + 2]! >= 0 && probs[4 * q + 2]! <= 1, `entry ${q}: a probability`);
  }
  // Within cluster 2 (items 0, 2, 5 with f = 1, 2, 4) the alias table gives each item its share of f.
  const share = new Map<number, number>();
  for (let q = 3; q < 6; q++) {
    const keep = probs[4 * q + 2]!;
    share.set(h.entries[4 * q]!, (share.get(h.entries[4 * q]!) ?? 0) + keep / 3);
    share.set(h.entries[4 * q + 1]!, (share.get(h.entries[4 * q + 1]!) ?? 0) + (1 - keep) / 3);
  }
  for (const [j, want] of [[0, 1 / 7], [2, 2 / 7], [5, 4 / 7]] as const) t.ok(Math.abs(share.get(j)! - want) < 1e-6, `item ${j}: ${share.get(j)} = ${want}`);
  t.equal(h.stamp[0], 1);
  t.equal(h.stamp[1], halfChecksum(h));
  h.labels[0] = 1;
  t.not(halfChecksum(h), h.stamp[1], 'a changed label changes the checksum');
});
