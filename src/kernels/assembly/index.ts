// The hot loops of pris, in AssemblyScript, compiled to WebAssembly with SIMD
// (f32x4) over the shared memory that holds the model. Every pointer argument
// is a byte offset into that memory; rows are `d` float32s, d a multiple of 4.
// No allocation, no I/O: the caller (a worker) owns the scratch it passes in.
//
// Built by `npm run build` (asc, see package.json) into dist/kernels.wasm and
// loaded by src/kernels/wasm.ts. The math is the one documented in
// src/kernels/codes.ts and docs/training.md; test/kernels.test.ts checks it
// against finite differences of a plain JavaScript loss.

const LOSS_PRIS: i32 = 0;
const LOSS_SA: i32 = 1;
const OPT_ADAGRAD: i32 = 1;
const ADAGRAD_EPS: f32 = 1e-8;

// dloss/dx_i of the last lossCoefs call (a second return value).
let gI: f32 = 0;

@inline function dot(a: usize, b: usize, d: i32): f32 {
  let acc = f32x4.splat(0);
  for (let o: usize = 0, end = <usize>d << 2; o < end; o += 16) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

// Scratch layout (float32 slots): xj[L] | w[L] | s[L] | gj[L] | gu[d]
@inline function slot(sc: usize, which: i32, L: i32, l: i32): usize {
  return sc + ((<usize>(which * L + l)) << 2);
}

// Scores of the positive and the L negatives, importance weights, loss and
// dloss/dscore: gj[l] = dloss/dx_j_l in scratch, dloss/dx_i in gI. Returns the loss.
//   a_l = x_j_l - lnQ~_l,  w = softmax(a),  s_l = ln sigma(x_i - x_j_l),  loss = -sum w_l s_l
//   pris: dloss/dx_j_l = w_l (sigma(x_j_l - x_i) - (s_l - s_bar)); sa: without the (s_l - s_bar) term
//   bpr:  w_l = 1/L
@inline function lossCoefs(code: i32, d: i32, L: i32, u: usize, V: usize, i: i32, negs: usize, lnq: usize, sc: usize): f32 {
  const rb = <usize>d << 2;
  const xi = dot(u, V + <usize>i * rb, d);
  let mx: f32 = -Infinity;
  for (let l = 0; l < L; l++) {
    const x = dot(u, V + <usize>load<i32>(negs + (<usize>l << 2)) * rb, d);
    store<f32>(slot(sc, 0, L, l), x);
    const a = x - load<f32>(lnq + (<usize>l << 2));
    store<f32>(slot(sc, 1, L, l), a);
    if (a > mx) mx = a;
  }
  if (code <= LOSS_SA) {
    let z: f32 = 0;
    for (let l = 0; l < L; l++) {
      const e = Mathf.exp(load<f32>(slot(sc, 1, L, l)) - mx);
      store<f32>(slot(sc, 1, L, l), e);
      z += e;
    }
    const iz: f32 = 1 / z;
    for (let l = 0; l < L; l++) store<f32>(slot(sc, 1, L, l), load<f32>(slot(sc, 1, L, l)) * iz);
  } else {
    const w: f32 = 1 / <f32>L;
    for (let l = 0; l < L; l++) store<f32>(slot(sc, 1, L, l), w);
  }
  let gi: f32 = 0;
  let loss: f32 = 0;
  for (let l = 0; l < L; l++) {
    const t = xi - load<f32>(slot(sc, 0, L, l));
    // One exp gives sigma(-t) and ln sigma(t), stable for either sign of t.
    const e = Mathf.exp(-Mathf.abs(t));
    const sigNeg: f32 = t >= 0 ? e / (1 + e) : 1 / (1 + e);
    const lnSig: f32 = -(Mathf.log1p(e) + (t < 0 ? -t : 0));
    const w = load<f32>(slot(sc, 1, L, l));
    store<f32>(slot(sc, 2, L, l), lnSig);
    store<f32>(slot(sc, 3, L, l), w * sigNeg);
    gi -= w * sigNeg;
    loss -= w * lnSig;
  }
  if (code == LOSS_PRIS) {
    const sBar = -loss;
    for (let l = 0; l < L; l++) {
      const g = load<f32>(slot(sc, 3, L, l)) - load<f32>(slot(sc, 1, L, l)) * (load<f32>(slot(sc, 2, L, l)) - sBar);
      store<f32>(slot(sc, 3, L, l), g);
    }
  }
  gI = gi;
  return loss;
}

// x -= step(g) for one 4-lane chunk at byte offset o of row x (accumulator row acc).
@inline function apply(opt: i32, x: usize, acc: usize, o: usize, g: v128, lr: v128): void {
  if (opt == OPT_ADAGRAD) {
    const a = f32x4.add(v128.load(acc + o), f32x4.mul(g, g));
    v128.store(acc + o, a);
    const den = f32x4.add(f32x4.sqrt(a), f32x4.splat(ADAGRAD_EPS));
    v128.store(x + o, f32x4.sub(v128.load(x + o), f32x4.div(f32x4.mul(lr, g), den)));
  } else {
    v128.store(x + o, f32x4.sub(v128.load(x + o), f32x4.mul(lr, g)));
  }
}

/**
 * One SGD step on (user row u, positive i, negatives negs[0..L) with ln Q~ in
 * lnq[0..L)). The activity penalty adds reg * row to the gradient of every row
 * the sample uses (each negative as often as drawn). Item rows are updated in
 * place without locks (Hogwild); the user row belongs to the calling worker.
 * uAcc / VAcc are the Adagrad accumulators (ignored by sgd). Returns the loss.
 */
export function trainStep(
  opt: i32, code: i32, d: i32, L: i32, lr: f32, reg: f32,
  u: usize, uAcc: usize, V: usize, VAcc: usize, i: i32, negs: usize, lnq: usize, sc: usize,
): f32 {
  const loss = lossCoefs(code, d, L, u, V, i, negs, lnq, sc);
  const rb = <usize>d << 2;
  const gu = slot(sc, 4, L, 0);
  const vlr = f32x4.splat(lr);
  const vreg = f32x4.splat(reg);
  const vgi = f32x4.splat(gI);
  const vi = V + <usize>i * rb;
  // The user's gradient needs the item rows before they move.
  for (let o: usize = 0; o < rb; o += 16) {
    v128.store(gu + o, f32x4.add(f32x4.mul(vgi, v128.load(vi + o)), f32x4.mul(vreg, v128.load(u + o))));
  }
  for (let l = 0; l < L; l++) {
    const jo = <usize>load<i32>(negs + (<usize>l << 2)) * rb;
    const vj = V + jo;
    const aj = VAcc + jo;
    const g = f32x4.splat(load<f32>(slot(sc, 3, L, l)));
    for (let o: usize = 0; o < rb; o += 16) {
      const v = v128.load(vj + o);
      v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.mul(g, v)));
      apply(opt, vj, aj, o, f32x4.add(f32x4.mul(g, v128.load(u + o)), f32x4.mul(vreg, v)), vlr);
    }
  }
  const ai = VAcc + <usize>i * rb;
  for (let o: usize = 0; o < rb; o += 16) {
    apply(opt, vi, ai, o, f32x4.add(f32x4.mul(vgi, v128.load(u + o)), f32x4.mul(vreg, v128.load(vi + o))), vlr);
  }
  for (let o: usize = 0; o < rb; o += 16) apply(opt, u, uAcc, o, v128.load(gu + o), vlr);
  return loss;
}

/**
 * The same sample's gradients without any update, for tests: out receives
 * dloss/du [d] | dloss/dv_i [d] | dloss/dv_j_l [L*d] (penalty included).
 */
export function sampleGrads(
  code: i32, d: i32, L: i32, reg: f32, u: usize, V: usize, i: i32, negs: usize, lnq: usize, sc: usize, out: usize,
): f32 {
  const loss = lossCoefs(code, d, L, u, V, i, negs, lnq, sc);
  const rb = <usize>d << 2;
  const vi = V + <usize>i * rb;
  const vreg = f32x4.splat(reg);
  const vgi = f32x4.splat(gI);
  for (let o: usize = 0; o < rb; o += 16) {
    v128.store(out + o, f32x4.add(f32x4.mul(vgi, v128.load(vi + o)), f32x4.mul(vreg, v128.load(u + o))));
    v128.store(out + rb + o, f32x4.add(f32x4.mul(vgi, v128.load(u + o)), f32x4.mul(vreg, v128.load(vi + o))));
  }
  for (let l = 0; l < L; l++) {
    const vj = V + <usize>load<i32>(negs + (<usize>l << 2)) * rb;
    const g = f32x4.splat(load<f32>(slot(sc, 3, L, l)));
    const dst = out + rb * (2 + <usize>l);
    for (let o: usize = 0; o < rb; o += 16) {
      const v = v128.load(vj + o);
      v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(g, v)));
      v128.store(dst + o, f32x4.add(f32x4.mul(g, v128.load(u + o)), f32x4.mul(vreg, v)));
    }
  }
  return loss;
}

/** out[j] = u . M_j for the n rows of M (cluster scores, exact sampler). */
export function scoreRows(u: usize, M: usize, n: i32, d: i32, out: usize): void {
  const rb = <usize>d << 2;
  for (let j = 0; j < n; j++) store<f32>(out + (<usize>j << 2), dot(u, M + <usize>j * rb, d));
}

/**
 * out[a * n + j] = U_a . V_j for nu user rows starting at U and the n item rows
 * of V: four users at a time, so each item row is loaded once per four users.
 */
export function scoreBlock(U: usize, nu: i32, V: usize, n: i32, d: i32, out: usize): void {
  const rb = <usize>d << 2;
  let a = 0;
  for (; a + 4 <= nu; a += 4) {
    const u0 = U + <usize>a * rb;
    const u1 = u0 + rb;
    const u2 = u1 + rb;
    const u3 = u2 + rb;
    const o0 = out + ((<usize>a * <usize>n) << 2);
    const o1 = o0 + (<usize>n << 2);
    const o2 = o1 + (<usize>n << 2);
    const o3 = o2 + (<usize>n << 2);
    for (let j = 0; j < n; j++) {
      const vj = V + <usize>j * rb;
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      for (let o: usize = 0; o < rb; o += 16) {
        const v = v128.load(vj + o);
        s0 = f32x4.add(s0, f32x4.mul(v, v128.load(u0 + o)));
        s1 = f32x4.add(s1, f32x4.mul(v, v128.load(u1 + o)));
        s2 = f32x4.add(s2, f32x4.mul(v, v128.load(u2 + o)));
        s3 = f32x4.add(s3, f32x4.mul(v, v128.load(u3 + o)));
      }
      const jo = <usize>j << 2;
      store<f32>(o0 + jo, f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3));
      store<f32>(o1 + jo, f32x4.extract_lane(s1, 0) + f32x4.extract_lane(s1, 1) + f32x4.extract_lane(s1, 2) + f32x4.extract_lane(s1, 3));
      store<f32>(o2 + jo, f32x4.extract_lane(s2, 0) + f32x4.extract_lane(s2, 1) + f32x4.extract_lane(s2, 2) + f32x4.extract_lane(s2, 3));
      store<f32>(o3 + jo, f32x4.extract_lane(s3, 0) + f32x4.extract_lane(s3, 1) + f32x4.extract_lane(s3, 2) + f32x4.extract_lane(s3, 3));
    }
  }
  for (; a < nu; a++) scoreRows(U + <usize>a * rb, V, n, d, out + ((<usize>a * <usize>n) << 2));
}
