import t from 'tap';
import { nextGaussian, seedRng } from '../src/kernels/rng.js';
import { wrapModel, type Model } from '../src/model/store.js';
import { JsScorer } from '../src/eval/score-js.js';
import { CHUNK_ITEMS, WasmScorer } from '../src/eval/score-wasm.js';
import { kernels } from '../src/kernels/wasm.js';
import { arenaBytesUsed, sharedFloat32 } from '../src/memory/shared.js';

/**
 * The scoring kernels: the SIMD one against the naive float32 sum in the
 * same order (bit for bit), the plain-JS one against float64 dot products.
 */

function randomModel(seed: number, nUsers: number, nItems: number, dim: number): Model {
  const rng = seedRng(seed);
  const user = Float32Array.from({ length: nUsers * dim }, () => nextGaussian(rng));
  const item = Float32Array.from({ length: nItems * dim }, () => nextGaussian(rng));
  return wrapModel(nUsers, nItems, dim, user, item);
}

function dot(m: Model, u: number, i: number): number {
  let s = 0;
  for (let k = 0; k < m.dim; k++) s += m.user[u * m.dim + k]! * m.item[i * m.dim + k]!;
  return s;
}

/** The evaluator's contract: acc = fround(acc + fround(u_k * v_k)) for k = 0..d-1, from 0. */
function f32dot(m: Model, u: number, i: number): number {
  let s = 0;
  for (let k = 0; k < m.dim; k++) s = Math.fround(s + Math.fround(m.user[u * m.dim + k]! * m.item[i * m.dim + k]!));
  return s;
}

t.test('scorePanels: exactly the float32 sum in order (any d, ragged users and items)', async (t) => {
  const k = kernels();
  for (const [nUsers, nItems, d] of [[1, 1, 1], [3, 17, 1], [5, 33, 3], [2, 16, 4], [7, 50, 5], [4, 64, 32], [9, 100, 33]] as const) {
    const m = randomModel(nUsers * 31 + nItems + d, nUsers, nItems, d);
    // Pack by hand, as the layout comment of src/kernels/assembly says.
    const nPairs = Math.ceil(nUsers / 2);
    const nGroups = Math.ceil(nItems / 16);
    const stride = nGroups * 16 + 16; // any multiple of 16 >= the items
    const users = sharedFloat32(nPairs * 2 * d);
    const items = sharedFloat32(nGroups * 16 * d);
    const out = sharedFloat32(nPairs * 2 * stride).fill(-7);
    for (let b = 0; b < nUsers; b++) for (let x = 0; x < d; x++) users[(b >> 1) * 2 * d + 2 * x + (b & 1)] = m.user[b * d + x]!;
    for (let i = 0; i < nItems; i++) for (let x = 0; x < d; x++) items[(i >> 4) * 16 * d + 16 * x + (i & 15)] = m.item[i * d + x]!;
    k.scorePanels(users.byteOffset, nPairs, items.byteOffset, nGroups, d, out.byteOffset, stride);
    let mismatches = 0;
    let untouched = 0;
    for (let b = 0; b < nPairs * 2; b++) {
      for (let i = 0; i < nGroups * 16; i++) {
        const want = b < nUsers && i < nItems ? f32dot(m, b, i) : 0; // padding rows and items are zero
        if (out[b * stride + i] !== want) mismatches++;
      }
      for (let i = nGroups * 16; i < stride; i++) if (out[b * stride + i] !== -7) untouched++;
    }
    t.equal(mismatches, 0, `${nUsers} users x ${nItems} items, d=${d}: every score is the ordered float32 sum`);
    t.equal(untouched, 0, 'nothing written past the groups');
  }
});

t.test('identical embeddings score bit-identically (ties are real ties)', async (t) => {
  const d = 7;
  const m = randomModel(3, 5, 40, d);
  for (const i of [9, 16, 31, 39]) m.item.copyWithin(i * d, 2 * d, 3 * d);
  const s = new WasmScorer(5);
  s.loadItems(m);
  const rows = s.score(m, Int32Array.from([0, 1, 2, 3, 4]), 5);
  for (let b = 0; b < 5; b++) {
    const x = rows[b * s.stride + 2]!;
    t.same([9, 16, 31, 39].map((i) => Object.is(rows[b * s.stride + i], x)), [true, true, true, true], `row ${b}`);
  }
});

t.test('both kernels compute every score (odd dims, ragged item counts, partial tiles)', async (t) => {
  for (const [nUsers, nItems, dim] of [[7, 1, 1], [9, 63, 3], [13, 130, 5], [5, 64, 32], [11, 200, 33], [6, 40, 2]] as const) {
    const m = randomModel(nUsers * 1000 + dim, nUsers, nItems, dim);
    const users = Int32Array.from([...Array(nUsers).keys()].reverse());
    for (const s of [new WasmScorer(6), new JsScorer(6)]) {
      s.loadItems(m);
      let worst = 0;
      let inexact = 0;
      let paddingNotNaN = 0;
      for (let start = 0; start < nUsers; start += 6) {
        const n = Math.min(6, nUsers - start);
        const rows = s.score(m, users.subarray(start, start + n), n);
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < nItems; i++) {
            const want = dot(m, users[start + b]!, i);
            worst = Math.max(worst, Math.abs(rows[b * s.stride + i]! - want) / (1 + Math.abs(want)));
            if (rows[b * s.stride + i] !== f32dot(m, users[start + b]!, i)) inexact++;
          }
          for (let i = nItems; i < s.stride; i++) if (!Number.isNaN(rows[b * s.stride + i])) paddingNotNaN++;
        }
      }
      t.equal(paddingNotNaN, 0, `${s.kind}: padding entries score NaN`);
      t.ok(worst < 1e-5, `${s.kind} ${nUsers}x${nItems} d=${dim}: relative error ${worst.toExponential(2)}`);
      if (s.kind === 'wasm') t.equal(inexact, 0, 'wasm: bit for bit the ordered float32 sum');
    }
  }
});

t.test('the SIMD kernel: chunk maxima and below/equal counts', async (t) => {
  const m = randomModel(5, 6, 300, 8);
  // Duplicate items: equal scores to count.
  m.item.copyWithin(8 * 10, 8 * 3, 8 * 4);
  m.item.copyWithin(8 * 200, 8 * 3, 8 * 4);
  const s = new WasmScorer(8);
  s.loadItems(m);
  const users = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const rows = s.score(m, users, 6);
  rows[1 * s.stride + 17] = -Infinity; // a masked entry
  rows[2 * s.stride + 40] = NaN; // a test item set aside
  const maxima = s.chunkMaxima();
  const perRow = s.stride / CHUNK_ITEMS;
  t.equal(maxima.length, 6 * perRow);
  for (let b = 0; b < 6; b++) {
    for (let c = 0; c < perRow; c++) {
      let want = -Infinity;
      for (let i = c * CHUNK_ITEMS; i < (c + 1) * CHUNK_ITEMS; i++) {
        const x = rows[b * s.stride + i]!;
        if (x > want) want = x;
      }
      t.equal(maxima[b * perRow + c], want, `row ${b} chunk ${c}`);
    }
    const tv = rows[b * s.stride + 3]!;
    s.countBelowEqual(b, tv);
    let below = 0;
    let equal = 0;
    for (let i = 0; i < s.stride; i++) {
      const x = rows[b * s.stride + i]!;
      if (x < tv) below++;
      if (x === tv) equal++;
    }
    t.same([s.below, s.equal], [below, equal], `row ${b}: counts below / equal item 3's score`);
    t.ok(equal >= 3, 'the duplicates tie');
  }
});

t.test('a scorer follows a new model shape and new values', async (t) => {
  const s = new WasmScorer(4);
  const a = randomModel(1, 4, 50, 4);
  s.loadItems(a);
  s.score(a, Int32Array.from([0, 1]), 2);
  const b = randomModel(2, 4, 5000, 12);
  s.loadItems(b);
  const rows = s.score(b, Int32Array.from([3]), 1);
  t.ok(Math.abs(rows[4999]! - dot(b, 3, 4999)) < 1e-4, 'grown memory, new dimension');
  t.throws(() => s.score(a, Int32Array.from([0]), 1), /loadItems/, 'a model of another shape needs loadItems first');
  t.throws(() => s.score(b, new Int32Array(s.maxUsers + 1), s.maxUsers + 1), /capacity/);
});

t.test('scorers reuse the thread\'s buffers (no allocation per evaluation) and take turns correctly', async (t) => {
  const a = randomModel(7, 10, 300, 6);
  const b = randomModel(8, 10, 300, 6);
  const first = new WasmScorer(8);
  first.loadItems(a);
  first.score(a, Int32Array.from([1, 2, 3]), 3);
  const used = arenaBytesUsed();
  // What an evaluation does: a new scorer or a reload, scoring, maxima, counts.
  for (let r = 0; r < 3; r++) {
    const s = new WasmScorer(8);
    s.loadItems(a);
    s.score(a, Int32Array.from([0, 4, 9]), 3);
    s.chunkMaxima();
    s.countBelowEqual(1, 0);
  }
  t.equal(arenaBytesUsed(), used, 'no new shared memory for a model of the same shape');
  // Two scorers of one thread, alternating: each scores its own model.
  const sa = new WasmScorer(4);
  const sb = new WasmScorer(4);
  sa.loadItems(a);
  sb.loadItems(b);
  const ra = sa.score(a, Int32Array.from([5]), 1);
  t.equal(ra[123], f32dot(a, 5, 123), 'the first scorer repacks its items after the second took the buffers');
  const rb = sb.score(b, Int32Array.from([5]), 1);
  t.equal(rb[123], f32dot(b, 5, 123));
});
