/**
 * Ranking metrics for one user, several cutoffs at once (docs/metrics.md has
 * the formulas). T is the user's set of target (test or validation) items,
 * r = 1, 2, ... the ranks of the user's list, hit(r) = 1 when the item at
 * rank r is in T:
 *
 *   DCG@k       = sum_{r <= k, hit(r)} 1 / log2(r + 1)        (binary gains)
 *   NDCG@k      = DCG@k / IDCG@k,  IDCG@k = sum_{r = 1}^{min(k, |T|)} 1 / log2(r + 1)
 *   Recall@k    = hits@k / |T|                                (the paper's definition)
 *   Precision@k = hits@k / k
 *   MAP@k       = (sum_{r <= k, hit(r)} hits@r / r) / min(k, |T|)
 *
 * Per-user values (each in [0, 1]) are added into exact sums (see ExactSums);
 * means are sums / users.
 */

export const METRICS = ['ndcg', 'recall', 'precision', 'map'] as const;
export type MetricName = (typeof METRICS)[number];
export const N_METRICS = METRICS.length;
const NDCG = 0;
const RECALL = 1;
const PRECISION = 2;
const MAP = 3;

/** Slot of metric `m` (index into METRICS) at the `kIndex`-th cutoff; AUC takes the slot after the last cutoff's. */
export const sumSlot = (kIndex: number, m: number): number => kIndex * N_METRICS + m;
export const aucSlot = (nKs: number): number => nKs * N_METRICS;
export const slotCount = (nKs: number): number => nKs * N_METRICS + 1;

const LIMB = 2 ** 20;

/**
 * Sums of per-user values in [0, 1] that do not depend on the order of
 * addition: each value is cut into three 20-bit fixed-point limbs (the last
 * rounded at 2^-60, a deterministic function of the value alone) and limbs
 * are summed as integers, exactly in float64 up to 2^33 users. So the means
 * are the same bits whatever the block size, thread count or timing.
 * Layout: slot s uses [3s, 3s + 1, 3s + 2].
 */
export function addExact(sums: Float64Array, slot: number, x: number): void {
  let r = x * LIMB;
  const a = Math.floor(r);
  r = (r - a) * LIMB;
  const b = Math.floor(r);
  const c = Math.round((r - b) * LIMB);
  sums[3 * slot]! += a;
  sums[3 * slot + 1]! += b;
  sums[3 * slot + 2]! += c;
}

export function exactValue(sums: Float64Array, slot: number): number {
  return (sums[3 * slot]! + (sums[3 * slot + 1]! + sums[3 * slot + 2]! / LIMB) / LIMB) / LIMB;
}

/** Cutoffs sorted ascending without repeats; throws on anything but positive integers. */
export function normalizeKs(ks: readonly number[]): number[] {
  if (ks.length === 0) throw new RangeError('at least one cutoff k is needed');
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`cutoff k must be a positive integer, got ${k}`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

export class UserMetrics {
  readonly ks: Int32Array;
  readonly maxK: number;
  /** discount[r] = 1 / log2(r + 1) for ranks r = 1..maxK. */
  private readonly discount: Float64Array;
  /** idcg[n] = sum of discount[1..n]. */
  private readonly idcg: Float64Array;

  constructor(ks: readonly number[]) {
    const sorted = normalizeKs(ks);
    this.ks = Int32Array.from(sorted);
    this.maxK = sorted[sorted.length - 1]!;
    this.discount = new Float64Array(this.maxK + 1);
    this.idcg = new Float64Array(this.maxK + 1);
    for (let r = 1; r <= this.maxK; r++) {
      this.discount[r] = 1 / Math.log2(r + 1);
      this.idcg[r] = this.idcg[r - 1]! + this.discount[r]!;
    }
  }

  /** Length of an exact-sums array (see addExact) for these cutoffs and AUC. */
  get sumsLength(): number {
    return 3 * slotCount(this.ks.length);
  }

  /**
   * Adds one user's metrics at every cutoff to `sums`. `ranked[0..nRanked)` is
   * the user's list best first (nRanked <= maxK), `isTest` marks the user's
   * target items, `nTest` = |T| > 0 counts distinct target items. `sums`
   * holds exact sums (addExact).
   */
  add(ranked: Int32Array, nRanked: number, isTest: Uint8Array, nTest: number, sums: Float64Array): void {
    const ks = this.ks;
    let ki = 0;
    let hits = 0;
    let dcg = 0;
    let apSum = 0;
    for (let r = 1; r <= this.maxK && ki < ks.length; r++) {
      if (r <= nRanked && isTest[ranked[r - 1]!] === 1) {
        hits++;
        dcg += this.discount[r]!;
        apSum += hits / r;
      }
      while (ki < ks.length && ks[ki] === r) {
        const k = r;
        const ideal = k < nTest ? k : nTest;
        const base = ki * N_METRICS;
        addExact(sums, base + NDCG, dcg / this.idcg[ideal]!);
        addExact(sums, base + RECALL, hits / nTest);
        addExact(sums, base + PRECISION, hits / k);
        addExact(sums, base + MAP, apSum / ideal);
        ki++;
      }
    }
  }
}

/** Per-k means. */
export interface MetricsAtK {
  k: number;
  ndcg: number;
  recall: number;
  precision: number;
  map: number;
}

/** Exact sums over users (addExact), merged block by block in any order. */
export interface MetricSums {
  /** Exact sums of slotCount(ks) slots: the metrics per cutoff, then AUC. */
  sums: Float64Array;
  /** Users with at least one target item (the ones averaged over). */
  evaluated: number;
  /** Users without target items: skipped, counted. */
  skipped: number;
  /** Evaluated users with at least one candidate negative (AUC is undefined without one). */
  aucUsers: number;
}

export function emptySums(nKs: number): MetricSums {
  return { sums: new Float64Array(3 * slotCount(nKs)), evaluated: 0, skipped: 0, aucUsers: 0 };
}

export function addSums(into: MetricSums, x: MetricSums): void {
  for (let s = 0; s < into.sums.length; s++) into.sums[s]! += x.sums[s]!;
  into.evaluated += x.evaluated;
  into.skipped += x.skipped;
  into.aucUsers += x.aucUsers;
}

export function meansAtK(ks: readonly number[], total: MetricSums): MetricsAtK[] {
  const n = total.evaluated;
  // No evaluated users: report zeros rather than NaN (the counts say why).
  const mean = (slot: number) => (n > 0 ? exactValue(total.sums, slot) / n : 0);
  return ks.map((k, ki) => ({
    k,
    ndcg: mean(sumSlot(ki, NDCG)),
    recall: mean(sumSlot(ki, RECALL)),
    precision: mean(sumSlot(ki, PRECISION)),
    map: mean(sumSlot(ki, MAP)),
  }));
}

export function meanAuc(nKs: number, total: MetricSums): number {
  return total.aucUsers > 0 ? exactValue(total.sums, aucSlot(nKs)) / total.aucUsers : 0;
}
