import { createKMeansWorkspace, kmeans, type KMeansWorkspace } from '../cluster/kmeans.js';
import { seedRng } from '../kernels/rng.js';
import { sharedFloat32, sharedFloat64, sharedInt32, withArena } from '../memory/shared.js';
import type { Model } from '../model/store.js';
import { GROUP_ITEMS, grown } from './score-wasm.js';

/**
 * The item table grouped by K-means cluster, for the exact top-K that skips
 * clusters (pruned-topk.ts): built once per evaluation by the coordinator in
 * the model's arena, handed to every block task (shared memory: the task
 * carries views, not copies).
 */
export interface ItemClusters {
  k: number;
  d: number;
  nItems: number;
  /** items in cluster order, groups of 16 (the scorePanels layout), each cluster padded to whole groups with zero rows */
  packed: Float32Array;
  /** position in `packed` -> item index (-1 for padding) */
  itemAt: Int32Array;
  /** cluster c's groups are groupStart[c] .. groupStart[c + 1]; clusters ordered by ||center|| + radius, largest first */
  groupStart: Int32Array;
  /** the centers packed as items (groups of 16), scored by the same kernel */
  centersPacked: Float32Array;
  centerGroups: number;
  /** the farthest member's distance from the center, and the center's norm */
  radius: Float64Array;
  centerNorm: Float64Array;
}

/**
 * When skipping clusters pays, measured by scripts/bench-pruned.ts and
 * scripts/bench-eval.ts (docs/metrics.md): not on gowalla's 41 K items
 * (0.8x to 1.6x the plain time), 8 to 14 times faster per user on the
 * Echonest shape's 385 K. Below this many items: never.
 */
export const PRUNE_MIN_ITEMS = 100_000;
/** Lloyd iterations: the clustering's quality only changes how much is skipped, never the result. */
export const PRUNE_ITERATIONS = 4;
/**
 * The clustering costs about (iterations + 1) x clusters passes of a user's
 * kind over the items, in one thread, while a user saves nine tenths of
 * its pass: on the Echonest shape K-means took 18 s and saved 2.1 ms per
 * user at 2 threads, even at 7 users per cluster; 10 leaves a margin.
 */
export const PRUNE_USERS_PER_CLUSTER = 10;

/**
 * Clusters for an evaluation of `users` users over `nItems` items, or 0 for
 * the plain scorer. AUC needs every score, so it never prunes.
 */
export function pruneClusterCount(nItems: number, users: number, auc: boolean): number {
  if (auc || nItems < PRUNE_MIN_ITEMS) return 0;
  const k = Math.round(2 * Math.sqrt(nItems));
  return users >= PRUNE_USERS_PER_CLUSTER * k ? k : 0;
}

/** Packs row `row` of `src` (d floats) at position `pos` of the groups-of-16 layout. */
function packRow(dst: Float32Array, pos: number, src: Float32Array, row: number, d: number): void {
  const at = (pos >> 4) * GROUP_ITEMS * d + (pos & 15);
  for (let q = 0; q < d; q++) dst[at + GROUP_ITEMS * q] = src[row * d + q]!;
}

/** The coordinator's buffers, per arena and cluster count: reused by every evaluation (the arena never frees). */
const reuse = new WeakMap<WebAssembly.Memory, Map<number, { clusters: ItemClusters; ws: KMeansWorkspace }>>();

/**
 * K-means (seeded, k-means++ and `iterations` Lloyd steps) on the model's
 * items, then the items packed cluster by cluster, in `arena` (the model's:
 * the kernels read both). The previous result for this arena and count is
 * overwritten: one evaluation at a time per model.
 */
export function buildItemClusters(model: Model, arena: WebAssembly.Memory, k: number, iterations = PRUNE_ITERATIONS, seed = 1): ItemClusters {
  return withArena(arena, () => build(model, arena, k, iterations, seed));
}

function build(model: Model, arena: WebAssembly.Memory, k: number, iterations: number, seed: number): ItemClusters {
  const { nItems: n, dim: d, item: X } = model;
  const mine = reuse.get(arena) ?? new Map<number, { clusters: ItemClusters; ws: KMeansWorkspace }>();
  reuse.set(arena, mine);
  const last = mine.get(k);
  const sameShape = last && last.ws.n === n && last.ws.d === d && last.ws.k === Math.min(k, n);
  const ws = sameShape ? last.ws : createKMeansWorkspace(n, d, k);
  const km = kmeans(X, n, d, { k, iterations, rng: seedRng(seed, 0x9c) }, ws);
  const K = km.centers.length / d;
  const size = new Int32Array(K);
  const rawRadius = new Float64Array(K);
  const rawNorm = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const c = km.labels[i]!;
    size[c]!++;
    let s = 0;
    for (let q = 0; q < d; q++) s += (X[i * d + q]! - km.centers[c * d + q]!) ** 2;
    rawRadius[c] = Math.max(rawRadius[c]!, Math.sqrt(s));
  }
  for (let c = 0; c < K; c++) {
    let s = 0;
    for (let q = 0; q < d; q++) s += km.centers[c * d + q]! ** 2;
    rawNorm[c] = Math.sqrt(s);
  }
  // Clusters that can score highest for some user (a score is at most ||u|| (||c|| + r_c)) go
  // first: the clusters a user has to score then tend to sit together, one kernel call for a run.
  const rank = Array.from({ length: K }, (_, c) => c).sort((x, y) => rawNorm[y]! + rawRadius[y]! - (rawNorm[x]! + rawRadius[x]!));
  const slot = new Int32Array(K);
  rank.forEach((c, r) => (slot[c] = r));
  let nGroups = 0;
  for (let r = 0; r < K; r++) nGroups += Math.ceil(size[rank[r]!]! / GROUP_ITEMS);
  const nPos = nGroups * GROUP_ITEMS;
  const centerGroups = Math.ceil(K / GROUP_ITEMS);
  const prev: Partial<ItemClusters> = last?.clusters ?? {};
  const out: ItemClusters = {
    k: K,
    d,
    nItems: n,
    packed: grown(prev.packed, nPos * d, sharedFloat32),
    itemAt: grown(prev.itemAt, nPos, sharedInt32),
    groupStart: grown(prev.groupStart, K + 1, sharedInt32),
    centersPacked: grown(prev.centersPacked, centerGroups * GROUP_ITEMS * d, sharedFloat32),
    centerGroups,
    radius: grown(prev.radius, K, sharedFloat64),
    centerNorm: grown(prev.centerNorm, K, sharedFloat64),
  };
  mine.set(k, { clusters: out, ws });
  const { packed, itemAt, groupStart, centersPacked } = out;
  packed.fill(0, 0, nPos * d);
  itemAt.fill(-1, 0, nPos);
  centersPacked.fill(0, 0, centerGroups * GROUP_ITEMS * d);
  groupStart[0] = 0;
  for (let r = 0; r < K; r++) groupStart[r + 1] = groupStart[r]! + Math.ceil(size[rank[r]!]! / GROUP_ITEMS);
  const fill = Int32Array.from({ length: K }, (_, r) => groupStart[r]! * GROUP_ITEMS);
  for (let i = 0; i < n; i++) {
    const pos = fill[slot[km.labels[i]!]!]!++;
    itemAt[pos] = i;
    packRow(packed, pos, X, i, d);
  }
  for (let r = 0; r < K; r++) {
    packRow(centersPacked, r, km.centers, rank[r]!, d);
    out.radius[r] = rawRadius[rank[r]!]!;
    out.centerNorm[r] = rawNorm[rank[r]!]!;
  }
  return out;
}
