import { sharedFloat32, sharedFloat64, sharedInt32, createVersionControl, currentVersion, resetVersion, type VersionControl } from '../memory/shared.js';
import { fillAlias } from './alias.js';

/**
 * What the clustering worker publishes for the cluster samplers: one half of
 * a double buffer (see VersionControl in src/memory/shared.ts).
 *
 *   centers  K x d          c_k
 *   labels   N              y_j, the cluster of item j
 *   members  N              items grouped by cluster: cluster k is members[ptr[k] .. ptr[k+1])
 *   ptr      K + 1
 *   mass     K              sum of the popularity f_j of cluster k's items (P_Q(I^k) up to a constant)
 *   alive    K              items of cluster k with f_j > 0 (those popularity sampling can draw)
 *   entries  4N             what a draw reads, packed per position q of `members` (one cache line
 *                           per draw): [item members[q], alias item, alias keep-probability as
 *                           float32 bits, 0]; the alias table is cluster q's over f (cluster-popularity)
 *   stamp    2              [version, checksum] written last, for readers that verify
 */
export interface ClusterHalf {
  centers: Float32Array;
  labels: Int32Array;
  members: Int32Array;
  ptr: Int32Array;
  mass: Float64Array;
  alive: Int32Array;
  entries: Int32Array;
  stamp: Float64Array;
}

export interface ClusterTables {
  k: number;
  dim: number;
  nItems: number;
  halves: [ClusterHalf, ClusterHalf];
  vc: VersionControl;
}

function allocHalf(k: number, d: number, n: number): ClusterHalf {
  return {
    centers: sharedFloat32(k * d),
    labels: sharedInt32(n),
    members: sharedInt32(n),
    ptr: sharedInt32(k + 1),
    mass: sharedFloat64(k),
    alive: sharedInt32(k),
    entries: sharedInt32(4 * n),
    stamp: sharedFloat64(2),
  };
}

export function createClusterTables(k: number, dim: number, nItems: number, readers: number): ClusterTables {
  return { k, dim, nItems, halves: [allocHalf(k, dim, nItems), allocHalf(k, dim, nItems)], vc: createVersionControl(readers) };
}

export const halfOf = (t: ClusterTables, version: number): ClusterHalf => t.halves[version & 1];

/** An order-dependent 32-bit hash (FNV-1a over 32-bit words) of everything a reader uses. */
export function halfChecksum(h: ClusterHalf): number {
  let x = 0x811c9dc5;
  const mix = (a: Int32Array) => {
    for (let q = 0; q < a.length; q++) x = Math.imul(x ^ a[q]!, 0x01000193);
  };
  mix(new Int32Array(h.centers.buffer, h.centers.byteOffset, h.centers.length));
  mix(h.labels);
  mix(h.members);
  mix(h.entries);
  mix(h.ptr);
  mix(h.alive);
  mix(new Int32Array(h.mass.buffer, h.mass.byteOffset, h.mass.length * 2));
  return x >>> 0;
}

/**
 * Fills half `h` from centers and labels: groups items by cluster, sums the
 * popularity f per cluster and builds each cluster's alias table over f.
 */
export function fillHalf(h: ClusterHalf, k: number, d: number, centers: Float32Array, labels: Int32Array, f: Float64Array | undefined, version: number): void {
  const n = labels.length;
  h.centers.set(centers.subarray(0, k * d));
  h.labels.set(labels);
  h.ptr.fill(0);
  for (let j = 0; j < n; j++) h.ptr[labels[j]! + 1]!++;
  for (let c = 0; c < k; c++) h.ptr[c + 1]! += h.ptr[c]!;
  const fill = Int32Array.from(h.ptr.subarray(0, k));
  for (let j = 0; j < n; j++) h.members[fill[labels[j]!]!++] = j;
  h.mass.fill(0);
  h.alive.fill(0);
  const weights = new Float64Array(n);
  for (let c = 0; c < k; c++) {
    for (let q = h.ptr[c]!; q < h.ptr[c + 1]!; q++) {
      const w = f ? f[h.members[q]!]! : 1;
      weights[q] = w;
      h.mass[c]! += w;
      if (w > 0) h.alive[c]!++;
    }
  }
  // Without f every position keeps its own item (the uniform draw never reads the alias).
  const prob = new Float64Array(n).fill(1);
  const alias = Int32Array.from({ length: n }, (_, q) => q);
  if (f) {
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    for (let c = 0; c < k; c++) {
      const p0 = h.ptr[c]!;
      fillAlias(weights, p0, h.ptr[c + 1]!, prob, alias, scaled, small, large);
      for (let q = p0; q < h.ptr[c + 1]!; q++) alias[q]! += p0;
    }
  }
  const e = h.entries;
  const probBits = new Float32Array(e.buffer, e.byteOffset, e.length);
  for (let q = 0; q < n; q++) {
    e[4 * q] = h.members[q]!;
    e[4 * q + 1] = h.members[alias[q]!]!;
    probBits[4 * q + 2] = prob[q]!;
    e[4 * q + 3] = 0;
  }
  h.stamp[0] = version;
  h.stamp[1] = halfChecksum(h);
}

/** The published clustering a checkpoint keeps: its version, centers and item labels (copies). */
export interface PublishedClustering {
  version: number;
  centers: Float32Array;
  labels: Int32Array;
}

export function currentClustering(t: ClusterTables): PublishedClustering | undefined {
  const v = currentVersion(t.vc);
  if (v === 0) return undefined;
  const h = halfOf(t, v);
  return { version: v, centers: h.centers.slice(), labels: h.labels.slice() };
}

/** Publishes a kept clustering again under its own version (a resumed run), before any reader starts. */
export function restoreClustering(t: ClusterTables, c: PublishedClustering, f: Float64Array | undefined): void {
  fillHalf(halfOf(t, c.version), t.k, t.dim, c.centers, c.labels, f, c.version);
  resetVersion(t.vc, c.version);
}
