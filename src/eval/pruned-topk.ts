/**
 * Exact top-K that skips whole clusters of items.
 *
 * Items are grouped by K-means cluster (item-clusters.ts). For user u and
 * cluster c with center c and radius r_c (the farthest member's distance),
 * every member x has u·x <= u·c + ||u|| r_c (Cauchy-Schwarz), so once the
 * user's K-th best score so far is above that bound the cluster cannot change
 * the list and is not scored. Users go in pairs through the evaluation
 * kernel (scorePanels, 2 users x 16 items): a cluster is scored for both when
 * either needs it; each user's most promising clusters first, so the K-th
 * score is high early; then runs of consecutive clusters in one call.
 *
 * Exactness: members' scores are computed by the same kernel on the same
 * packed layout as the plain scorer, so they are the same float32 bits, and
 * the list follows TopK's order (higher score, then lower index). The bound
 * covers float32 rounding: the kernel's sum of d products is within
 * γ_d ||u|| ||x|| of the real dot product (γ_d = d 2^-24 / (1 - d 2^-24)),
 * and so is the float32 center score, so the bound adds
 * 2 γ_d ||u|| (2 ||c|| + r_c).
 */
import type { Csr } from '../data/csr.js';
import { kernels, type Kernels } from '../kernels/wasm.js';
import { sharedFloat32 } from '../memory/shared.js';
import type { Model } from '../model/store.js';
import type { ItemClusters } from './item-clusters.js';
import { CHUNK_ITEMS, GROUP_ITEMS, grown } from './score-wasm.js';
import { TopK } from './topk.js';

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
  private users = sharedFloat32(0);
  private rows = sharedFloat32(0);
  private maxima = sharedFloat32(0);
  private centerScores = sharedFloat32(0);
  private heaps: [TopK, TopK] = [new TopK(1), new TopK(1)];
  private excluded = new Uint8Array(0);
  private boundA = new Float64Array(0);
  private boundB = new Float64Array(0);
  private done = new Uint8Array(0);
  private model: Model | undefined;
  private c: ItemClusters | undefined;
  /** the K-th best score so far of each user of the pair (-Infinity until a list is full) */
  private thrA = -Infinity;
  private thrB = -Infinity;
  readonly stats: PruneStats = { groupsScored: 0, groupsTotal: 0 };

  /**
   * Takes a model, its clusters and the list length; scratch is kept across
   * calls and grown when a model is larger than any before (the arena never frees).
   */
  load(model: Model, c: ItemClusters, topK: number): void {
    this.model = model;
    this.c = c;
    const d = model.dim;
    // A run may be every cluster: rows padded to whole chunks of the maxima kernel.
    const widestRun = Math.ceil((c.groupStart[c.k]! * GROUP_ITEMS) / CHUNK_ITEMS) * CHUNK_ITEMS;
    this.users = grown(this.users, 2 * d, sharedFloat32);
    this.rows = grown(this.rows, 2 * widestRun, sharedFloat32);
    this.maxima = grown(this.maxima, (2 * widestRun) / CHUNK_ITEMS, sharedFloat32);
    this.centerScores = grown(this.centerScores, 2 * c.centerGroups * GROUP_ITEMS, sharedFloat32);
    if (this.heaps[0].capacity !== topK) this.heaps = [new TopK(topK), new TopK(topK)];
    if (this.excluded.length < model.nItems) this.excluded = new Uint8Array(model.nItems);
    if (this.boundA.length < c.k) {
      this.boundA = new Float64Array(c.k);
      this.boundB = new Float64Array(c.k);
      this.done = new Uint8Array(c.k);
    }
  }

  /** Packs user x as row r of the pair; returns its norm. */
  private loadUser(x: number, r: number, exclude: Csr[]): number {
    const d = this.model!.dim;
    const user = this.model!.user;
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
    const c = this.c!;
    const cw = c.centerGroups * GROUP_ITEMS;
    const gamma = (c.d * 2 ** -24) / (1 - c.d * 2 ** -24);
    for (let q = 0; q < c.k; q++) {
      out[q] = this.centerScores[r * cw + q]! + norm * c.radius[q]! + 2 * gamma * norm * (2 * c.centerNorm[q]! + c.radius[q]!);
    }
  }

  /** The not yet scored cluster with the highest bound in `b` (-1 when none is left). */
  private bestLeft(b: Float64Array): number {
    let best = -1;
    let top = -Infinity;
    for (let q = 0; q < this.c!.k; q++) {
      if (this.done[q] === 0 && b[q]! > top) (top = b[q]!), (best = q);
    }
    return best;
  }

  /**
   * Users a and b (b = -1: a alone beside a zero row); returns the list
   * lengths, the lists in heap(0) and heap(1) (TopK's items/scores, best first).
   */
  pair(a: number, b: number, exclude: Csr[]): [number, number] {
    const c = this.c!;
    const two = b >= 0;
    this.users.fill(0, 0, 2 * c.d);
    const normA = this.loadUser(a, 0, exclude);
    const normB = two ? this.loadUser(b, 1, exclude) : 0;
    this.k.scorePanels(this.users.byteOffset, 1, c.centersPacked.byteOffset, c.centerGroups, c.d, this.centerScores.byteOffset, c.centerGroups * GROUP_ITEMS);
    this.bounds(this.boundA, 0, normA);
    if (two) this.bounds(this.boundB, 1, normB);
    else this.boundB.fill(-Infinity, 0, c.k);
    this.heaps[0].begin();
    this.heaps[1].begin();
    this.thrA = -Infinity;
    this.thrB = two ? -Infinity : Infinity;
    this.done.fill(0, 0, c.k);
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
    const c = this.c!;
    this.done.fill(1, from, to);
    const g0 = c.groupStart[from]!;
    const nG = c.groupStart[to]! - g0;
    // Rows padded to whole chunks of the maxima kernel, the padding NaN (never a maximum).
    const stride = Math.ceil((nG * GROUP_ITEMS) / CHUNK_ITEMS) * CHUNK_ITEMS;
    const d = c.d;
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
    const itemAt = this.c!.itemAt;
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
