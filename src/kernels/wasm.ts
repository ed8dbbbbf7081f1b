import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../paths.js';
import { sharedMemory } from '../memory/shared.js';

/**
 * The compiled kernels (src/kernels/assembly → dist/kernels.wasm), one instance
 * per thread and arena (src/memory/shared.ts). Pointers are byte offsets into
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
    ptr: number, entries: number, popular: number, lnf: number, bits: number, negs: number, lnq: number,
  ): number;
  /** rows x L negatives over every item (uniform: entries 0; else the packed popularity alias entries), positives rejected by the bitset. Returns candidates drawn. */
  itemDraw(rng: number, rows: number, L: number, stride: number, n: number, entries: number, bits: number, negs: number, lnq: number): number;
  /** trainStep for each of a user's `rows` positives (pos[r], negatives negs[r*L ..), lnq[r*stride ..)), touching the rows of step r + ahead first. Returns the summed loss. */
  trainRows(
    opt: number, loss: number, d: number, L: number, lr: number, reg: number,
    u: number, uAcc: number, V: number, VAcc: number, pos: number, rows: number, negs: number, lnq: number, stride: number, scratch: number, ahead: number,
  ): number;
  /** SimpleX's cosine contrastive loss for `rows` positives of one user on unit rows (src/kernels/codes.ts), sgd or adagrad-row (uAcc, VAcc: one float per row); scratch: padded L + d floats. Returns the summed loss. */
  cclRows(
    opt: number, d: number, L: number, lr: number, margin: number, negWeight: number,
    u: number, uAcc: number, V: number, VAcc: number, pos: number, rows: number, negs: number, scratch: number,
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

/** Float32 slots of the step kernels' scratch: xj, w, s, gj (padded L each), gu (d), g ((L + 1) d), ss (padded L + 2). */
export const scratchFloats = (d: number, L: number): number => 4 * paddedNegatives(L) + (L + 2) * d + paddedNegatives(L + 2);

let module: WebAssembly.Module | undefined;
/** One kernel instance per arena this thread uses (a worker has one; the main thread may hold several models). */
const instances = new WeakMap<WebAssembly.Memory, Kernels>();

/** The kernels over `memory` (this thread's current arena by default). */
export function kernels(memory: WebAssembly.Memory = sharedMemory()): Kernels {
  let k = instances.get(memory);
  if (!k) {
    module ??= new WebAssembly.Module(readFileSync(path.join(packageRoot(), 'dist', 'kernels.wasm')));
    k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
    instances.set(memory, k);
  }
  return k;
}
