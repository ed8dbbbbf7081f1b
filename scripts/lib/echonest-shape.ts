/**
 * A training set of the full Echonest taste profile's shape, built in
 * memory for the throughput benchmarks (no import, no split): 1,019,318
 * users, 384,546 songs, about 28.5 M training positives (the 72% of 39.6 M
 * interactions a seeded 80/20 split with 10% validation keeps for
 * training). What matters for the memory system is reproduced; the taste
 * structure is not (no model quality is measured on it):
 *
 *   - song popularity is Zipf, p(rank) ∝ rank^-s over a seeded random
 *     ranking of the ids, so popular rows are scattered over the table as
 *     imported ids are; s = 0.6 gives the most popular song 0.23% of the
 *     interactions, the share of the real set's (110 K of 48.4 M);
 *   - every user has at least 10 songs before the split (7 in training),
 *     and the count per user is heavy-tailed (10 + a Lomax draw, shape 2,
 *     capped at 5,000, about the real maximum);
 *   - a user's songs are distinct.
 *
 * The same pairs go to a LightGCN-format text file (`user item item ...`
 * per line) for the C reference loop, which reads that format.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { nextFloat, seedRng } from '../../src/kernels/rng.js';
import { drawAliasSegment, fillAlias } from '../../src/samplers/alias.js';
import { emptyCsr, nnz, type Csr } from '../../src/data/csr.js';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { standaloneInt32 } from '../../src/memory/shared.js';
import { trackTemp, writeFileAtomic } from '../../src/util/atomic.js';
import { writeLightGcnLines } from '../../src/experiment/c-reference.js';

export interface ShapeSpec {
  users: number;
  items: number;
  /** training positives aimed at (the result is within a fraction of a percent) */
  positives: number;
  zipf: number;
  seed: number;
}

export const ECHONEST_SHAPE: ShapeSpec = { users: 1_019_318, items: 384_546, positives: 28_500_000, zipf: 0.6, seed: 1 };

const MIN_TOTAL = 10;
const MAX_TOTAL = 5000;
const TRAIN_SHARE = 0.72;
const LOMAX_SHAPE = 2;

/** Training positives per user: round(0.72 * total), total = 10 + Lomax(2, scale), scale set so the sum hits the aim. */
function userDegrees(spec: ShapeSpec): Int32Array {
  const rng = seedRng(spec.seed, 1);
  const unit = new Float64Array(spec.users);
  // Lomax with scale 1: (1 - U)^(-1/a) - 1; scaled afterwards.
  for (let u = 0; u < spec.users; u++) unit[u] = Math.pow(1 - nextFloat(rng), -1 / LOMAX_SHAPE) - 1;
  const degrees = new Int32Array(spec.users);
  const sumFor = (scale: number): number => {
    let s = 0;
    for (let u = 0; u < spec.users; u++) {
      degrees[u] = Math.round(TRAIN_SHARE * Math.min(MAX_TOTAL, MIN_TOTAL + Math.floor(scale * unit[u]!)));
      s += degrees[u]!;
    }
    return s;
  };
  // The sum grows with the scale: bisect it.
  let lo = 0;
  let hi = 1000;
  for (let it = 0; it < 50; it++) {
    const mid = (lo + hi) / 2;
    if (sumFor(mid) < spec.positives) lo = mid;
    else hi = mid;
  }
  sumFor(hi);
  return degrees;
}

/** The training CSR (in standalone shared buffers, as loaded splits are): distinct Zipf-popular items per user, sorted. */
export function shapeCsr(spec: ShapeSpec): Csr {
  const deg = userDegrees(spec);
  const rng = seedRng(spec.seed, 2);
  // rank -> item id: a seeded shuffle, so popularity is not ordered by id.
  const itemOfRank = Int32Array.from({ length: spec.items }, (_, k) => k);
  for (let k = spec.items - 1; k > 0; k--) {
    const j = Math.floor(nextFloat(rng) * (k + 1));
    const t = itemOfRank[k]!;
    itemOfRank[k] = itemOfRank[j]!;
    itemOfRank[j] = t;
  }
  const n = spec.items;
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  fillAlias(Float64Array.from({ length: n }, (_, r) => Math.pow(r + 1, -spec.zipf)), 0, n, prob, alias, new Float64Array(n), new Int32Array(n), new Int32Array(n));
  const indptr = standaloneInt32(spec.users + 1);
  for (let u = 0; u < spec.users; u++) indptr[u + 1] = indptr[u]! + deg[u]!;
  const indices = standaloneInt32(indptr[spec.users]!);
  const mark = new Int32Array(spec.items).fill(-1);
  for (let u = 0; u < spec.users; u++) {
    const p0 = indptr[u]!;
    const p1 = indptr[u + 1]!;
    for (let p = p0; p < p1; p++) {
      let j: number;
      do j = itemOfRank[drawAliasSegment(prob, alias, 0, n, rng)]!;
      while (mark[j] === u);
      mark[j] = u;
      indices[p] = j;
    }
    indices.subarray(p0, p1).sort();
  }
  return { nUsers: spec.users, nItems: spec.items, indptr, indices };
}

/** The CSR as a dataset with empty validation and test splits, for startSession. */
export function shapeDataset(spec: ShapeSpec, train: Csr, label: string): LoadedDataset {
  return {
    dir: label,
    meta: {
      kind: 'pris-dataset',
      version: 1,
      source: { format: 'synthetic', inputs: [] },
      filters: {},
      users: spec.users,
      items: spec.items,
      interactions: nnz(train),
      hasWeight: false,
      hasTimestamp: false,
      predefinedSplit: false,
      dropped: {},
    },
    nUsers: spec.users,
    nItems: spec.items,
    train,
    valid: emptyCsr(spec.users, spec.items),
    test: emptyCsr(spec.users, spec.items),
  };
}

/** FNV-1a over the CSR's words: names the pairs a text file holds. */
function csrChecksum(c: Csr): string {
  let x = 0x811c9dc5;
  for (const a of [c.indptr, c.indices]) for (let q = 0; q < a.length; q++) x = Math.imul(x ^ a[q]!, 0x01000193);
  return (x >>> 0).toString(16).padStart(8, '0');
}

/**
 * The CSR's pairs as a LightGCN text file in `dir` (for the C reference),
 * written unless the file there already holds exactly these pairs (its
 * sidecar `.json`, written after it, names them). Returns the path.
 */
export async function writeLightGcn(c: Csr, dir: string, name: string): Promise<string> {
  const file = path.join(dir, `${name}.txt`);
  const side = `${file}.json`;
  const stamp = JSON.stringify({ writer: 'pris bench', users: c.nUsers, items: c.nItems, positives: nnz(c), checksum: csrChecksum(c) });
  if (existsSync(file) && existsSync(side) && readFileSync(side, 'utf8') === stamp) return file;
  if (existsSync(file) && !existsSync(side)) throw new Error(`${file} exists and was not written by this benchmark; remove it or choose another --work-dir`);
  const tmp = `${file}.${process.pid}.tmp`;
  const untrack = trackTemp(tmp);
  try {
    writeLightGcnLines(c, tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    untrack();
  }
  await writeFileAtomic(side, stamp);
  return file;
}
