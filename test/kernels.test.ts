import t from 'tap';
import { kernels, paddedNegatives, scratchFloats } from '../src/kernels/wasm.js';
import { LOSS_KINDS, lossCode, OPT_ADAGRAD, OPT_ADAGRAD_ROW, OPT_SGD, type LossKind } from '../src/kernels/codes.js';
import { sharedFloat32, sharedInt32 } from '../src/memory/shared.js';
import { nextFloat, seedRng } from '../src/kernels/rng.js';

// The kernel is float32; the reference below is float64 straight from the
// paper's formulas, differentiated numerically.
const d = 8;
// L = 4 fills whole SIMD vectors; the kernels pad other L with masked lanes.
let L = 4;
const nItems = 7;
const k = kernels();
// The losses of the sampled-softmax kernels (ccl has its own, test/kernels-ccl.test.ts).
const SOFTMAX_LOSSES = LOSS_KINDS.filter((kind) => kind !== 'ccl');

function setup(seed: number) {
  const rng = seedRng(seed);
  const u = sharedFloat32(d);
  const V = sharedFloat32(nItems * d);
  for (let x = 0; x < d; x++) u[x] = (nextFloat(rng) - 0.5) * 1.6;
  for (let x = 0; x < nItems * d; x++) V[x] = (nextFloat(rng) - 0.5) * 1.6;
  const negs = sharedInt32(L);
  const pattern = [1, 4, 6, 4, 0, 3, 5, 6]; // item 4 drawn twice: each draw counts
  for (let l = 0; l < L; l++) negs[l] = pattern[l % pattern.length]!;
  const lnq = sharedFloat32(paddedNegatives(L));
  // Pad lanes hold garbage on purpose: the kernel must ignore them.
  lnq.fill(-7.5);
  const lnqs = [0.3, -1.2, 0.5, -1.2, 2.0, 0.1, -0.4, 1.1];
  for (let l = 0; l < L; l++) lnq[l] = lnqs[l % lnqs.length]!;
  return { u, V, negs, lnq, i: 2, scratch: sharedFloat32(scratchFloats(d, L)) };
}

type Params = { u: number[]; V: number[] };

/** The sample's objective in float64. `fixedW` holds the weights constant (SA). */
function refLoss(kind: LossKind, p: Params, i: number, negs: Int32Array, lnq: Float32Array, reg: number, fixedW?: number[]): number {
  const dot = (a: number[], ao: number, b: number[], bo: number) => {
    let s = 0;
    for (let x = 0; x < d; x++) s += a[ao + x]! * b[bo + x]!;
    return s;
  };
  const xi = dot(p.u, 0, p.V, i * d);
  const xj = Array.from(negs, (j) => dot(p.u, 0, p.V, j * d));
  let w: number[];
  if (fixedW) w = fixedW;
  else if (kind === 'bpr') w = xj.map(() => 1 / L);
  else {
    const a = xj.map((x, l) => x - lnq[l]!);
    const m = Math.max(...a);
    const e = a.map((v) => Math.exp(v - m));
    const z = e.reduce((s, v) => s + v, 0);
    w = e.map((v) => v / z);
  }
  let loss = 0;
  for (let l = 0; l < L; l++) loss -= w[l]! * Math.log(1 / (1 + Math.exp(-(xi - xj[l]!))));
  const sq = (a: number[], o: number) => dot(a, o, a, o);
  let pen = sq(p.u, 0) + sq(p.V, i * d);
  for (const j of negs) pen += sq(p.V, j * d);
  return loss + (reg / 2) * pen;
}

function refWeights(kind: LossKind, p: Params, negs: Int32Array, lnq: Float32Array): number[] {
  const xj = Array.from(negs, (j) => {
    let s = 0;
    for (let x = 0; x < d; x++) s += p.u[x]! * p.V[j * d + x]!;
    return s;
  });
  if (kind === 'bpr') return xj.map(() => 1 / L);
  const a = xj.map((x, l) => x - lnq[l]!);
  const m = Math.max(...a);
  const e = a.map((v) => Math.exp(v - m));
  const z = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / z);
}

/** Central differences of refLoss with respect to u and every item row. */
function numericGrad(kind: LossKind, s: ReturnType<typeof setup>, reg: number) {
  const p: Params = { u: Array.from(s.u), V: Array.from(s.V) };
  const fixedW = kind === 'sa' ? refWeights(kind, p, s.negs, s.lnq) : undefined;
  const f = () => refLoss(kind, p, s.i, s.negs, s.lnq, reg, fixedW);
  const h = 1e-5;
  const diff = (arr: number[], x: number) => {
    const old = arr[x]!;
    arr[x] = old + h;
    const up = f();
    arr[x] = old - h;
    const dn = f();
    arr[x] = old;
    return (up - dn) / (2 * h);
  };
  return { gu: p.u.map((_, x) => diff(p.u, x)), gV: p.V.map((_, x) => diff(p.V, x)), loss: f() };
}

for (const kind of SOFTMAX_LOSSES) {
  t.test(`${kind}: kernel gradients match finite differences of the formula`, async (t) => {
    for (const [seed, nNeg] of [[1, 4], [2, 5], [3, 1], [4, 7]] as const) {
      L = nNeg;
      const s = setup(seed);
      const reg = 0.05;
      const out = sharedFloat32((2 + L) * d);
      const loss = k.sampleGrads(lossCode(kind), d, L, reg, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, out.byteOffset);
      const num = numericGrad(kind, s, reg);
      // The kernel returns the loss without the penalty.
      const p: Params = { u: Array.from(s.u), V: Array.from(s.V) };
      t.ok(Math.abs(loss - refLoss(kind, p, s.i, s.negs, s.lnq, 0)) < 1e-5, `loss value (seed ${seed}, L ${L})`);
      let maxErr = 0;
      for (let x = 0; x < d; x++) maxErr = Math.max(maxErr, Math.abs(out[x]! - num.gu[x]!));
      // Item rows: the positive's block, then one block per draw; repeated draws add up.
      const gV = new Float64Array(nItems * d);
      for (let x = 0; x < d; x++) gV[s.i * d + x]! += out[d + x]!;
      for (let l = 0; l < L; l++) for (let x = 0; x < d; x++) gV[s.negs[l]! * d + x]! += out[(2 + l) * d + x]!;
      for (let x = 0; x < nItems * d; x++) maxErr = Math.max(maxErr, Math.abs(gV[x]! - num.gV[x]!));
      t.ok(maxErr < 1e-5, `max |analytic - numeric| = ${maxErr.toExponential(2)} (seed ${seed}, L ${L})`);
    }
    L = 4;
  });
}

t.test('pris and sa differ (the gradient flows through the weights) while bpr ignores lnq', async (t) => {
  const s = setup(4);
  const a = sharedFloat32((2 + L) * d);
  const b = sharedFloat32((2 + L) * d);
  k.sampleGrads(lossCode('pris'), d, L, 0, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, a.byteOffset);
  k.sampleGrads(lossCode('sa'), d, L, 0, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, b.byteOffset);
  let diff = 0;
  for (let x = 0; x < a.length; x++) diff = Math.max(diff, Math.abs(a[x]! - b[x]!));
  t.ok(diff > 1e-4, 'pris != sa');
  const c = sharedFloat32((2 + L) * d);
  const e = sharedFloat32((2 + L) * d);
  k.sampleGrads(lossCode('bpr'), d, L, 0, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, c.byteOffset);
  s.lnq.set([5, -5, 2, 0]);
  k.sampleGrads(lossCode('bpr'), d, L, 0, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, e.byteOffset);
  t.same(Array.from(c), Array.from(e));
});

t.test('trainStep applies the gradients: sgd, adagrad and row-wise adagrad', async (t) => {
  for (const opt of [OPT_SGD, OPT_ADAGRAD, OPT_ADAGRAD_ROW]) {
    const s = setup(5);
    s.negs.set([1, 4, 6, 3]); // distinct, so each row moves once
    const reg = 0.02;
    const lr = 0.01;
    const g = sharedFloat32((2 + L) * d);
    k.sampleGrads(lossCode('pris'), d, L, reg, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, g.byteOffset);
    const u0 = Float64Array.from(s.u);
    const V0 = Float64Array.from(s.V);
    const perRow = opt === OPT_ADAGRAD_ROW;
    const uAcc = sharedFloat32(perRow ? 1 : d).fill(0.5);
    const VAcc = sharedFloat32(perRow ? nItems : nItems * d).fill(0.5);
    k.trainStep(opt, lossCode('pris'), d, L, lr, reg, s.u.byteOffset, uAcc.byteOffset, s.V.byteOffset, VAcc.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset);
    // block b of g: 0 the user, 1 the positive, 2.. the negatives
    const rowAcc = (b: number) => {
      let ss = 0;
      for (let x = 0; x < d; x++) ss += g[b * d + x]! ** 2;
      return 0.5 + ss / d;
    };
    const stepOf = (b: number, x: number) => {
      const grad = g[b * d + x]!;
      if (opt === OPT_SGD) return lr * grad;
      if (opt === OPT_ADAGRAD) return (lr * grad) / (Math.sqrt(0.5 + grad * grad) + 1e-8);
      return (lr * grad) / (Math.sqrt(rowAcc(b)) + 1e-8);
    };
    let err = 0;
    for (let x = 0; x < d; x++) err = Math.max(err, Math.abs(s.u[x]! - (u0[x]! - stepOf(0, x))));
    const rows = [s.i, ...s.negs];
    rows.forEach((row, b) => {
      for (let x = 0; x < d; x++) err = Math.max(err, Math.abs(s.V[row * d + x]! - (V0[row * d + x]! - stepOf(1 + b, x))));
    });
    t.ok(err < 1e-6, `opt ${opt}: max deviation ${err.toExponential(2)}`);
    if (opt === OPT_ADAGRAD) t.ok(Math.abs(uAcc[0]! - (0.5 + g[0]! * g[0]!)) < 1e-6, 'accumulator += g^2');
    if (perRow) {
      t.ok(Math.abs(uAcc[0]! - rowAcc(0)) < 1e-6, 'user accumulator += mean g^2');
      t.ok(Math.abs(VAcc[s.i]! - rowAcc(1)) < 1e-6, 'item accumulator += mean g^2');
      t.equal(VAcc[0], 0.5, 'an untouched row keeps its accumulator');
    }
    t.equal(V0[0], s.V[0], 'untouched rows stay');
  }
});

t.test('trainRows: a user\'s positives stepped in one call equal one trainStep each, whatever it touches ahead', async (t) => {
  const rows = 6;
  const stride = paddedNegatives(L) + 4;
  const pos = sharedInt32(rows);
  pos.set([2, 0, 5, 2, 6, 1]);
  const negs = sharedInt32(rows * L);
  const lnq = sharedFloat32(rows * stride);
  const rng = seedRng(31);
  for (let q = 0; q < negs.length; q++) negs[q] = Math.floor(nextFloat(rng) * nItems);
  for (let q = 0; q < lnq.length; q++) lnq[q] = nextFloat(rng) - 0.5;
  for (const opt of [OPT_SGD, OPT_ADAGRAD, OPT_ADAGRAD_ROW]) {
    const width = opt === OPT_ADAGRAD_ROW ? 1 : opt === OPT_ADAGRAD ? d : 0;
    const start = setup(8);
    const run = (ahead: number) => {
      const u = sharedFloat32(d);
      u.set(start.u);
      const V = sharedFloat32(nItems * d);
      V.set(start.V);
      const uAcc = sharedFloat32(Math.max(width, 1)).fill(0.25);
      const VAcc = sharedFloat32(Math.max(width, 1) * nItems).fill(0.25);
      const sc = sharedFloat32(scratchFloats(d, L));
      let loss = 0;
      if (ahead < 0) {
        for (let r = 0; r < rows; r++) {
          loss += k.trainStep(opt, lossCode('pris'), d, L, 0.05, 0.01, u.byteOffset, uAcc.byteOffset, V.byteOffset, VAcc.byteOffset, pos[r]!,
            negs.byteOffset + r * L * 4, lnq.byteOffset + r * stride * 4, sc.byteOffset);
        }
      } else {
        loss = k.trainRows(opt, lossCode('pris'), d, L, 0.05, 0.01, u.byteOffset, uAcc.byteOffset, V.byteOffset, VAcc.byteOffset, pos.byteOffset, rows,
          negs.byteOffset, lnq.byteOffset, stride, sc.byteOffset, ahead);
      }
      return { loss: Math.fround(loss), u: [...u], V: [...V], uAcc: [...uAcc], VAcc: [...VAcc] };
    };
    const want = run(-1);
    for (const ahead of [0, 1, 3, 64]) {
      const got = run(ahead);
      t.same(got.u, want.u, `opt ${opt}, ahead ${ahead}: user row`);
      t.same(got.V, want.V, `opt ${opt}, ahead ${ahead}: item rows`);
      t.same([got.uAcc, got.VAcc], [want.uAcc, want.VAcc], `opt ${opt}, ahead ${ahead}: optimizer state`);
      t.ok(Math.abs(got.loss - want.loss) <= 1e-5 * Math.abs(want.loss), `opt ${opt}, ahead ${ahead}: summed loss`);
    }
  }
});

t.test('scoreRows and assignNearest equal plain dot products and a brute-force argmax', async (t) => {
  const s = setup(6);
  const one = sharedFloat32(nItems);
  const rows = 7; // not a multiple of the kernel's four-row tile
  const X = sharedFloat32(rows * d);
  for (let x = 0; x < X.length; x++) X[x] = Math.sin(x);
  const half = sharedFloat32(nItems);
  for (let j = 0; j < nItems; j++) half[j] = Math.cos(j);
  const labels = sharedInt32(rows).fill(-1);
  const best = sharedFloat32(rows);
  const changed = k.assignNearest(X.byteOffset, rows, s.V.byteOffset, nItems, d, half.byteOffset, labels.byteOffset, best.byteOffset);
  t.equal(changed, rows, 'every label set from -1');
  let err = 0;
  for (let a = 0; a < rows; a++) {
    k.scoreRows(X.byteOffset + a * d * 4, s.V.byteOffset, nItems, d, one.byteOffset);
    let arg = -1;
    let top = -Infinity;
    for (let j = 0; j < nItems; j++) {
      let ref = 0;
      for (let x = 0; x < d; x++) ref += X[a * d + x]! * s.V[j * d + x]!;
      err = Math.max(err, Math.abs(one[j]! - ref));
      if (ref - half[j]! > top) {
        top = ref - half[j]!;
        arg = j;
      }
    }
    t.equal(labels[a], arg, `row ${a}: argmax`);
    err = Math.max(err, Math.abs(best[a]! - top));
  }
  t.ok(err < 1e-5, `max error ${err}`);
  t.equal(k.assignNearest(X.byteOffset, rows, s.V.byteOffset, nItems, d, half.byteOffset, labels.byteOffset, best.byteOffset), 0, 'nothing changes the second time');
});

t.test('mini-batch adam: summed sample gradients, one lazy Adam step on touched rows only', async (t) => {
  const s = setup(7);
  const nUsers = 1;
  const reg = 0.03;
  const code = lossCode('pris');
  const samples = [
    { i: 2, negs: [1, 4, 6, 4] },
    { i: 5, negs: [1, 0, 6, 3] },
  ];
  // Reference: the sum of sampleGrads at the unchanged parameters.
  const gU = new Float64Array(d);
  const gV = new Float64Array(nItems * d);
  const out = sharedFloat32((2 + L) * d);
  for (const smp of samples) {
    s.negs.set(smp.negs);
    k.sampleGrads(code, d, L, reg, s.u.byteOffset, s.V.byteOffset, smp.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, out.byteOffset);
    for (let x = 0; x < d; x++) {
      gU[x]! += out[x]!;
      gV[smp.i * d + x]! += out[d + x]!;
      for (let l = 0; l < L; l++) gV[smp.negs[l]! * d + x]! += out[(2 + l) * d + x]!;
    }
  }
  const slotOf = sharedInt32(nItems + nUsers).fill(-1);
  const keyOf = sharedInt32(2 * (L + 2));
  const G = sharedFloat32(2 * (L + 2) * d);
  const ctl = sharedInt32(1);
  const u0 = Float64Array.from(s.u);
  const V0 = Float64Array.from(s.V);
  for (const smp of samples) {
    s.negs.set(smp.negs);
    k.accumulateSample(code, d, L, reg, s.u.byteOffset, nItems, s.V.byteOffset, smp.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, slotOf.byteOffset, keyOf.byteOffset, G.byteOffset, ctl.byteOffset);
  }
  t.equal(ctl[0], 8, 'one slot per distinct row: the user and items 0..6');
  const MU = sharedFloat32(d), VU = sharedFloat32(d), MV = sharedFloat32(nItems * d), VV = sharedFloat32(nItems * d);
  const lrT = 0.01;
  const b1 = 0.9, b2 = 0.999, eps = 1e-7;
  k.adamApply(d, lrT, b1, b2, eps, 0.5, nItems, s.u.byteOffset, MU.byteOffset, VU.byteOffset, s.V.byteOffset, MV.byteOffset, VV.byteOffset, slotOf.byteOffset, keyOf.byteOffset, G.byteOffset, ctl.byteOffset);
  const adam = (x0: number, gsum: number) => {
    const g = 0.5 * gsum;
    const m = (1 - b1) * g;
    const v = (1 - b2) * g * g;
    return x0 - (lrT * m) / (Math.sqrt(v) + eps);
  };
  let err = 0;
  for (let x = 0; x < d; x++) err = Math.max(err, Math.abs(s.u[x]! - adam(u0[x]!, gU[x]!)));
  for (let x = 0; x < nItems * d; x++) err = Math.max(err, Math.abs(s.V[x]! - adam(V0[x]!, gV[x]!)));
  t.ok(err < 1e-5, `max deviation ${err.toExponential(2)}`);
  t.equal(ctl[0], 0, 'buffer cleared');
  t.ok(slotOf.every((v) => v === -1), 'slots released');
});

t.test('large scores stay finite and exact (exp clamped, stable log-sigmoid)', async (t) => {
  for (const kind of SOFTMAX_LOSSES) {
    const s = setup(8);
    for (let x = 0; x < d; x++) s.u[x] = s.u[x]! * 8;
    for (let x = 0; x < nItems * d; x++) s.V[x] = s.V[x]! * 8;
    const out = sharedFloat32((2 + L) * d);
    const loss = k.sampleGrads(lossCode(kind), d, L, 0, s.u.byteOffset, s.V.byteOffset, s.i, s.negs.byteOffset, s.lnq.byteOffset, s.scratch.byteOffset, out.byteOffset);
    const ref = refLoss(kind, { u: Array.from(s.u), V: Array.from(s.V) }, s.i, s.negs, s.lnq, 0);
    t.ok(Number.isFinite(loss) && Array.from(out).every(Number.isFinite), `${kind}: finite`);
    t.ok(Math.abs(loss - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${kind}: loss ${loss} vs ${ref}`);
  }
});
