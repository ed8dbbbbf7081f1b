import { readFileSync } from 'node:fs';
import os from 'node:os';
import { UserError } from '../errors.js';
import { MAX_ARENA_BYTES } from '../memory/shared.js';
import { isClusterSampler, isJointSampler, usesPopularity } from '../samplers/index.js';
import type { RunConfig } from './options.js';

/**
 * What a run will need, computed from the data's shape and the options
 * before anything is allocated, so a run that cannot fit is refused in a
 * second with the figures instead of aborting V8 minutes in.
 */
export interface DataShape {
  nUsers: number;
  nItems: number;
  /** interactions of each split (train is what SGD walks) */
  train: number;
  valid: number;
  test: number;
  /** the largest number of training items of one user */
  maxUserItems: number;
}

export interface ResourcePlan {
  /** bytes in the run's arena (the kernels' memory: at most 4 GiB), by part */
  arena: Record<string, number>;
  /** bytes outside it (CSR splits, fallback copies of the embeddings), by part */
  heap: Record<string, number>;
  arenaBytes: number;
  totalBytes: number;
}

const F32 = 4;

export function planResources(s: DataShape, c: RunConfig): ResourcePlan {
  const rows = s.nUsers + s.nItems;
  const d = c.dim;
  const threads = c.threads;
  const accWidth = c.optimizer === 'sgd' ? 0 : c.optimizer === 'adagrad-row' ? 1 : d;
  const arena: Record<string, number> = {
    embeddings: rows * d * F32,
    optimizer_state: rows * accWidth * F32 + (c.optimizer === 'adam' ? rows * d * F32 : 0),
    shards: s.nUsers * 4,
  };
  // f (float64), ln f (float32) and the packed alias entries (16 bytes).
  if (usesPopularity(c.sampler)) arena.popularity_tables = s.nItems * 28;
  if (isClusterSampler(c.sampler)) {
    const k = Math.min(c.clusters, s.nItems);
    // Two published halves (centers, labels, members, packed draw entries), and the clustering
    // worker's snapshot of the item table and K-means workspace.
    arena.cluster_tables = 2 * (k * d * F32 + s.nItems * 24 + k * 24);
    arena.clustering_worker = s.nItems * d * F32 + s.nItems * 20 + k * d * F32;
    if (isJointSampler(c.sampler)) arena.joint_clustering = 4 * (d * d + d + k * d) * F32;
  }
  // Per SGD thread: the user's positives, the samplers' positive bitsets (a cluster sampler's and
  // its base sampler's) or the exact sampler's marks and scores, adam's batch.
  const perThread =
    s.maxUserItems * 4 +
    (c.sampler === 'exact' ? s.nItems * (4 + F32) : Math.ceil(s.nItems / 32) * 4 * (isClusterSampler(c.sampler) ? 2 : 1)) +
    (c.optimizer === 'adam' ? rows * 4 + c.batchSize * (c.negatives + 2) * (d * F32 + 4) : 0);
  arena.sgd_threads = threads * perThread;
  // Evaluation: the item table packed once for every thread, and a second copy in cluster order
  // when top-K skips clusters (src/eval/item-clusters.ts); per thread a block of scores (<= 4 MB).
  arena.evaluation = 2 * Math.ceil(s.nItems / 64) * 64 * d * F32 + threads * 4 * 2 ** 20;
  const heap: Record<string, number> = {
    splits: 3 * (s.nUsers + 1) * 4 + (s.train + s.valid + s.test) * 4,
    // The best validated state and the last good epoch, for early stopping and divergence.
    fallback_copies: 2 * rows * d * F32,
    // A train+valid union built for a refit.
    ...(c.trainOn === 'train+valid' ? { refit_union: (s.nUsers + 1) * 4 + (s.train + s.valid) * 4 } : {}),
    // --history-weight auto blends each weight it tries from a copy of the trained user rows.
    ...(c.historyWeight === 'auto' ? { history_weight_auto: s.nUsers * d * F32 } : {}),
  };
  const arenaBytes = Object.values(arena).reduce((a, b) => a + b, 0);
  const totalBytes = arenaBytes + Object.values(heap).reduce((a, b) => a + b, 0);
  return { arena, heap, arenaBytes, totalBytes };
}

/** Memory the system can give this process now: MemAvailable where Linux reports it, else free memory. */
export function availableMemory(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return os.freemem();
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

function largestParts(parts: Record<string, number>, n = 3): string {
  return Object.entries(parts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${gib(v)}`)
    .join(', ');
}

/**
 * Options that only make sense against the data: refused before anything
 * is allocated, each naming the flag, the value and the data's figure.
 */
export function checkAgainstData(s: DataShape, c: RunConfig): void {
  if (s.train === 0) throw new UserError('the training split is empty: nothing to train');
  if (c.negatives >= s.nItems) {
    throw new UserError(`--negatives ${c.negatives} is not below the ${s.nItems} items of the dataset: a user needs non-positive items to contrast; use fewer negatives`);
  }
  if (isClusterSampler(c.sampler) && c.clusters > s.nItems) {
    throw new UserError(`--clusters ${c.clusters} is more than the ${s.nItems} items of the dataset; use --clusters ${Math.max(1, Math.floor(s.nItems / 10))} or fewer`);
  }
  if (c.sampler === 'exact' && c.exactMaskTop >= s.nItems - 1) {
    throw new UserError(`--exact-mask-top ${c.exactMaskTop} would mask every item of the ${s.nItems} items: no negative could be drawn; use a small number (the authors' guard is a handful)`);
  }
}

/** Refuses a run whose memory cannot fit, with the figures and what to lower. */
export function checkResources(p: ResourcePlan, c: RunConfig, available = availableMemory()): void {
  if (p.arenaBytes > MAX_ARENA_BYTES * 0.98) {
    throw new UserError(
      `this run needs ${gib(p.arenaBytes)} of shared memory, more than the 4 GiB a WebAssembly memory can hold ` +
        `(largest: ${largestParts(p.arena)}); lower --dim (${c.dim}), --threads (${c.threads})` +
        `${c.optimizer === 'adagrad' || c.optimizer === 'adam' ? ` or use --optimizer adagrad-row (${c.optimizer} keeps ${c.optimizer === 'adam' ? 'two floats' : 'a float'} per parameter)` : ''}, or train on a smaller dataset`,
    );
  }
  if (p.totalBytes > available) {
    throw new UserError(
      `this run needs about ${gib(p.totalBytes)} of memory but only ${gib(available)} is available ` +
        `(largest: ${largestParts({ ...p.arena, ...p.heap })}); lower --dim (${c.dim}) or --threads (${c.threads}), or free memory`,
    );
  }
}
