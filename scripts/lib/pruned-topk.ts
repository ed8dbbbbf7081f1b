/**
 * Exact top-K that skips whole clusters of items (the candidate measured in
 * docs/metrics.md against the plain scorer; not used by pris).
 *
 * Items are grouped by K-means cluster. For user u and cluster c with center
 * c and radius r_c (the farthest member's distance), every member x has
 * u·x <= u·c + ||u|| r_c (Cauchy-Schwarz), so once the user's K-th best
 * score so far is above that bound the cluster cannot change the list and
 * is not scored. Users go in pairs through the evaluation kernel
 * (scorePanels, 2 users x 16 items): a cluster is scored for both when
 * either needs it, the most promising clusters first.
 *
 * Exactness: members' scores are computed by the same kernel on the same
 * packed layout as the plain scorer, so they are the same float32 bits, and
 * the list follows TopK's order (higher score, then lower index). The bound
 * covers float32 rounding: the kernel's sum of d products is within
 * γ_d ||u|| ||x|| of the real dot product (γ_d = d 2^-24 / (1 - d 2^-24)),
 * and so is the float32 center score, so the bound adds
 * 2 γ_d ||u|| (2 ||c|| + r_c).
 */
import type { Csr } from '../../src/data/csr.js';
import { kmeans } from '../../src/cluster/kmeans.js';
import { kernels, type Kernels } from '../../src/kernels/wasm.js';
import { seedRng } from '../../src/kernels/rng.js';
import { sharedFloat32 } from '../../src/memory/shared.js';
import type { Model } from '../../src/model/store.js';
import { TopK } from '../../src/eval/topk.js';
import { CHUNK_ITEMS, GROUP_ITEMS } from '../../src/eval/score-wasm.js';

export interface ItemClusters {
  k: number;
  /** items in cluster order, groups of 16 (the scorePanels layout), each cluster padded to whole groups */
  packed: Float32Array;
  /** position in `packed` -> item index (-1 for padding) */
  itemAt: Int32Array;
  /** cluster c's groups: groupStart[c] .. groupStart[c + 1]; clusters by ||c|| + r_c, largest first */
  groupStart: Int32Array;
  /** centers packed as items (groups of 16) for scoring them with the same kernel */
  centersPacked: Float32Array;
  centerGroups: number;
  radius: Float64Array;
  centerNorm: Float64Array;
  /** seconds of K-means and packing */
  seconds: number;
}

/** Packs rows (row r of `src`, d floats, at (r >> 4) * 16d + 16k + (r & 15) of dst + base). */
function packRow(dst: Float32Array, pos: number, src: Float32Array, row: number, d: number): void {
  const at = (pos >> 4) * GROUP_ITEMS * d + (pos & 15);
  for (let q = 0; q < d; q++) dst[at + GROUP_ITEMS * q] = src[row * d + q]!;
}

/** K-means on the model's items (seeded), then the items packed cluster by cluster. */
export function clusterItems(model: Model, k: number, iterations: number, seed: number): ItemClusters {
  const t0 = performance.now();
  const { nItems: n, dim: d, item: X } = model;
  const km = kmeans(X, n, d, { k, iterations, rng: seedRng(seed, 0x9c) });
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
  // Clusters that can score highest for any user (||c|| + r_c bounds score / ||u||) go first: a
  // user's clusters to score then tend to sit next to each other, and are scored in one call.
  const rank = Array.from({ length: K }, (_, c) => c).sort((x, y) => rawNorm[y]! + rawRadius[y]! - (rawNorm[x]! + rawRadius[x]!));
  const slot = new Int32Array(K);
  rank.forEach((c, r) => (slot[c] = r));
  const groupStart = new Int32Array(K + 1);
  for (let r = 0; r < K; r++) groupStart[r + 1] = groupStart[r]! + Math.ceil(size[rank[r]!]! / GROUP_ITEMS);
  const nPos = groupStart[K]! * GROUP_ITEMS;
  const packed = sharedFloat32(nPos * d);
  const itemAt = new Int32Array(nPos).fill(-1);
  const fill = Int32Array.from({ length: K }, (_, r) => groupStart[r]! * GROUP_ITEMS);
  for (let i = 0; i < n; i++) {
    const pos = fill[slot[km.labels[i]!]!]!++;
    itemAt[pos] = i;
    packRow(packed, pos, X, i, d);
  }
  const centerGroups = Math.ceil(K / GROUP_ITEMS);
  const centersPacked = sharedFloat32(centerGroups * GROUP_ITEMS * d);
  const radius = new Float64Array(K);
  const centerNorm = new Float64Array(K);
  for (let r = 0; r < K; r++) {
    packRow(centersPacked, r, km.centers, rank[r]!, d);
    radius[r] = rawRadius[rank[r]!]!;
    centerNorm[r] = rawNorm[rank[r]!]!;
  }
  return { k: K, packed, itemAt, groupStart, centersPacked, centerGroups, radius, centerNorm, seconds: (performance.now() - t0) / 1000 };
}

/** What one pair of users cost: groups scored, of all the groups. */
export interface PruneStats {
  groupsScored: number;
  groupsTotal: number;
}

/**
 * Top-K of users against the clustered items, their items in `exclude`
 * left out; per user the list as TopK leaves it (items/scores best first).
 * Allocates its scratch once.
 */
export class PrunedTopK {
  private readonly k: Kernels = kernels();
  private readonly users: Float32Array;
  private readonly rows: Float32Array;
  private readonly maxima: Float32Array;
  private readonly centerScores: Float32Array;
  private readonly heaps: [TopK, TopK];
  private readonly excluded: Uint8Array;
  private readonly boundA: Float64Array;
  private readonly boundB: Float64Array;
  private readonly done: Uint8Array;
  /** the K-th best score so far of each user of the pair (-Infinity until a list is full) */
  private thrA = -Infinity;
  private thrB = -Infinity;
  readonly stats: PruneStats = { groupsScored: 0, groupsTotal: 0 };

  constructor(
    private readonly model: Model,
    private readonly c: ItemClusters,
    readonly topK: number,
  ) {
    const d = model.dim;
    this.users = sharedFloat32(2 * d);
    // A run may be every cluster.
    const widestRun = Math.ceil((c.groupStart[c.k]! * GROUP_ITEMS) / CHUNK_ITEMS) * CHUNK_ITEMS;
    this.rows = sharedFloat32(2 * widestRun);
    this.maxima = sharedFloat32((2 * widestRun) / CHUNK_ITEMS);
    this.centerScores = sharedFloat32(2 * c.centerGroups * GROUP_ITEMS);
    this.heaps = [new TopK(topK), new TopK(topK)];
    this.excluded = new Uint8Array(model.nItems);
    this.boundA = new Float64Array(c.k);
    this.boundB = new Float64Array(c.k);
    this.done = new Uint8Array(c.k);
  }

  /** Packs user x as row r of the pair; returns its norm. */
  private load(x: number, r: number, exclude: Csr[]): number {
    const d = this.model.dim;
    const user = this.model.user;
    let s = 0;
    for (let q = 0; q < d; q++) {
      const v = user[x * d + q]!;
      this.users[2 * q + r] = v;
      s += v * v;
    }
    for (const e of exclude) for (let p = e.indptr[x]!; p < e.indptr[x + 1]!; p++) this.excluded[e.indices[p]!]! |= 1 << r;
    return Math.sqrt(s);
  }

  private bounds(out: Float64Array, r: number, norm: number): void {
    const c = this.c;
    const cw = c.centerGroups * GROUP_ITEMS;
    const gamma = (this.model.dim * 2 ** -24) / (1 - this.model.dim * 2 ** -24);
    for (let q = 0; q < c.k; q++) {
      out[q] = this.centerScores[r * cw + q]! + norm * c.radius[q]! + 2 * gamma * norm * (2 * c.centerNorm[q]! + c.radius[q]!);
    }
  }

  /** The not yet scored cluster with the highest bound in `b` (-1 when none is left). */
  private bestLeft(b: Float64Array): number {
    let best = -1;
    let top = -Infinity;
    for (let q = 0; q < b.length; q++) {
      if (this.done[q] === 0 && b[q]! > top) (top = b[q]!), (best = q);
    }
    return best;
  }

  /**
   * Users a and b (b = -1: a alone beside a zero row); returns the list
   * lengths, the lists in heap(0) and heap(1) (TopK's items/scores, best first).
   */
  pair(a: number, b: number, exclude: Csr[]): [number, number] {
    const c = this.c;
    const two = b >= 0;
    this.users.fill(0);
    const normA = this.load(a, 0, exclude);
    const normB = two ? this.load(b, 1, exclude) : 0;
    this.k.scorePanels(this.users.byteOffset, 1, c.centersPacked.byteOffset, c.centerGroups, this.model.dim, this.centerScores.byteOffset, c.centerGroups * GROUP_ITEMS);
    this.bounds(this.boundA, 0, normA);
    if (two) this.bounds(this.boundB, 1, normB);
    else this.boundB.fill(-Infinity);
    this.heaps[0].begin();
    this.heaps[1].begin();
    this.thrA = -Infinity;
    this.thrB = two ? -Infinity : Infinity;
    this.done.fill(0);
    // Each user's most promising clusters first, until its list is full: a high threshold early skips the most.
    for (let q = this.bestLeft(this.boundA); this.thrA === -Infinity && q >= 0; q = this.bestLeft(this.boundA)) this.scoreRun(q, q + 1, two);
    for (let q = this.bestLeft(this.boundB); this.thrB === -Infinity && q >= 0; q = this.bestLeft(this.boundB)) this.scoreRun(q, q + 1, two);
    // The rest in packed order, runs of consecutive clusters to score in one call; thresholds
    // only rise, so a skipped cluster stays skipped.
    for (let q = 0; q < c.k; q++) {
      if (!this.needs(q)) continue;
      const first = q;
      while (q + 1 < c.k && this.needs(q + 1)) q++;
      this.scoreRun(first, q + 1, two);
    }
    this.stats.groupsTotal += c.groupStart[c.k]!;
    for (const e of exclude) {
      for (let p = e.indptr[a]!; p < e.indptr[a + 1]!; p++) this.excluded[e.indices[p]!] = 0;
      if (two) for (let p = e.indptr[b]!; p < e.indptr[b + 1]!; p++) this.excluded[e.indices[p]!] = 0;
    }
    return [this.heaps[0].finish(), two ? this.heaps[1].finish() : 0];
  }

  heap(r: 0 | 1): TopK {
    return this.heaps[r];
  }

  private needs(q: number): boolean {
    return this.done[q] === 0 && (this.boundA[q]! >= this.thrA || this.boundB[q]! >= this.thrB);
  }

  /** Scores clusters from .. to-1 (consecutive) for the pair and offers their members to the users' lists. */
  private scoreRun(from: number, to: number, two: boolean): void {
    const c = this.c;
    this.done.fill(1, from, to);
    const g0 = c.groupStart[from]!;
    const nG = c.groupStart[to]! - g0;
    // Rows padded to whole chunks of the maxima kernel, the padding NaN (never a maximum).
    const stride = Math.ceil((nG * GROUP_ITEMS) / CHUNK_ITEMS) * CHUNK_ITEMS;
    const d = this.model.dim;
    const rows = this.rows;
    this.k.scorePanels(this.users.byteOffset, 1, c.packed.byteOffset + g0 * GROUP_ITEMS * d * 4, nG, d, rows.byteOffset, stride);
    rows.fill(NaN, nG * GROUP_ITEMS, stride);
    rows.fill(NaN, stride + nG * GROUP_ITEMS, 2 * stride);
    this.k.chunkMax(rows.byteOffset, (2 * stride) / CHUNK_ITEMS, this.maxima.byteOffset);
    this.stats.groupsScored += nG;
    this.thrA = this.offer(this.heaps[0], 0, g0 * GROUP_ITEMS, stride, this.thrA);
    if (two) this.thrB = this.offer(this.heaps[1], 1, g0 * GROUP_ITEMS, stride, this.thrB);
  }

  /** Row r of the scored run into `heap`, chunks below the threshold unread; returns the new threshold. */
  private offer(heap: TopK, r: number, base: number, stride: number, t: number): number {
    const rows = this.rows;
    const itemAt = this.c.itemAt;
    const bit = 1 << r;
    const off = r * stride;
    const chunks = stride / CHUNK_ITEMS;
    for (let ch = 0; ch < chunks; ch++) {
      if (this.maxima[r * chunks + ch]! < t) continue;
      for (let p = ch * CHUNK_ITEMS; p < (ch + 1) * CHUNK_ITEMS; p++) {
        const s = rows[off + p]!;
        if (!(s >= t)) continue;
        const item = itemAt[base + p]!;
        if (item < 0 || (this.excluded[item]! & bit) !== 0) continue;
        t = heap.offerAny(s, item);
      }
    }
    return t;
  }
}
