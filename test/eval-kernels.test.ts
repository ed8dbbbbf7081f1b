import t from 'tap';
import { nextGaussian, seedRng } from '../src/kernels/rng.js';
import { wrapModel, type Model } from '../src/model/store.js';
import { JsScorer } from '../src/eval/score-js.js';
import { CHUNK_ITEMS, WasmScorer } from '../src/eval/score-wasm.js';
import { simdSupported } from '../src/eval/wasm-asm.js';

/** The scoring kernels against plain float64 dot products. */

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

t.test('WebAssembly SIMD is available', async (t) => {
  t.ok(simdSupported());
});

t.test('both kernels compute every score (odd dims, ragged item counts, partial tiles)', async (t) => {
  for (const [nUsers, nItems, dim] of [[7, 1, 1], [9, 63, 3], [13, 130, 5], [5, 64, 32], [11, 200, 33]] as const) {
    const m = randomModel(nUsers * 1000 + dim, nUsers, nItems, dim);
    const users = Int32Array.from([...Array(nUsers).keys()].reverse());
    for (const s of [new WasmScorer(6), new JsScorer(6)]) {
      s.loadItems(m);
      let worst = 0;
      let paddingNotNaN = 0;
      for (let start = 0; start < nUsers; start += 6) {
        const n = Math.min(6, nUsers - start);
        const rows = s.score(m, users.subarray(start, start + n), n);
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < nItems; i++) {
            const want = dot(m, users[start + b]!, i);
            worst = Math.max(worst, Math.abs(rows[b * s.stride + i]! - want) / (1 + Math.abs(want)));
          }
          for (let i = nItems; i < s.stride; i++) if (!Number.isNaN(rows[b * s.stride + i])) paddingNotNaN++;
        }
      }
      t.equal(paddingNotNaN, 0, `${s.kind}: padding entries score NaN`);
      t.ok(worst < 1e-5, `${s.kind} ${nUsers}x${nItems} d=${dim}: relative error ${worst.toExponential(2)}`);
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
