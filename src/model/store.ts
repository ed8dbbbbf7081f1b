import { sharedFloat32 } from '../memory/shared.js';
import { nextGaussian, seedRng } from '../kernels/rng.js';

/**
 * The model: user and item embeddings, row-major float32 in shared memory.
 * The score of (u, i) is the inner product of row u of `user` and row i of `item`.
 */
export interface Model {
  nUsers: number;
  nItems: number;
  dim: number;
  user: Float32Array;
  item: Float32Array;
}

export type InitKind = 'glorot' | 'normal';

export interface InitOptions {
  kind: InitKind;
  /** Standard deviation for `normal`; ignored by `glorot`. */
  std?: number;
  seed: number;
}

/**
 * Glorot (Xavier) normal as Keras initialises an Embedding table of shape
 * (rows, dim): std = sqrt(2 / (rows + dim)), truncated at two standard
 * deviations (values beyond are redrawn), which is what the authors use.
 */
export function initStd(rows: number, dim: number, init: InitOptions): number {
  if (init.kind === 'normal') return init.std ?? 0.01;
  return Math.sqrt(2 / (rows + dim));
}

function fillTruncatedNormal(a: Float32Array, std: number, seedParts: number[]): void {
  const rng = seedRng(...seedParts);
  for (let k = 0; k < a.length; k++) {
    let z = nextGaussian(rng);
    while (z > 2 || z < -2) z = nextGaussian(rng);
    a[k] = z * std;
  }
}

export function createModel(nUsers: number, nItems: number, dim: number, init: InitOptions): Model {
  const user = sharedFloat32(nUsers * dim);
  const item = sharedFloat32(nItems * dim);
  fillTruncatedNormal(user, initStd(nUsers, dim, init), [init.seed, 1]);
  fillTruncatedNormal(item, initStd(nItems, dim, init), [init.seed, 2]);
  return { nUsers, nItems, dim, user, item };
}

/** A model over existing arrays (loaded from disk, or a popularity scorer). */
export function wrapModel(nUsers: number, nItems: number, dim: number, user: Float32Array, item: Float32Array): Model {
  if (user.length !== nUsers * dim || item.length !== nItems * dim) {
    throw new RangeError(`model arrays do not match ${nUsers}/${nItems} x ${dim}`);
  }
  return { nUsers, nItems, dim, user, item };
}

/** Scales every row of a (rows x dim) matrix to unit length (zero rows stay zero): dot products become cosines. */
export function normalizeRows(a: Float32Array, dim: number): void {
  for (let o = 0; o < a.length; o += dim) {
    let ss = 0;
    for (let x = 0; x < dim; x++) ss += a[o + x]! * a[o + x]!;
    if (ss === 0) continue;
    const inv = 1 / Math.sqrt(ss);
    for (let x = 0; x < dim; x++) a[o + x] = a[o + x]! * inv;
  }
}

/** The model's rows as unit vectors, in place (cosine-trained models rank by direction). */
export function normalizeModel(m: Model): void {
  normalizeRows(m.user, m.dim);
  normalizeRows(m.item, m.dim);
}
