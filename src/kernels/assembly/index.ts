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
const OPT_ADAGRAD_ROW: i32 = 3;
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

// [v . r0, v . r1, v . r2, v . r3] for four rows r_i = rows + i * rb: v is
// loaded once for the four, and one transposing reduction replaces four
// horizontal sums.
@inline function dots4(v: usize, rows: usize, rb: usize): v128 {
  const r1 = rows + rb;
  const r2 = r1 + rb;
  return dots4At(v, rows, r1, r2, r2 + rb, rb);
}

// dots4 for four rows anywhere: scattered rows' cache misses overlap.
@inline function dots4At(v: usize, r0: usize, r1: usize, r2: usize, r3: usize, rb: usize): v128 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  for (let o: usize = 0; o < rb; o += 16) {
    const x = v128.load(v + o);
    a0 = f32x4.add(a0, f32x4.mul(x, v128.load(r0 + o)));
    a1 = f32x4.add(a1, f32x4.mul(x, v128.load(r1 + o)));
    a2 = f32x4.add(a2, f32x4.mul(x, v128.load(r2 + o)));
    a3 = f32x4.add(a3, f32x4.mul(x, v128.load(r3 + o)));
  }
  const p01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 2, 6), v128.shuffle<f32>(a0, a1, 1, 5, 3, 7));
  const p23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 2, 6), v128.shuffle<f32>(a2, a3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(p01, p23, 0, 1, 4, 5), v128.shuffle<f32>(p01, p23, 2, 3, 6, 7));
}

// Scratch layout (float32 slots), each block padded to Lp = L rounded up to 4
// lanes: xj[Lp] | w[Lp] | s[Lp] | gj[Lp] | gu[d] | g[(L + 1) d] | ss[padded(L + 2)]
// (g and ss: adagrad-row's gradients of the negatives and the positive, and
// every row's sum of squares). The caller's lnq array must also hold Lp
// floats (lanes past L are read and ignored).
@inline function padded(L: i32): i32 {
  return (L + 3) & ~3;
}

@inline function slot(sc: usize, which: i32, L: i32, l: i32): usize {
  return sc + ((<usize>(which * padded(L) + l)) << 2);
}

@inline function hmax(v: v128): f32 {
  return Mathf.max(Mathf.max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), Mathf.max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// exp on four lanes: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, and the
// Cephes single-precision polynomial for e^r (relative error ~1e-7); inputs
// are clamped to the normal float range.
@inline function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// ln(1 + e) on four lanes for e in [0, 1]: with y = 1 + e in [1, 2] and
// s = (y - 1) / (y + 1) in [0, 1/3], ln y = 2 (s + s^3/3 + ... + s^11/11)
// (truncation error below 1e-7).
@inline function log1pUnit4(e: v128): v128 {
  const s = f32x4.div(e, f32x4.add(e, f32x4.splat(2)));
  const s2 = f32x4.mul(s, s);
  let p = f32x4.splat(<f32>(1.0 / 11));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 9)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 7)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 5)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(<f32>(1.0 / 3)));
  p = f32x4.add(f32x4.mul(p, s2), f32x4.splat(1));
  return f32x4.mul(f32x4.mul(p, s), f32x4.splat(2));
}

// Lanes l < L of the block starting at lane `base` (all ones) and the rest (zeros).
@inline function laneMask(base: i32, L: i32): v128 {
  return i32x4.lt_s(i32x4.add(i32x4.splat(base), v128(0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0)), i32x4.splat(L));
}

// Scores of the positive and the L negatives, importance weights, loss and
// dloss/dscore: gj[l] = dloss/dx_j_l in scratch, dloss/dx_i in gI. Returns the loss.
//   a_l = x_j_l - lnQ~_l,  w = softmax(a),  s_l = ln sigma(x_i - x_j_l),  loss = -sum w_l s_l
//   pris: dloss/dx_j_l = w_l (sigma(x_j_l - x_i) - (s_l - s_bar)); sa: without the (s_l - s_bar) term
//   bpr:  w_l = 1/L
// The per-negative scalars are computed four lanes at a time.
@inline function lossCoefs(code: i32, d: i32, L: i32, u: usize, V: usize, i: i32, negs: usize, lnq: usize, sc: usize): f32 {
  const rb = <usize>d << 2;
  const Lp = padded(L);
  const xi = dot(u, V + <usize>i * rb, d);
  for (let l = 0; l < L; l++) store<f32>(slot(sc, 0, L, l), dot(u, V + <usize>load<i32>(negs + (<usize>l << 2)) * rb, d));
  // a = x_j - lnq (pad lanes: -inf), w = softmax(a) (pad lanes: 0)
  let mx = f32x4.splat(-Infinity);
  for (let b = 0; b < Lp; b += 4) {
    const a = v128.bitselect(f32x4.sub(v128.load(slot(sc, 0, L, b)), v128.load(lnq + (<usize>b << 2))), f32x4.splat(-Infinity), laneMask(b, L));
    v128.store(slot(sc, 1, L, b), a);
    mx = f32x4.max(mx, a);
  }
  const m = f32x4.splat(hmax(mx));
  if (code <= LOSS_SA) {
    let z = f32x4.splat(0);
    for (let b = 0; b < Lp; b += 4) {
      const e = v128.and(exp4(f32x4.sub(v128.load(slot(sc, 1, L, b)), m)), laneMask(b, L));
      v128.store(slot(sc, 1, L, b), e);
      z = f32x4.add(z, e);
    }
    const iz = f32x4.splat(1 / hsum(z));
    for (let b = 0; b < Lp; b += 4) v128.store(slot(sc, 1, L, b), f32x4.mul(v128.load(slot(sc, 1, L, b)), iz));
  } else {
    const w = f32x4.splat(1 / <f32>L);
    for (let b = 0; b < Lp; b += 4) v128.store(slot(sc, 1, L, b), v128.and(w, laneMask(b, L)));
  }
  const vxi = f32x4.splat(xi);
  let gi = f32x4.splat(0);
  let loss = f32x4.splat(0);
  for (let b = 0; b < Lp; b += 4) {
    const t = f32x4.sub(vxi, v128.load(slot(sc, 0, L, b)));
    // One exp gives sigma(-t) and ln sigma(t), stable for either sign of t.
    const e = exp4(f32x4.neg(f32x4.abs(t)));
    const onePlus = f32x4.add(f32x4.splat(1), e);
    const nonNeg = f32x4.ge(t, f32x4.splat(0));
    const sigNeg = f32x4.div(v128.bitselect(e, f32x4.splat(1), nonNeg), onePlus);
    const lnSig = f32x4.neg(f32x4.add(log1pUnit4(e), f32x4.max(f32x4.neg(t), f32x4.splat(0))));
    const w = v128.load(slot(sc, 1, L, b));
    const g = f32x4.mul(w, sigNeg);
    v128.store(slot(sc, 2, L, b), lnSig);
    v128.store(slot(sc, 3, L, b), g);
    gi = f32x4.sub(gi, g);
    loss = f32x4.sub(loss, f32x4.mul(w, lnSig));
  }
  const total = hsum(loss);
  if (code == LOSS_PRIS) {
    const sBar = f32x4.splat(-total);
    for (let b = 0; b < Lp; b += 4) {
      const w = v128.load(slot(sc, 1, L, b));
      const g = f32x4.sub(v128.load(slot(sc, 3, L, b)), f32x4.mul(w, f32x4.sub(v128.load(slot(sc, 2, L, b)), sBar)));
      v128.store(slot(sc, 3, L, b), g);
    }
  }
  gI = hsum(gi);
  return total;
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
 * uAcc / VAcc are the Adagrad accumulators (ignored by sgd): one per element
 * for adagrad, one per row for adagrad-row (then uAcc points at the user's
 * single float and VAcc[j] is item j's). Returns the loss.
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
  if (opt == OPT_ADAGRAD_ROW) {
    // A row's step size depends on its whole gradient. Every row's gradient
    // first (the negatives' from the rows as they are) with its sum of
    // squares, then the accumulators in order, the step sizes four rows at
    // a time, then the moves: a serial sum-sqrt-divide chain per row before
    // its move had cost this step more than per-element Adagrad.
    const G = gu + rb;
    const ss = G + <usize>(L + 1) * rb;
    for (let l = 0; l < L; l++) {
      const vj = V + <usize>load<i32>(negs + (<usize>l << 2)) * rb;
      const c = f32x4.splat(load<f32>(slot(sc, 3, L, l)));
      const gl = G + <usize>l * rb;
      let q = f32x4.splat(0);
      for (let o: usize = 0; o < rb; o += 16) {
        const v = v128.load(vj + o);
        v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.mul(c, v)));
        const g = f32x4.add(f32x4.mul(c, v128.load(u + o)), f32x4.mul(vreg, v));
        v128.store(gl + o, g);
        q = f32x4.add(q, f32x4.mul(g, g));
      }
      store<f32>(ss + (<usize>l << 2), hsum(q));
    }
    const gi = G + <usize>L * rb;
    let qi = f32x4.splat(0);
    let qu = f32x4.splat(0);
    for (let o: usize = 0; o < rb; o += 16) {
      const g = f32x4.add(f32x4.mul(vgi, v128.load(u + o)), f32x4.mul(vreg, v128.load(vi + o)));
      v128.store(gi + o, g);
      qi = f32x4.add(qi, f32x4.mul(g, g));
      const h = v128.load(gu + o);
      qu = f32x4.add(qu, f32x4.mul(h, h));
    }
    store<f32>(ss + (<usize>L << 2), hsum(qi));
    store<f32>(ss + (<usize>(L + 1) << 2), hsum(qu));
    // acc += mean(g^2) for the negatives, the positive, the user, in that
    // order (a negative drawn twice sees its first update).
    for (let r = 0; r < L + 2; r++) {
      const acc = r < L ? VAcc + (<usize>load<i32>(negs + (<usize>r << 2)) << 2) : r == L ? VAcc + (<usize>i << 2) : uAcc;
      const a = load<f32>(acc) + load<f32>(ss + (<usize>r << 2)) / <f32>d;
      store<f32>(acc, a);
      store<f32>(ss + (<usize>r << 2), a);
    }
    // step = lr / (sqrt(acc) + eps)
    for (let r = 0; r < L + 2; r += 4) {
      const o = ss + (<usize>r << 2);
      v128.store(o, f32x4.div(vlr, f32x4.add(f32x4.sqrt(v128.load(o)), f32x4.splat(ADAGRAD_EPS))));
    }
    for (let r = 0; r < L + 2; r++) {
      const x = r < L ? V + <usize>load<i32>(negs + (<usize>r << 2)) * rb : r == L ? vi : u;
      const g = r <= L ? G + <usize>r * rb : gu;
      const step = f32x4.splat(load<f32>(ss + (<usize>r << 2)));
      for (let o: usize = 0; o < rb; o += 16) v128.store(x + o, f32x4.sub(v128.load(x + o), f32x4.mul(step, v128.load(g + o))));
    }
    return loss;
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

// One Adam update of four parameters at x with moments at m, v and gradient g:
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; x -= lrT m / (sqrt(v) + eps).
@inline function adamChunk(x: usize, m: usize, v: usize, g: v128, vb1: v128, vb2: v128, va1: v128, va2: v128, vlr: v128, veps: v128): void {
  const mm = f32x4.add(f32x4.mul(vb1, v128.load(m)), f32x4.mul(va1, g));
  const vv = f32x4.add(f32x4.mul(vb2, v128.load(v)), f32x4.mul(va2, f32x4.mul(g, g)));
  v128.store(m, mm);
  v128.store(v, vv);
  v128.store(x, f32x4.sub(v128.load(x), f32x4.div(f32x4.mul(vlr, mm), f32x4.add(f32x4.sqrt(vv), veps))));
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
    for (let o: usize = 0; o < rb; o += 16) adamChunk(x + o, m + o, v + o, f32x4.mul(vsc, v128.load(g0 + o)), vb1, vb2, va1, va2, vlr, veps);
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
    adamChunk(x + o, m + o, v + o, f32x4.mul(vsc, v128.load(g + o)), vb1, vb2, va1, va2, vlr, veps);
    v128.store(g + o, f32x4.splat(0));
  }
}

// ---- cluster samplers: per-user group table ---------------------------------

/**
 * The group distribution of the cluster samplers for one user (Theorems 4.4,
 * 4.5): scores[k] = u . c_k; weight_k = exp(scores[k] - max) * left[k], the max
 * taken over groups with mass left (left[k] > 0), so exp cannot overflow;
 * cdf[k] = cumulative weights; guide[g] = the first k with cdf[k] > g/K of the
 * total (the cutpoint method: a draw starts next to its group). Returns the
 * total weight (0: no group has anything left).
 */
export function groupTable(u: usize, C: usize, K: i32, d: i32, left: usize, scores: usize, cdf: usize, guide: usize): f32 {
  const rb = <usize>d << 2;
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  let vmx = ninf;
  let mx: f32 = -Infinity;
  const K4 = K & ~3;
  for (let k = 0; k < K4; k += 4) {
    const sv = dots4(u, C + <usize>k * rb, rb);
    const o = <usize>k << 2;
    v128.store(scores + o, sv);
    vmx = f32x4.max(vmx, v128.bitselect(sv, ninf, f32x4.gt(v128.load(left + o), zero)));
  }
  mx = hmax(vmx);
  for (let k = K4; k < K; k++) {
    const s = dot(u, C + <usize>k * rb, d);
    store<f32>(scores + (<usize>k << 2), s);
    if (load<f32>(left + (<usize>k << 2)) > 0 && s > mx) mx = s;
  }
  if (mx == -Infinity) return 0;
  const vmax = f32x4.splat(mx);
  for (let k = 0; k < K4; k += 4) {
    const o = <usize>k << 2;
    v128.store(cdf + o, f32x4.mul(exp4(f32x4.sub(v128.load(scores + o), vmax)), v128.load(left + o)));
  }
  for (let k = K4; k < K; k++) {
    const o = <usize>k << 2;
    store<f32>(cdf + o, Mathf.exp(load<f32>(scores + o) - mx) * load<f32>(left + o));
  }
  let acc: f32 = 0;
  for (let k = 0; k < K; k++) {
    const o = <usize>k << 2;
    acc += load<f32>(cdf + o);
    store<f32>(cdf + o, acc);
  }
  // guide[g]: the first group whose cumulative weight passes g/K of the total,
  // a starting point only (clusterDraw also steps back), so rounding in the
  // edge cannot bias a draw.
  const step = acc / <f32>K;
  let c = 0;
  for (let g = 0; g < K; g++) {
    const edge = <f32>g * step;
    while (c < K - 1 && load<f32>(cdf + (<usize>c << 2)) <= edge) c++;
    store<i32>(guide + (<usize>g << 2), c);
  }
  return acc;
}

/**
 * The mass left in each cluster for one user (the N^k - N_u^k of Theorem 4.4,
 * or P_Q(I^k) - P_Q(I_u^k) of 4.5): left[k] = mass[k] minus the f (1 when
 * no f is given, f = 0) of the user's positives pos[0..n) in cluster k, and 0 where no
 * drawable item is left (alive[k] minus the user's alive positives). The
 * difference is taken in float64, then rounded once. removed (f64) and
 * removedAlive (i32) are K-slot scratch.
 */
export function groupLeft(
  pos: usize, n: i32, labels: usize, f: usize, mass: usize, alive: usize, K: i32,
  left: usize, removed: usize, removedAlive: usize,
): void {
  memory.fill(removed, 0, <usize>K << 3);
  memory.fill(removedAlive, 0, <usize>K << 2);
  for (let q = 0; q < n; q++) {
    const j = load<i32>(pos + (<usize>q << 2));
    const c = <usize>load<i32>(labels + (<usize>j << 2));
    const w = f ? load<f64>(f + (<usize>j << 3)) : 1.0;
    if (w > 0) {
      store<f64>(removed + (c << 3), load<f64>(removed + (c << 3)) + w);
      store<i32>(removedAlive + (c << 2), load<i32>(removedAlive + (c << 2)) + 1);
    }
  }
  for (let k = 0; k < K; k++) {
    const rest = load<f64>(mass + (<usize>k << 3)) - load<f64>(removed + (<usize>k << 3));
    const some = load<i32>(alive + (<usize>k << 2)) - load<i32>(removedAlive + (<usize>k << 2)) > 0;
    store<f32>(left + (<usize>k << 2), some && rest > 0 ? <f32>rest : 0);
  }
}

// xoshiro128**, the same generator step for step as src/kernels/rng.ts, so a
// sampler drawing here continues the worker's JavaScript stream exactly: the
// caller's 4-word state is loaded into globals (one instance per thread) for
// the length of a sampling call and stored back at its end.
let g0: u32 = 0;
let g1: u32 = 0;
let g2: u32 = 0;
let g3: u32 = 0;

/** What the touches ahead of use loaded (WebAssembly has no prefetch), folded: exported, so no optimizer drops them. */
export let touched: u32 = 0;

@inline function rngIn(rng: usize): void {
  g0 = load<u32>(rng);
  g1 = load<u32>(rng, 4);
  g2 = load<u32>(rng, 8);
  g3 = load<u32>(rng, 12);
}

@inline function rngOut(rng: usize): void {
  store<u32>(rng, g0);
  store<u32>(rng, g1, 4);
  store<u32>(rng, g2, 8);
  store<u32>(rng, g3, 12);
}

// Uniform in [0, 1) from 32 bits, in f64 as the JavaScript side computes it.
@inline function nextUnit(): f64 {
  const result = rotl<u32>(g1 * 5, 7) * 9;
  const t = g1 << 9;
  const n2 = g2 ^ g0;
  const n3 = g3 ^ g1;
  g0 = g0 ^ n3;
  g1 = g1 ^ n2;
  g2 = n2 ^ t;
  g3 = rotl<u32>(n3, 11);
  return <f64>result * 2.3283064365386963e-10;
}

/**
 * Draws rows x L negatives from the cluster proposal of the current user (the
 * table groupTable built: cumulative group weights cdf[K] summing to
 * `total`, guide[K]): a group, then the item within it uniformly or
 * (popular != 0) through the group's alias table (the packed entries of
 * src/samplers/cluster-tables.ts), rejecting the user's positives (bit j of the
 * bitset `bits` set). Draw l of row r goes to negs[r*L + l], and
 * lnq[r*stride + l] = scores[group] (+ lnf[j] when lnf != 0, added in a
 * second pass over the draws so those loads do not wait on each other).
 * Returns the candidates drawn.
 */
export function clusterDraw(
  rng: usize, rows: i32, L: i32, stride: i32, total: f64, K: i32, cdf: usize, guide: usize, scores: usize,
  ptr: usize, entries: usize, popular: i32, lnf: usize, bits: usize, negs: usize, lnq: usize,
): i32 {
  rngIn(rng);
  let draws = 0;
  for (let row = 0; row < rows; row++) {
    const negRow = negs + (<usize>(row * L) << 2);
    const lnqRow = lnq + (<usize>(row * stride) << 2);
    for (let l = 0; l < L; l++) {
      const u01 = nextUnit();
      const r = u01 * total;
      let c = load<i32>(guide + (<usize>(<i32>Math.floor(u01 * <f64>K)) << 2));
      while (c > 0 && <f64>load<f32>(cdf + (<usize>(c - 1) << 2)) > r) c--;
      while (c < K - 1 && <f64>load<f32>(cdf + (<usize>c << 2)) <= r) c++;
      const p0 = load<i32>(ptr + (<usize>c << 2));
      const size = load<i32>(ptr + (<usize>(c + 1) << 2)) - p0;
      let j: i32;
      do {
        // One 16-byte entry per position: [item, alias item, keep probability, 0].
        const e = entries + (<usize>(p0 + <i32>Math.floor(nextUnit() * <f64>size)) << 4);
        j = popular && nextUnit() >= <f64>load<f32>(e, 8) ? load<i32>(e, 4) : load<i32>(e);
        draws++;
      } while ((load<u32>(bits + (<usize>(j >>> 5) << 2)) >>> (<u32>j & 31)) & 1);
      store<i32>(negRow + (<usize>l << 2), j);
      store<f32>(lnqRow + (<usize>l << 2), load<f32>(scores + (<usize>c << 2)));
    }
  }
  rngOut(rng);
  if (lnf) {
    for (let row = 0; row < rows; row++) {
      const negRow = negs + (<usize>(row * L) << 2);
      const lnqRow = lnq + (<usize>(row * stride) << 2);
      for (let l = 0; l < L; l++) {
        const q = lnqRow + (<usize>l << 2);
        store<f32>(q, <f32>(<f64>load<f32>(q) + <f64>load<f32>(lnf + (<usize>load<i32>(negRow + (<usize>l << 2)) << 2))));
      }
    }
  }
  return draws;
}

// ---- item samplers: uniform and popularity over every item -----------------

/**
 * Draws rows x L negatives over all n items for the current user, rejecting
 * the user's positives (bit j of the bitset `bits` set): uniformly (entries
 * == 0; ln Q~ = 0) or by popularity through the alias table packed as one
 * 16-byte entry per column k, [alias item, keep probability, ln f_k,
 * ln f_alias] (f32 but the item), so a draw reads one cache line and the
 * check one bit of a table that stays in L1/L2. The same generator stream
 * as the JavaScript alias draw (column, then coin). Draw l of row r goes to
 * negs[r*L + l] and its ln Q~ to lnq[r*stride + l]. Returns the candidates drawn.
 */
export function itemDraw(rng: usize, rows: i32, L: i32, stride: i32, n: i32, entries: usize, bits: usize, negs: usize, lnq: usize): i32 {
  rngIn(rng);
  let draws = 0;
  const nf = <f64>n;
  if (entries) {
    // A dry run of the generator touches the entry of every draw's first
    // candidate: those loads are independent, so their misses overlap,
    // where in the draws each waits on the coin before the next. A
    // rejection shifts the later ones; the draws below stay exact.
    const s0 = g0;
    const s1 = g1;
    const s2 = g2;
    const s3 = g3;
    let x: u32 = 0;
    for (let t = 0, m = rows * L; t < m; t++) {
      x ^= load<u32>(entries + (<usize>(<i32>(nextUnit() * nf)) << 4), 4);
      nextUnit();
    }
    touched ^= x;
    g0 = s0;
    g1 = s1;
    g2 = s2;
    g3 = s3;
  }
  for (let row = 0; row < rows; row++) {
    const negRow = negs + (<usize>(row * L) << 2);
    const lnqRow = lnq + (<usize>(row * stride) << 2);
    for (let l = 0; l < L; l++) {
      let j: i32;
      let q: f32 = 0;
      do {
        j = <i32>(nextUnit() * nf);
        if (entries) {
          // A branch, not selects: the bit check need not wait for the
          // entry's line when the branch is predicted (measured ~10% faster).
          const e = entries + (<usize>j << 4);
          if (nextUnit() < <f64>load<f32>(e, 4)) {
            q = load<f32>(e, 8);
          } else {
            q = load<f32>(e, 12);
            j = load<i32>(e);
          }
        }
        draws++;
      } while ((load<u32>(bits + (<usize>(j >>> 5) << 2)) >>> (<u32>j & 31)) & 1);
      store<i32>(negRow + (<usize>l << 2), j);
      store<f32>(lnqRow + (<usize>l << 2), q);
    }
  }
  rngOut(rng);
  return draws;
}

// ---- a user visit's steps ---------------------------------------------------

// Loads one word of every cache line of the row at a (rb bytes): WebAssembly
// has no prefetch, and a load of a line the next steps need starts its miss
// early, beside the others.
@inline function touchRow(a: usize, rb: usize): u32 {
  let x: u32 = load<u32>(a + rb - 4);
  for (let o: usize = 0; o < rb; o += 64) x ^= load<u32>(a + o);
  return x;
}

// Touches the rows sample r uses: its positive's and negatives' rows and their optimizer state.
@inline function touchSample(opt: i32, rb: usize, V: usize, VAcc: usize, pos: usize, negs: usize, L: i32, r: i32): u32 {
  const i = <usize>load<i32>(pos + (<usize>r << 2));
  let x = touchRow(V + i * rb, rb);
  if (opt == OPT_ADAGRAD_ROW) x ^= load<u32>(VAcc + (i << 2));
  else if (opt == OPT_ADAGRAD) x ^= touchRow(VAcc + i * rb, rb);
  const nr = negs + (<usize>(r * L) << 2);
  for (let l = 0; l < L; l++) {
    const j = <usize>load<i32>(nr + (<usize>l << 2));
    x ^= touchRow(V + j * rb, rb);
    if (opt == OPT_ADAGRAD_ROW) x ^= load<u32>(VAcc + (j << 2));
    else if (opt == OPT_ADAGRAD) x ^= touchRow(VAcc + j * rb, rb);
  }
  return x;
}

/**
 * The trainSteps of `rows` positives of one user (row u, state uAcc):
 * positive pos[r] with negatives negs[r*L ..) and ln Q~ at lnq[r*stride ..).
 * Before step r the rows of step r + ahead are touched (the first `ahead`
 * together at the start; 0: none), so their cache misses overlap each
 * other and the work in between instead of stalling each step. Returns the
 * summed loss.
 */
export function trainRows(
  opt: i32, code: i32, d: i32, L: i32, lr: f32, reg: f32,
  u: usize, uAcc: usize, V: usize, VAcc: usize, pos: usize, rows: i32, negs: usize, lnq: usize, stride: i32, sc: usize, ahead: i32,
): f32 {
  const rb = <usize>d << 2;
  let sink: u32 = 0;
  const first = min(ahead, rows);
  for (let r = 0; r < first; r++) sink ^= touchSample(opt, rb, V, VAcc, pos, negs, L, r);
  let loss: f32 = 0;
  for (let r = 0; r < rows; r++) {
    if (ahead > 0 && r + ahead < rows) sink ^= touchSample(opt, rb, V, VAcc, pos, negs, L, r + ahead);
    loss += trainStep(
      opt, code, d, L, lr, reg, u, uAcc, V, VAcc, load<i32>(pos + (<usize>r << 2)),
      negs + (<usize>(r * L) << 2), lnq + (<usize>(r * stride) << 2), sc,
    );
  }
  touched ^= sink;
  return loss;
}

// ---- the cosine contrastive loss (SimpleX) ---------------------------------

// x /= |x| (left as is when zero).
@inline function unitRow(x: usize, rb: usize): void {
  let q = f32x4.splat(0);
  for (let o: usize = 0; o < rb; o += 16) {
    const v = v128.load(x + o);
    q = f32x4.add(q, f32x4.mul(v, v));
  }
  const n = Mathf.sqrt(hsum(q));
  if (n == 0) return;
  const s = f32x4.splat(1 / n);
  for (let o: usize = 0; o < rb; o += 16) v128.store(x + o, f32x4.mul(v128.load(x + o), s));
}

// adagrad-row: acc += mean squared gradient; the step lr / (sqrt(acc) + eps).
@inline function adaStep(acc: usize, meanSq: f32, lr: f32): f32 {
  const a = load<f32>(acc) + meanSq;
  store<f32>(acc, a);
  return lr / (Mathf.sqrt(a) + ADAGRAD_EPS);
}

// x -= lr * c * (y - cxy * x), then x back to unit length: a step along the
// tangent part of c * y at x (the gradient of c * cos(x, y) on the sphere).
@inline function sphereStep(x: usize, y: usize, rb: usize, lrc: f32, cxy: f32): void {
  const a = f32x4.splat(1 + lrc * cxy);
  const b = f32x4.splat(lrc);
  for (let o: usize = 0; o < rb; o += 16) v128.store(x + o, f32x4.sub(f32x4.mul(a, v128.load(x + o)), f32x4.mul(b, v128.load(y + o))));
  unitRow(x, rb);
}

/**
 * SimpleX's cosine contrastive loss over `rows` positives of one user, rows on
 * the unit sphere (so a dot product is the cosine):
 *   loss = (1 - u.v_i) + (w / L) sum_l max(0, u.v_j_l - margin)
 * for positive pos[r] and negatives negs[r*L ..). Each row takes a step along
 * its gradient's tangent part (the gradient of a cosine loss at a unit row is
 * tangent already) and is put back on the sphere; the user's gradient is
 * taken before the item rows move. Only negatives above the margin move.
 * With adagrad-row (opt) a row's step is lr / (sqrt(acc) + eps), acc its
 * running sum of mean squared gradients (uAcc the user's float, VAcc[j] item
 * j's): a scale along the same tangent direction, so the row still moves on
 * the sphere. An item's gradient c (u - c_uv v) has squared length
 * c^2 (1 - c_uv^2) at unit rows; the user's is summed.
 * Scratch: cosines [padded(L)] then the user's gradient [d]. Returns the summed loss.
 */
export function cclRows(
  opt: i32, d: i32, L: i32, lr: f32, margin: f32, negWeight: f32,
  u: usize, uAcc: usize, V: usize, VAcc: usize, pos: usize, rows: i32, negs: usize, sc: usize,
): f32 {
  const ada = opt == OPT_ADAGRAD_ROW;
  const invD: f32 = <f32>1 / <f32>d;
  const rb = <usize>d << 2;
  const cs = sc;
  const gu = sc + (<usize>padded(L) << 2);
  const cw = negWeight / <f32>L;
  let loss: f32 = 0;
  for (let r = 0; r < rows; r++) {
    const vi = V + <usize>load<i32>(pos + (<usize>r << 2)) * rb;
    const nr = negs + (<usize>(r * L) << 2);
    const ci = dot(u, vi, d);
    loss += 1 - ci;
    // d loss / d u = -(v_i - ci u) + cw sum_active (v_j - cj u)
    let cu: f32 = ci;
    for (let o: usize = 0; o < rb; o += 16) v128.store(gu + o, f32x4.neg(v128.load(vi + o)));
    let l = 0;
    for (; l + 4 <= L; l += 4) {
      const q = nr + (<usize>l << 2);
      v128.store(cs + (<usize>l << 2), dots4At(
        u, V + <usize>load<i32>(q) * rb, V + <usize>load<i32>(q + 4) * rb, V + <usize>load<i32>(q + 8) * rb, V + <usize>load<i32>(q + 12) * rb, rb,
      ));
    }
    for (; l < L; l++) store<f32>(cs + (<usize>l << 2), dot(u, V + <usize>load<i32>(nr + (<usize>l << 2)) * rb, d));
    for (let l = 0; l < L; l++) {
      const cj = load<f32>(cs + (<usize>l << 2));
      if (cj <= margin) continue;
      loss += cw * (cj - margin);
      cu -= cw * cj;
      const vj = V + <usize>load<i32>(nr + (<usize>l << 2)) * rb;
      const vc = f32x4.splat(cw);
      for (let o: usize = 0; o < rb; o += 16) v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.mul(vc, v128.load(vj + o))));
    }
    // gu += cu u, with cu = ci - cw sum_active cj: the tangent correction.
    const vcu = f32x4.splat(cu);
    for (let o: usize = 0; o < rb; o += 16) v128.store(gu + o, f32x4.add(v128.load(gu + o), f32x4.mul(vcu, v128.load(u + o))));
    // Items: d loss / d v_j = cw (u - cj v_j), d loss / d v_i = -(u - ci v_i).
    for (let l = 0; l < L; l++) {
      const cj = load<f32>(cs + (<usize>l << 2));
      if (cj <= margin) continue;
      const j = <usize>load<i32>(nr + (<usize>l << 2));
      const step = ada ? adaStep(VAcc + (j << 2), cw * cw * (1 - cj * cj) * invD, lr) : lr;
      sphereStep(V + j * rb, u, rb, step * cw, cj);
    }
    const i = <usize>load<i32>(pos + (<usize>r << 2));
    sphereStep(vi, u, rb, -(ada ? adaStep(VAcc + (i << 2), (1 - ci * ci) * invD, lr) : lr), ci);
    let stepU = lr;
    if (ada) {
      let q = f32x4.splat(0);
      for (let o: usize = 0; o < rb; o += 16) {
        const g = v128.load(gu + o);
        q = f32x4.add(q, f32x4.mul(g, g));
      }
      stepU = adaStep(uAcc, hsum(q) * invD, lr);
    }
    const vlr = f32x4.splat(stepU);
    for (let o: usize = 0; o < rb; o += 16) v128.store(u + o, f32x4.sub(v128.load(u + o), f32x4.mul(vlr, v128.load(gu + o))));
    unitRow(u, rb);
  }
  return loss;
}

// ---- K-means --------------------------------------------------------------

/**
 * Assignment step of Lloyd's algorithm for rows X[0..n) against K centers:
 * labels[r] = argmax_k (x_r . c_k - halfNorm[k]) (= the nearest center, with
 * halfNorm[k] = |c_k|^2 / 2) and best[r] = that maximum. Returns how many
 * labels changed. Four rows at a time, so each center row is loaded once per four.
 */
export function assignNearest(X: usize, n: i32, C: usize, K: i32, d: i32, halfNorm: usize, labels: usize, best: usize): i32 {
  const rb = <usize>d << 2;
  let changed = 0;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const x0 = X + <usize>r * rb;
    let b0: f32 = -Infinity, b1: f32 = -Infinity, b2: f32 = -Infinity, b3: f32 = -Infinity;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let k = 0; k < K; k++) {
      const s = f32x4.sub(dots4(C + <usize>k * rb, x0, rb), f32x4.splat(load<f32>(halfNorm + (<usize>k << 2))));
      const v0 = f32x4.extract_lane(s, 0);
      const v1 = f32x4.extract_lane(s, 1);
      const v2 = f32x4.extract_lane(s, 2);
      const v3 = f32x4.extract_lane(s, 3);
      if (v0 > b0) { b0 = v0; a0 = k; }
      if (v1 > b1) { b1 = v1; a1 = k; }
      if (v2 > b2) { b2 = v2; a2 = k; }
      if (v3 > b3) { b3 = v3; a3 = k; }
    }
    changed += setLabel(labels, best, r, a0, b0) + setLabel(labels, best, r + 1, a1, b1);
    changed += setLabel(labels, best, r + 2, a2, b2) + setLabel(labels, best, r + 3, a3, b3);
  }
  for (; r < n; r++) {
    const x = X + <usize>r * rb;
    let b: f32 = -Infinity;
    let a = 0;
    for (let k = 0; k < K; k++) {
      const v = dot(x, C + <usize>k * rb, d) - load<f32>(halfNorm + (<usize>k << 2));
      if (v > b) { b = v; a = k; }
    }
    changed += setLabel(labels, best, r, a, b);
  }
  return changed;
}

@inline function setLabel(labels: usize, best: usize, r: i32, a: i32, b: f32): i32 {
  const p = labels + (<usize>r << 2);
  const old = load<i32>(p);
  store<i32>(p, a);
  store<f32>(best + (<usize>r << 2), b);
  return old != a ? 1 : 0;
}

// ---- evaluation: every score of a block of users --------------------------
// All scores of a block of users against all items (evaluation and
// recommendation; src/eval/score-wasm.ts packs the operands and keeps the
// buffers). Register tile: 2 users x 4 panels of 4 items, 8 f32x4
// accumulators, so each item vector loaded serves two users and each user
// value (a load-splat) four vectors.
//
// Layouts (float32 slots; any d >= 1, no padding of the dimensions):
//   items, in groups of 16 (four panels of 4): item i, dimension k at
//     (i >> 4) * 16d + 16k + (i & 15): the four v128 at 16k hold coordinate k
//     of the group's 16 items; items past the model's are zero rows;
//   users, in pairs: user b, dimension k at (b >> 1) * 2d + 2k + (b & 1);
//   out: user b's score of item i at b * stride + i (stride a multiple of 16).
// Every score is acc = acc + u_k * v_k for k = 0 .. d-1 in float32, from
// acc = 0: the same operations in every lane, so identical item embeddings get
// bit-identical scores, and exactly the naive float32 sum in that order.
//
// Measured (gowalla's shape, d = 32, one thread, G multiply-adds/s, all in
// one run): this tile 17.6-17.9; 4x2 17.4, 3x2 16.5, 2x3 16.4, 6x1 14.2,
// 4x3 14.5, 2x2 13.7, 4x4 12.2, 2x8 9.7; the runtime-assembled kernel this
// replaced (3x2 panels, 4 dimensions a turn) 10.2. Unrolling the loop over k
// (2 or 4 dimensions a turn) ran 20-40% slower for every tile. Items are
// swept in blocks of ~256 KB (all users over one block, then the next): no
// change at d = 32, about +10% at d = 128.

const SCORE_BLOCK_BYTES: i32 = 1 << 18;

@inline function madd(acc: v128, s: v128, x: v128): v128 {
  return f32x4.add(acc, f32x4.mul(s, x));
}

/**
 * Scores of 2 * nPairs packed users (pairs at `users`) against nGroups * 16
 * packed items (groups at `items`), into rows of `stride` floats at `out`.
 */
export function scorePanels(users: usize, nPairs: i32, items: usize, nGroups: i32, d: i32, out: usize, stride: i32): void {
  const pairBytes = <usize>d << 3;
  const groupBytes = <usize>d << 6;
  const rowBytes = <usize>stride << 2;
  const block = max(1, SCORE_BLOCK_BYTES / (d << 6));
  for (let g0 = 0; g0 < nGroups; g0 += block) {
    const g1 = min(g0 + block, nGroups);
    for (let t = 0; t < nPairs; t++) {
      const ut = users + <usize>t * pairBytes;
      const end = ut + pairBytes;
      const row = out + <usize>(t << 1) * rowBytes;
      for (let g = g0; g < g1; g++) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
        let pu = ut;
        let pi = items + <usize>g * groupBytes;
        do {
          const x0 = v128.load(pi, 0);
          const x1 = v128.load(pi, 16);
          const x2 = v128.load(pi, 32);
          const x3 = v128.load(pi, 48);
          const s = v128.load32_splat(pu, 0);
          a0 = madd(a0, s, x0);
          a1 = madd(a1, s, x1);
          a2 = madd(a2, s, x2);
          a3 = madd(a3, s, x3);
          const r = v128.load32_splat(pu, 4);
          b0 = madd(b0, r, x0);
          b1 = madd(b1, r, x1);
          b2 = madd(b2, r, x2);
          b3 = madd(b3, r, x3);
          pi += 64;
          pu += 8;
        } while (pu < end);
        const o = row + (<usize>g << 6);
        v128.store(o, a0, 0);
        v128.store(o, a1, 16);
        v128.store(o, a2, 32);
        v128.store(o, a3, 48);
        v128.store(o + rowBytes, b0, 0);
        v128.store(o + rowBytes, b1, 16);
        v128.store(o + rowBytes, b2, 32);
        v128.store(o + rowBytes, b3, 48);
      }
    }
  }
}

/**
 * out[c] = the maximum of scores[64c .. 64c + 64) for c < nChunks, NaN
 * entries ignored (-Infinity if all are NaN): top-K skips whole chunks below
 * its threshold.
 */
export function chunkMax(scores: usize, nChunks: i32, out: usize): void {
  const none = f32x4.splat(-Infinity);
  for (let c = 0; c < nChunks; c++) {
    const p = scores + (<usize>c << 8);
    // pmax(m, x) = m < x ? x : m, so a NaN x keeps m.
    let m0 = none, m1 = none, m2 = none, m3 = none;
    for (let o: usize = 0; o < 256; o += 64) {
      m0 = f32x4.pmax(m0, v128.load(p + o, 0));
      m1 = f32x4.pmax(m1, v128.load(p + o, 16));
      m2 = f32x4.pmax(m2, v128.load(p + o, 32));
      m3 = f32x4.pmax(m3, v128.load(p + o, 48));
    }
    store<f32>(out + (<usize>c << 2), hmax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3))));
  }
}

/**
 * Over the 4 * nVec floats at `scores`: out[0] = how many are < t, out[1] =
 * how many are == t (i32). NaN counts in neither (AUC sets test items and
 * padding aside that way).
 */
export function countBelowEqual(scores: usize, nVec: i32, t: f32, out: usize): void {
  const ts = f32x4.splat(t);
  let below = i32x4.splat(0);
  let equal = i32x4.splat(0);
  for (let v = 0; v < nVec; v++) {
    const x = v128.load(scores + (<usize>v << 4));
    // A true comparison is all ones (-1): subtracting it counts one.
    below = i32x4.sub(below, f32x4.lt(x, ts));
    equal = i32x4.sub(equal, f32x4.eq(x, ts));
  }
  store<i32>(out, i32x4.extract_lane(below, 0) + i32x4.extract_lane(below, 1) + i32x4.extract_lane(below, 2) + i32x4.extract_lane(below, 3));
  store<i32>(out, i32x4.extract_lane(equal, 0) + i32x4.extract_lane(equal, 1) + i32x4.extract_lane(equal, 2) + i32x4.extract_lane(equal, 3), 4);
}
