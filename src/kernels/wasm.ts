import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../paths.js';
import { sharedMemory } from '../memory/shared.js';

/**
 * The compiled kernels (src/kernels/assembly → dist/kernels.wasm), one instance
 * per thread over the process's shared memory. Pointers are byte offsets into
 * that memory (a typed array's `byteOffset`).
 */
export interface Kernels {
  trainStep(
    opt: number, loss: number, d: number, L: number, lr: number, reg: number,
    u: number, uAcc: number, V: number, VAcc: number, i: number, negs: number, lnq: number, scratch: number,
  ): number;
  sampleGrads(
    loss: number, d: number, L: number, reg: number,
    u: number, V: number, i: number, negs: number, lnq: number, scratch: number, out: number,
  ): number;
  /** trainStep with scores cos(u, v) / tau (invTau = 1 / tau); not for adam. */
  trainStepCosine(
    opt: number, loss: number, d: number, L: number, lr: number, reg: number, invTau: number,
    u: number, uAcc: number, V: number, VAcc: number, i: number, negs: number, lnq: number, scratch: number,
  ): number;
  /** ln(Z_Q / L) of the current user, for the softmax loss (a per-thread setting). */
  setLnqShift(shift: number): void;
  /** The max-shift of the last groupTable call (ln of its total mass = ln total + shift). */
  groupTableShift(): number;
  sampleGradsCosine(
    loss: number, d: number, L: number, reg: number, invTau: number,
    u: number, V: number, i: number, negs: number, lnq: number, scratch: number, out: number,
  ): number;
  accumulateSample(
    loss: number, d: number, L: number, reg: number,
    u: number, uKey: number, V: number, i: number, negs: number, lnq: number, scratch: number,
    slotOf: number, keyOf: number, G: number, ctl: number,
  ): number;
  adamApply(
    d: number, lrT: number, b1: number, b2: number, eps: number, scale: number, nItems: number,
    U: number, MU: number, VU: number, V: number, MV: number, VV: number,
    slotOf: number, keyOf: number, G: number, ctl: number,
  ): void;
  jointForward(v: number, A: number, beta: number, K: number, d: number, invT: number, bhat: number): number;
  jointBackward(
    v: number, y: number, g: number, bhat: number, C: number, W: number, wC: number, K: number, d: number, invT: number,
    gC: number, gW: number, gwC: number, ds: number, z: number, q: number,
  ): void;
  adamDense(x: number, m: number, v: number, g: number, n: number, lrT: number, b1: number, b2: number, eps: number, scale: number): void;
  assignNearest(X: number, n: number, C: number, K: number, d: number, halfNorm: number, labels: number, best: number): number;
  groupTable(u: number, C: number, K: number, d: number, left: number, scores: number, cdf: number, guide: number): number;
  /** left[k]: cluster k's mass minus the user's positives pos[0..n) (0 when nothing drawable is left); removed, removedAlive: K-slot scratch. */
  groupLeft(
    pos: number, n: number, labels: number, f: number, mass: number, alive: number, K: number,
    left: number, removed: number, removedAlive: number,
  ): void;
  /** rows x L negatives (lnq rows `stride` floats apart) from a groupTable proposal; rng is a 4-word xoshiro128** state in memory. Returns candidates drawn. */
  clusterDraw(
    rng: number, rows: number, L: number, stride: number, total: number, K: number, cdf: number, guide: number, scores: number,
    ptr: number, entries: number, popular: number, lnf: number, mask: number, stamp: number, negs: number, lnq: number,
  ): number;
  scoreRows(u: number, M: number, n: number, d: number, out: number): void;
  /** Evaluation scores: users packed in pairs, items in groups of 16 (layouts in src/kernels/assembly). */
  scorePanels(users: number, nPairs: number, items: number, nGroups: number, d: number, out: number, stride: number): void;
  /** out[c] = max of the 64 floats of chunk c, NaN ignored. */
  chunkMax(scores: number, nChunks: number, out: number): void;
  /** i32 out[0] = entries < t, out[1] = entries == t, over 4 * nVec floats (NaN in neither). */
  countBelowEqual(scores: number, nVec: number, t: number, out: number): void;
}

/** Negatives rounded up to whole 4-lane vectors: the length of the lnq argument. */
export const paddedNegatives = (L: number): number => (L + 3) & ~3;

/** Float32 slots of the step kernels' scratch: xj, w, s, gj (padded L each), gu and g (d each), and the cosine kernels' 1/|v_j| (padded L). */
export const scratchFloats = (d: number, L: number): number => 5 * paddedNegatives(L) + 2 * d;

let module: WebAssembly.Module | undefined;
let instance: Kernels | undefined;

export function kernels(): Kernels {
  if (!instance) {
    module ??= new WebAssembly.Module(readFileSync(path.join(packageRoot(), 'dist', 'kernels.wasm')));
    const inst = new WebAssembly.Instance(module, { env: { memory: sharedMemory() } });
    instance = inst.exports as unknown as Kernels;
  }
  return instance;
}
