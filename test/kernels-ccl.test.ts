import t from 'tap';
import { kernels, scratchFloats } from '../src/kernels/wasm.js';
import { sharedFloat32, sharedInt32 } from '../src/memory/shared.js';
import { OPT_ADAGRAD_ROW, OPT_SGD } from '../src/kernels/codes.js';
import { nextFloat, seedRng } from '../src/kernels/rng.js';
import { unitRows, wrapModel } from '../src/model/store.js';

/**
 * The cosine contrastive loss kernel (cclRows) against a float64 reference
 * written from SimpleX's definition on raw vectors, differentiated by central
 * differences. At a unit row the gradient of a loss of cosines is tangent to
 * the sphere, so one small step of the kernel (a tangent move, then back to
 * unit length) must move each row by -lr times that gradient, up to O(lr^2).
 */
const d = 8;
const L = 6;
const nItems = 9;
const k = kernels();

function unit(a: ArrayLike<number>, o: number): number[] {
  const x = Array.from({ length: d }, (_, c) => a[o + c]!);
  const n = Math.hypot(...x);
  return x.map((v) => v / n);
}

function setup(seed: number) {
  const rng = seedRng(seed);
  const user = sharedFloat32(2 * d);
  const item = sharedFloat32(nItems * d);
  for (let x = 0; x < user.length; x++) user[x] = nextFloat(rng) - 0.5;
  for (let x = 0; x < item.length; x++) item[x] = nextFloat(rng) - 0.5;
  unitRows(wrapModel(2, nItems, d, user, item));
  const negs = sharedInt32(2 * L);
  negs.set([1, 4, 6, 4, 0, 3, 5, 7, 8, 1, 0, 6]); // item 4 drawn twice in the first row: each draw counts
  const pos = sharedInt32(2);
  pos.set([2, 8]);
  // adagrad-row's accumulators: one float per row, 1 to start (so a first step is about lr).
  const userAcc = sharedFloat32(2).fill(1);
  const itemAcc = sharedFloat32(nItems).fill(1);
  return { user, item, userAcc, itemAcc, negs, pos, scratch: sharedFloat32(scratchFloats(d, L)) };
}

/** cclRows over `rows` rows of s from row `first` (user 0). */
function ccl(s: ReturnType<typeof setup>, opt: number, lr: number, margin: number, w: number, rows: number, first = 0): number {
  return k.cclRows(
    opt, d, L, lr, margin, w, s.user.byteOffset, s.userAcc.byteOffset, s.item.byteOffset, s.itemAcc.byteOffset,
    s.pos.byteOffset + first * 4, rows, s.negs.byteOffset + first * L * 4, s.scratch.byteOffset,
  );
}

type S = ReturnType<typeof setup>;

/** SimpleX's loss for positive i and negatives negs on raw (any-length) vectors, in float64. */
function refLoss(u: number[], V: number[], i: number, negs: ArrayLike<number>, margin: number, w: number): number {
  const cos = (j: number) => {
    let s = 0;
    let nu = 0;
    let nv = 0;
    for (let c = 0; c < d; c++) {
      s += u[c]! * V[j * d + c]!;
      nu += u[c]! * u[c]!;
      nv += V[j * d + c]! * V[j * d + c]!;
    }
    return s / Math.sqrt(nu * nv);
  };
  let loss = 1 - cos(i);
  for (let l = 0; l < L; l++) loss += (w / L) * Math.max(0, cos(negs[l]!) - margin);
  return loss;
}

/** Central differences with respect to the user row and every item row. */
function numericGrad(u: number[], V: number[], i: number, negs: ArrayLike<number>, margin: number, w: number) {
  const h = 1e-6;
  const diff = (x: number[], c: number) => {
    const keep = x[c]!;
    x[c] = keep + h;
    const up = refLoss(u, V, i, negs, margin, w);
    x[c] = keep - h;
    const down = refLoss(u, V, i, negs, margin, w);
    x[c] = keep;
    return (up - down) / (2 * h);
  };
  return { gu: u.map((_, c) => diff(u, c)), gV: V.map((_, c) => diff(V, c)) };
}

/** The cosines of the first row's negatives, and a margin with some of them above it and some below. */
function marginBetween(s: S): number {
  const u = unit(s.user, 0);
  const cs = Array.from(s.negs.subarray(0, L), (j) => unit(s.item, j * d).reduce((a, v, c) => a + v * u[c]!, 0)).sort((a, b) => a - b);
  return (cs[2]! + cs[3]!) / 2;
}

t.test('one step moves every row by -lr times the gradient of the cosine loss', async (t) => {
  for (const seed of [1, 2, 3]) {
    const s = setup(seed);
    const margin = marginBetween(s);
    const w = 3;
    const lr = 1e-3;
    const u0 = Array.from(s.user.subarray(0, d));
    const V0 = Array.from(s.item);
    const want = refLoss(u0, V0, s.pos[0]!, s.negs, margin, w);
    const { gu, gV } = numericGrad([...u0], [...V0], s.pos[0]!, s.negs, margin, w);
    const loss = ccl(s, OPT_SGD, lr, margin, w, 1);
    t.ok(Math.abs(loss - want) < 1e-5, `seed ${seed}: loss ${loss} = ${want}`);
    let worst = 0;
    for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs((s.user[c]! - u0[c]!) / lr + gu[c]!));
    for (let c = 0; c < V0.length; c++) worst = Math.max(worst, Math.abs((s.item[c]! - V0[c]!) / lr + gV[c]!));
    t.ok(worst < 5e-3, `seed ${seed}: |step/lr + gradient| <= ${worst.toExponential(2)}`);
    // The step is not zero: the comparison above is not vacuous.
    t.ok(Math.max(...gu.map(Math.abs)) > 0.05, 'the user gradient is not small');
    const below = Array.from(s.negs.subarray(0, L)).filter((j) => unit(V0, j * d).reduce((a, v, c) => a + v * u0[c]!, 0) <= margin);
    t.ok(below.length > 0, 'some negatives below the margin');
    for (const j of below) t.same(Array.from(s.item.subarray(j * d, j * d + d)), V0.slice(j * d, j * d + d).map(Math.fround), `item ${j} below the margin: untouched`);
    for (const r of [0, ...new Set([s.pos[0]!, ...s.negs.subarray(0, L)])].map((j, n) => (n === 0 ? s.user.subarray(0, d) : s.item.subarray(j * d, j * d + d)))) {
      t.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5, 'rows stay at unit length');
    }
  }
});

t.test('a large step: rows back on the sphere, the positive closer, the offending negatives farther', async (t) => {
  const s = setup(4);
  const margin = marginBetween(s);
  const u0 = unit(s.user, 0);
  const i = s.pos[0]!;
  const cos = (a: number[], b: number[]) => a.reduce((x, v, c) => x + v * b[c]!, 0);
  const before = cos(u0, unit(s.item, i * d));
  ccl(s, OPT_SGD, 0.3, margin, 3, 1);
  t.ok(cos(unit(s.user, 0), unit(s.item, i * d)) > before, 'the positive moved closer');
  t.ok(Math.abs(Math.hypot(...s.user.subarray(0, d)) - 1) < 1e-5);
});

t.test('several rows in one call: the same as one call per row', async (t) => {
  const a = setup(5);
  const b = setup(5);
  const margin = marginBetween(a);
  const both = ccl(a, OPT_ADAGRAD_ROW, 0.05, margin, 2, 2);
  let one = 0;
  for (let r = 0; r < 2; r++) {
    one += ccl(b, OPT_ADAGRAD_ROW, 0.05, margin, 2, 1, r);
  }
  t.ok(Math.abs(both - one) < 1e-6, `the same loss (${both} and ${one}: float32 sums)`);
  t.same(Array.from(a.user), Array.from(b.user), 'the same user row');
  t.same(Array.from(a.item), Array.from(b.item), 'the same item rows');
  t.same([...a.userAcc, ...a.itemAcc], [...b.userAcc, ...b.itemAcc], 'the same accumulators');
});

t.test('adagrad-row: each row steps lr / sqrt(acc) along the same gradient, acc += mean squared gradient', async (t) => {
  const s = setup(6);
  s.negs.set([1, 4, 6, 0, 3, 5]); // no item twice: each item row takes one step
  const margin = marginBetween(s);
  const w = 3;
  const lr = 1e-3;
  const u0 = Array.from(s.user.subarray(0, d));
  const V0 = Array.from(s.item);
  const { gu, gV } = numericGrad([...u0], [...V0], s.pos[0]!, s.negs, margin, w);
  ccl(s, OPT_ADAGRAD_ROW, lr, margin, w, 1);
  const meanSq = (g: number[]) => g.reduce((a, x) => a + x * x, 0) / d;
  const rows: [string, Float32Array, number[], number[], Float32Array, number][] = [['user', s.user.subarray(0, d), u0, gu, s.userAcc, 0]];
  for (let j = 0; j < nItems; j++) rows.push([`item ${j}`, s.item.subarray(j * d, j * d + d), V0.slice(j * d, j * d + d), gV.slice(j * d, j * d + d), s.itemAcc, j]);
  let moved = 0;
  for (const [name, now, before, g, acc, at] of rows) {
    const ms = meanSq(g);
    t.ok(Math.abs(acc[at]! - (1 + ms)) < 1e-5, `${name}: acc ${acc[at]} = 1 + ${ms}`);
    const step = lr / Math.sqrt(1 + ms);
    let worst = 0;
    for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs((now[c]! - before[c]!) / step + g[c]!));
    t.ok(worst < 5e-3, `${name}: |move/step + gradient| <= ${worst.toExponential(2)}`);
    if (ms > 1e-3) moved++;
  }
  t.ok(moved >= 3, `${moved} rows moved (user, positive, negatives above the margin)`);
});
