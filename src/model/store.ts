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

/** Scales every row of the model to unit length (zero rows stay zero): the start of a ccl run, whose scores are cosines. */
export function unitRows(model: Model): void {
  const d = model.dim;
  for (const m of [model.user, model.item]) {
    for (let o = 0; o < m.length; o += d) {
      let q = 0;
      for (let c = 0; c < d; c++) q += m[o + c]! * m[o + c]!;
      if (q === 0) continue;
      const s = 1 / Math.sqrt(q);
      for (let c = 0; c < d; c++) m[o + c] = m[o + c]! * s;
    }
  }
}
