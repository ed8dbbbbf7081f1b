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

// ---- mini-batch Adam ------------------------------------------------------
// Gradients of a mini-batch are summed into a compact buffer: one slot per
// distinct row the batch touched. Keys name rows: item j is key j, user u is
// key nItems + u. slotOf[key] is the row's slot or -1; keyOf[slot] the key.
// ctl[0] counts the slots in use. adamApply then moves only those rows
// ("lazy" Adam, as sparse embedding optimizers do) and clears the slots.

@inline function slotFor(key: i32, slotOf: usize, keyOf: usize, G: usize, ctl: usize, rb: usize): usize {
  let s = load<i32>(slotOf + (<usize>key << 2));
  if (s < 0) {
    s = load<i32>(ctl);
    store<i32>(ctl, s + 1);
    store<i32>(slotOf + (<usize>key << 2), s);
    store<i32>(keyOf + (<usize>s << 2), key);
    const g = G + <usize>s * rb;
    for (let o: usize = 0; o < rb; o += 16) v128.store(g + o, f32x4.splat(0));
  }
  return G + <usize>s * rb;
}

/**
 * Adds one sample's gradients (penalty included) to the batch buffer instead
 * of applying them. u is the user's row, uKey = nItems + user. Returns the loss.
 */
export function accumulateSample(
  code: i32, d: i32, L: i32, reg: f32,
  u: usize, uKey: i32, V: usize, i: i32, negs: usize, lnq: usize, sc: usize,
  slotOf: usize, keyOf: usize, G: usize, ctl: usize,
): f32 {
  const loss = lossCoefs(code, d, L, u, V, i, negs, lnq, sc);
  const rb = <usize>d << 2;
  const vreg = f32x4.splat(reg);
  const vgi = f32x4.splat(gI);
  const vi = V + <usize>i * rb;
  const gu = slotFor(uKey, slotOf, keyOf, G, ctl, rb);
  const gvi = slotFor(i, slotOf, keyOf, G, ctl, rb);
  for (let o: usize = 0; o < rb; o += 16) {
    const uu = v128.load(u + o);
    const v = v128.load(vi + o);
    v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.add(f32x4.mul(vgi, v), f32x4.mul(vreg, uu))));
    v128.store(gvi + o, f32x4.add(v128.load(gvi + o), f32x4.add(f32x4.mul(vgi, uu), f32x4.mul(vreg, v))));
  }
  for (let l = 0; l < L; l++) {
    const j = load<i32>(negs + (<usize>l << 2));
    const vj = V + <usize>j * rb;
    const gvj = slotFor(j, slotOf, keyOf, G, ctl, rb);
    const g = f32x4.splat(load<f32>(slot(sc, 3, L, l)));
    for (let o: usize = 0; o < rb; o += 16) {
      const v = v128.load(vj + o);
      v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.mul(g, v)));
      v128.store(gvj + o, f32x4.add(v128.load(gvj + o), f32x4.add(f32x4.mul(g, v128.load(u + o)), f32x4.mul(vreg, v))));
    }
  }
  return loss;
}

/**
 * Applies the batch: for each touched row, with g = scale * (summed gradient),
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  row -= lrT * m / (sqrt(v) + eps)
 * where lrT = lr sqrt(1 - b2^t) / (1 - b1^t) carries the bias correction (as in
 * TensorFlow's Adam). Rows live in U/V with moments in MU/VU (users), MV/VV (items).
 */
export function adamApply(
  d: i32, lrT: f32, b1: f32, b2: f32, eps: f32, scale: f32, nItems: i32,
  U: usize, MU: usize, VU: usize, V: usize, MV: usize, VV: usize,
  slotOf: usize, keyOf: usize, G: usize, ctl: usize,
): void {
  const rb = <usize>d << 2;
  const n = load<i32>(ctl);
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const va1 = f32x4.splat(1 - b1);
  const va2 = f32x4.splat(1 - b2);
  const vlr = f32x4.splat(lrT);
  const veps = f32x4.splat(eps);
  const vsc = f32x4.splat(scale);
  for (let s = 0; s < n; s++) {
    const key = load<i32>(keyOf + (<usize>s << 2));
    let x: usize, m: usize, v: usize;
    if (key < nItems) {
      const off = <usize>key * rb;
      x = V + off; m = MV + off; v = VV + off;
    } else {
      const off = <usize>(key - nItems) * rb;
      x = U + off; m = MU + off; v = VU + off;
    }
    const g0 = G + <usize>s * rb;
    for (let o: usize = 0; o < rb; o += 16) {
      const g = f32x4.mul(vsc, v128.load(g0 + o));
      const mm = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(va1, g));
      const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(va2, f32x4.mul(g, g)));
      v128.store(m + o, mm);
      v128.store(v + o, vv);
      v128.store(x + o, f32x4.sub(v128.load(x + o), f32x4.div(f32x4.mul(vlr, mm), f32x4.add(f32x4.sqrt(vv), veps))));
    }
    store<i32>(slotOf + (<usize>key << 2), -1);
  }
  store<i32>(ctl, 0);
}

// ---- jointly learned clustering (section 4.3) --------------------------------
// Similarity of item v to codeword c_k: s_k = 1/2 v'W c_k + w_C'c_k (the w_I'v
// term is the same for every k, so it changes neither the argmax nor the
// softmax and is left out). The caller keeps A_k = 1/2 W c_k and beta_k = w_C'c_k
// up to date (K x d and K), so s_k = v . A_k + beta_k.

/**
 * Forward pass for one item: bhat = softmax(s / T) into bhat[0..K), returns
 * y = argmax_k s_k (the hard assignment; the straight-through estimator uses
 * c_y forward and C bhat backward).
 */
export function jointForward(v: usize, A: usize, beta: usize, K: i32, d: i32, invT: f32, bhat: usize): i32 {
  const rb = <usize>d << 2;
  let y = 0;
  let mx: f32 = -Infinity;
  for (let k = 0; k < K; k++) {
    const s = dot(v, A + <usize>k * rb, d) + load<f32>(beta + (<usize>k << 2));
    store<f32>(bhat + (<usize>k << 2), s);
    if (s > mx) {
      mx = s;
      y = k;
    }
  }
  let z: f32 = 0;
  for (let k = 0; k < K; k++) {
    const e = Mathf.exp((load<f32>(bhat + (<usize>k << 2)) - mx) * invT);
    store<f32>(bhat + (<usize>k << 2), e);
    z += e;
  }
  const iz: f32 = 1 / z;
  for (let k = 0; k < K; k++) store<f32>(bhat + (<usize>k << 2), load<f32>(bhat + (<usize>k << 2)) * iz);
  return y;
}

/**
 * Backward pass for one item assigned to y, given g = dL/d(codeword) (d
 * floats) and the item's bhat, with the straight-through estimator as it is
 * usually written, b = onehot(y) + bhat - stop_gradient(bhat), codeword = C b:
 * the codeword c_y receives g directly and the soft assignment carries the
 * rest. Accumulates into gC (K x d), gW (d x d, row-major: W[a][b] multiplies
 * v_a c_b) and gwC (d). With ds_k = (bhat_k / T)(g.c_k - sum_m bhat_m g.c_m):
 *   dL/dc_y += g      dL/dc_k += ds_k (1/2 W'v + w_C)      dL/dW += 1/2 v q'      dL/dw_C += q
 * where q = sum_k ds_k c_k. z and q are d-float scratch, ds K floats.
 */
export function jointBackward(
  v: usize, y: i32, g: usize, bhat: usize, C: usize, W: usize, wC: usize, K: i32, d: i32, invT: f32,
  gC: usize, gW: usize, gwC: usize, ds: usize, z: usize, q: usize,
): void {
  const rb = <usize>d << 2;
  let mean: f32 = 0;
  for (let k = 0; k < K; k++) {
    const gc = dot(g, C + <usize>k * rb, d);
    store<f32>(ds + (<usize>k << 2), gc);
    mean += load<f32>(bhat + (<usize>k << 2)) * gc;
  }
  // z = 1/2 W' v + w_C  (column b of W dotted with v)
  for (let b = 0; b < d; b++) {
    let s: f32 = 0;
    for (let a = 0; a < d; a++) s += load<f32>(v + (<usize>a << 2)) * load<f32>(W + ((<usize>(a * d + b)) << 2));
    store<f32>(z + (<usize>b << 2), 0.5 * s + load<f32>(wC + (<usize>b << 2)));
  }
  for (let o: usize = 0; o < rb; o += 16) v128.store(q + o, f32x4.splat(0));
  for (let k = 0; k < K; k++) {
    const bk = load<f32>(bhat + (<usize>k << 2));
    const dsk = bk * invT * (load<f32>(ds + (<usize>k << 2)) - mean);
    const vb = f32x4.splat(k == y ? <f32>1 : <f32>0);
    const vd = f32x4.splat(dsk);
    const ck = C + <usize>k * rb;
    const gk = gC + <usize>k * rb;
    for (let o: usize = 0; o < rb; o += 16) {
      v128.store(gk + o, f32x4.add(v128.load(gk + o), f32x4.add(f32x4.mul(vb, v128.load(g + o)), f32x4.mul(vd, v128.load(z + o)))));
      v128.store(q + o, f32x4.add(v128.load(q + o), f32x4.mul(vd, v128.load(ck + o))));
    }
  }
  for (let a = 0; a < d; a++) {
    const va = f32x4.splat(0.5 * load<f32>(v + (<usize>a << 2)));
    const row = gW + <usize>a * rb;
    for (let o: usize = 0; o < rb; o += 16) v128.store(row + o, f32x4.add(v128.load(row + o), f32x4.mul(va, v128.load(q + o))));
  }
  for (let o: usize = 0; o < rb; o += 16) v128.store(gwC + o, f32x4.add(v128.load(gwC + o), v128.load(q + o)));
}

/** Plain Adam on a dense parameter block of n floats (n a multiple of 4), gradient scaled by `scale`, which is then zeroed. */
export function adamDense(x: usize, m: usize, v: usize, g: usize, n: i32, lrT: f32, b1: f32, b2: f32, eps: f32, scale: f32): void {
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const va1 = f32x4.splat(1 - b1);
  const va2 = f32x4.splat(1 - b2);
  const vlr = f32x4.splat(lrT);
  const veps = f32x4.splat(eps);
  const vsc = f32x4.splat(scale);
  for (let o: usize = 0, end = <usize>n << 2; o < end; o += 16) {
    const gg = f32x4.mul(vsc, v128.load(g + o));
    const mm = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(va1, gg));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(va2, f32x4.mul(gg, gg)));
    v128.store(m + o, mm);
    v128.store(v + o, vv);
    v128.store(x + o, f32x4.sub(v128.load(x + o), f32x4.div(f32x4.mul(vlr, mm), f32x4.add(f32x4.sqrt(vv), veps))));
    v128.store(g + o, f32x4.splat(0));
  }
}
