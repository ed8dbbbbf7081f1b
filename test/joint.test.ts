import t from 'tap';
import { kernels } from '../src/kernels/wasm.js';
import { nextFloat, seedRng } from '../src/kernels/rng.js';
import { sharedFloat32 } from '../src/memory/shared.js';

// The learned clustering's similarity, soft assignment and straight-through
// backward pass (src/kernels/assembly/index.ts: jointForward / jointBackward)
// against float64 finite differences of the surrogate the estimator
// differentiates: codeword(θ) = C(θ) (onehot(y0) + bhat(θ) - bhat(θ0)).
const k = kernels();
const K = 3;
const d = 4;
const T = 0.7;

type Theta = { W: number[]; wC: number[]; C: number[] };

function sims(th: Theta, v: number[]): number[] {
  return Array.from({ length: K }, (_, c) => {
    let s = 0;
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) s += 0.5 * v[a]! * th.W[a * d + b]! * th.C[c * d + b]!;
    for (let b = 0; b < d; b++) s += th.wC[b]! * th.C[c * d + b]!;
    return s;
  });
}

function softmax(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp((x - m) / T));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

t.test('joint clustering: forward assignment and straight-through gradients', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rng = seedRng(seed);
    const r = () => (nextFloat(rng) - 0.5) * 2;
    const th: Theta = { W: Array.from({ length: d * d }, r), wC: Array.from({ length: d }, r), C: Array.from({ length: K * d }, r) };
    const v = Array.from({ length: d }, r);
    const h = Array.from({ length: d }, r);
    // Kernel inputs.
    const A = sharedFloat32(K * d);
    const beta = sharedFloat32(K);
    for (let c = 0; c < K; c++) {
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += th.W[a * d + b]! * th.C[c * d + b]!;
        A[c * d + a] = 0.5 * s;
      }
      let s = 0;
      for (let b = 0; b < d; b++) s += th.wC[b]! * th.C[c * d + b]!;
      beta[c] = s;
    }
    const V = sharedFloat32(d);
    V.set(v);
    const bhat = sharedFloat32(K);
    const y0 = k.jointForward(V.byteOffset, A.byteOffset, beta.byteOffset, K, d, 1 / T, bhat.byteOffset);
    const s0 = sims(th, v);
    t.equal(y0, s0.indexOf(Math.max(...s0)), `seed ${seed}: y = argmax of the similarity`);
    const b0 = softmax(s0);
    for (let c = 0; c < K; c++) t.ok(Math.abs(bhat[c]! - b0[c]!) < 1e-5, `bhat[${c}]`);

    // Loss of the codeword: f(c) = h.c + |c|^2 / 2, so g = h + c_y at θ0.
    const f = (cw: number[]) => cw.reduce((s, x, a) => s + h[a]! * x + 0.5 * x * x, 0);
    const surrogate = (p: Theta) => {
      const b = softmax(sims(p, v)).map((x, c) => x - b0[c]! + (c === y0 ? 1 : 0));
      const cw = Array.from({ length: d }, (_, a) => b.reduce((s, bc, c) => s + bc * p.C[c * d + a]!, 0));
      return f(cw);
    };
    const g = sharedFloat32(d);
    for (let a = 0; a < d; a++) g[a] = h[a]! + th.C[y0 * d + a]!;
    const Cm = sharedFloat32(K * d);
    Cm.set(th.C);
    const Wm = sharedFloat32(d * d);
    Wm.set(th.W);
    const wCm = sharedFloat32(d);
    wCm.set(th.wC);
    const gC = sharedFloat32(K * d);
    const gW = sharedFloat32(d * d);
    const gwC = sharedFloat32(d);
    const [ds, z, q] = [sharedFloat32(K), sharedFloat32(d), sharedFloat32(d)];
    k.jointBackward(V.byteOffset, y0, g.byteOffset, bhat.byteOffset, Cm.byteOffset, Wm.byteOffset, wCm.byteOffset, K, d, 1 / T, gC.byteOffset, gW.byteOffset, gwC.byteOffset, ds.byteOffset, z.byteOffset, q.byteOffset);

    const eps = 1e-6;
    let err = 0;
    for (const [name, analytic] of [['W', gW], ['wC', gwC], ['C', gC]] as const) {
      const arr = th[name];
      for (let x = 0; x < arr.length; x++) {
        const old = arr[x]!;
        arr[x] = old + eps;
        const up = surrogate(th);
        arr[x] = old - eps;
        const dn = surrogate(th);
        arr[x] = old;
        err = Math.max(err, Math.abs((up - dn) / (2 * eps) - analytic[x]!));
      }
    }
    t.ok(err < 1e-4, `seed ${seed}: max |analytic - numeric| = ${err.toExponential(2)}`);
  }
});

t.test('adamDense: one step of Adam on a dense block, gradient cleared', async (t) => {
  const n = 8;
  const x = sharedFloat32(n).fill(1);
  const m = sharedFloat32(n);
  const v = sharedFloat32(n);
  const g = sharedFloat32(n);
  for (let i = 0; i < n; i++) g[i] = i - 3;
  k.adamDense(x.byteOffset, m.byteOffset, v.byteOffset, g.byteOffset, n, 0.1, 0.9, 0.999, 1e-7, 0.5);
  for (let i = 0; i < n; i++) {
    const gg = 0.5 * (i - 3);
    const mm = 0.1 * gg;
    const vv = 0.001 * gg * gg;
    t.ok(Math.abs(x[i]! - (1 - (0.1 * mm) / (Math.sqrt(vv) + 1e-7))) < 1e-5, `x[${i}]`);
  }
  t.ok(g.every((q) => q === 0), 'gradient cleared');
});
