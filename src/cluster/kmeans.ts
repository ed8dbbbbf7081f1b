import { kernels } from '../kernels/wasm.js';
import { nextFloat, nextInt, type RngState } from '../kernels/rng.js';
import { sharedFloat32, sharedInt32 } from '../memory/shared.js';

/**
 * K-means on the rows of a matrix (item embeddings): k-means++ seeding or a
 * warm start from given centers, then Lloyd iterations; a cluster left empty
 * is reseeded with the row farthest from its center. Dot products go through
 * the WebAssembly kernels, so X must live in shared memory; pass a workspace
 * to reuse its buffers across calls.
 */
/**
 * Shared-memory buffers for one problem size, allocated once and reused by
 * every refresh (the shared memory is never freed).
 */
export interface KMeansWorkspace {
  n: number;
  d: number;
  k: number;
  centers: Float32Array;
  labels: Int32Array;
  best: Float32Array;
  halfNorm: Float32Array;
  dots: Float32Array;
}

export function createKMeansWorkspace(n: number, d: number, k: number): KMeansWorkspace {
  k = Math.min(k, n);
  return {
    n,
    d,
    k,
    centers: sharedFloat32(k * d),
    labels: sharedInt32(n),
    best: sharedFloat32(n),
    halfNorm: sharedFloat32(k),
    dots: sharedFloat32(n),
  };
}

export interface KMeansOptions {
  k: number;
  /** Lloyd iterations at most (stops earlier when no label changes). */
  iterations: number;
  rng: RngState;
  /** Start from these centers (k x d) instead of k-means++. */
  init?: Float32Array;
}

export interface KMeansResult {
  centers: Float32Array;
  labels: Int32Array;
  iterations: number;
  reseeded: number;
  /** sum of squared distances of rows to their centers */
  inertia: number;
}

/** Squared norms of n rows of width d. */
function rowNorms(X: Float32Array, n: number, d: number, out: Float64Array): void {
  for (let r = 0; r < n; r++) {
    let s = 0;
    const o = r * d;
    for (let c = 0; c < d; c++) s += X[o + c]! * X[o + c]!;
    out[r] = s;
  }
}

/** k-means++: each next center drawn with probability proportional to the squared distance to the nearest chosen one. */
function seedPlusPlus(X: Float32Array, n: number, d: number, k: number, rng: RngState, xNorm: Float64Array, centers: Float32Array, dots: Float32Array): void {
  const kern = kernels();
  const dist = new Float64Array(n).fill(Infinity);
  let pick = nextInt(rng, n);
  for (let c = 0; c < k; c++) {
    centers.set(X.subarray(pick * d, pick * d + d), c * d);
    kern.scoreRows(centers.byteOffset + c * d * 4, X.byteOffset, n, d, dots.byteOffset);
    const cNorm = xNorm[pick]!;
    let total = 0;
    for (let r = 0; r < n; r++) {
      const dd = Math.max(0, xNorm[r]! - 2 * dots[r]! + cNorm);
      if (dd < dist[r]!) dist[r] = dd;
      total += dist[r]!;
    }
    if (c + 1 === k) break;
    if (!(total > 0)) {
      pick = nextInt(rng, n); // every row already coincides with a center
      continue;
    }
    let target = nextFloat(rng) * total;
    pick = n - 1;
    for (let r = 0; r < n; r++) {
      target -= dist[r]!;
      if (target < 0) {
        pick = r;
        break;
      }
    }
  }
}

export function kmeans(X: Float32Array, n: number, d: number, opts: KMeansOptions, ws = createKMeansWorkspace(n, d, opts.k)): KMeansResult {
  const k = Math.min(opts.k, n);
  if (ws.n !== n || ws.d !== d || ws.k !== k) throw new Error('kmeans: workspace of another size');
  const kern = kernels();
  const xNorm = new Float64Array(n);
  rowNorms(X, n, d, xNorm);
  const { centers, labels, best, halfNorm } = ws;
  if (opts.init) centers.set(opts.init.subarray(0, k * d));
  else seedPlusPlus(X, n, d, k, opts.rng, xNorm, centers, ws.dots);

  labels.fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  const dist = new Float64Array(n);
  let iterations = 0;
  let reseeded = 0;
  let inertia = 0;
  for (let it = 0; it < Math.max(1, opts.iterations); it++) {
    iterations++;
    // Assign: argmax_c (x . c - |c|^2 / 2) is argmin_c |x - c|^2.
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += centers[c * d + q]! * centers[c * d + q]!;
      halfNorm[c] = s / 2;
    }
    let changed = kern.assignNearest(X.byteOffset, n, centers.byteOffset, k, d, halfNorm.byteOffset, labels.byteOffset, best.byteOffset);
    inertia = 0;
    for (let r = 0; r < n; r++) {
      dist[r] = Math.max(0, xNorm[r]! - 2 * best[r]!);
      inertia += dist[r]!;
    }
    // Update: means of the members; an empty cluster takes the row farthest from its center.
    sums.fill(0);
    counts.fill(0);
    for (let r = 0; r < n; r++) {
      const c = labels[r]!;
      counts[c]!++;
      const o = r * d;
      const so = c * d;
      for (let q = 0; q < d; q++) sums[so + q]! += X[o + q]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        let far = 0;
        for (let r = 1; r < n; r++) if (dist[r]! > dist[far]!) far = r;
        centers.set(X.subarray(far * d, far * d + d), c * d);
        dist[far] = 0;
        reseeded++;
        changed++;
        continue;
      }
      const inv = 1 / counts[c]!;
      for (let q = 0; q < d; q++) centers[c * d + q] = sums[c * d + q]! * inv;
    }
    if (changed === 0) break;
  }
  return { centers: Float32Array.from(centers), labels: Int32Array.from(labels), iterations, reseeded, inertia };
}
