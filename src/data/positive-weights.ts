import { UserError } from '../errors.js';
import { sharedFloat32 } from '../memory/shared.js';
import type { Csr } from './csr.js';
import { readMeta, splitPath, type SplitName } from './dataset.js';
import { readInteractions } from './interactions.js';

/**
 * How a training positive's weight column (play count, rating) becomes the
 * weight of its sample: none (every positive 1), g(c) = log(1 + c), sqrt(c) or c,
 * normalised to mean 1 over each user's positives, so a user's share of the
 * training signal stays the same and only moves towards the items the user
 * played (or rated) most.
 */
export const POSITIVE_WEIGHTS = ['none', 'log1p', 'sqrt', 'count'] as const;
export type PositiveWeighting = (typeof POSITIVE_WEIGHTS)[number];

function transform(fn: Exclude<PositiveWeighting, 'none'>, c: number): number {
  const x = Math.max(0, c);
  return fn === 'log1p' ? Math.log1p(x) : fn === 'sqrt' ? Math.sqrt(x) : x;
}

/** Position of item `item` in CSR row `u` (sorted), or -1. */
function positionOf(c: Csr, u: number, item: number): number {
  let lo = c.indptr[u]!;
  let hi = c.indptr[u + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = c.indices[mid]!;
    if (v === item) return mid;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * One weight per entry of `train.indices` (shared memory, for the SGD
 * workers), from the weight column of the split files that make up `train`
 * (train, or train and valid for a refit). A user whose positives all have
 * g = 0 keeps weight 1 on each.
 */
export function positiveWeights(dir: string, train: Csr, parts: readonly SplitName[], fn: Exclude<PositiveWeighting, 'none'>): Float32Array {
  const meta = readMeta(dir);
  if (!meta.hasWeight) {
    throw new UserError(`--positive-weights ${fn}: ${dir} has no weight column (import a format with counts or ratings, or csv --weight-col)`);
  }
  const w = sharedFloat32(train.indices.length);
  for (const part of parts) {
    const file = splitPath(dir, part);
    const x = readInteractions(file, { nUsers: meta.users, nItems: meta.items });
    if (!x.weight) throw new UserError(`${file}: no weight column, though meta.json says the dataset has one; rerun 'pris data split'`);
    for (let r = 0; r < x.user.length; r++) {
      const p = positionOf(train, x.user[r]!, x.item[r]!);
      if (p >= 0) w[p] = transform(fn, x.weight[r]!);
    }
  }
  for (let u = 0; u < train.nUsers; u++) {
    const a = train.indptr[u]!;
    const b = train.indptr[u + 1]!;
    let sum = 0;
    for (let k = a; k < b; k++) sum += w[k]!;
    const scale = sum > 0 ? (b - a) / sum : 0;
    for (let k = a; k < b; k++) w[k] = scale > 0 ? w[k]! * scale : 1;
  }
  return w;
}
