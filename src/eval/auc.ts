import type { BlockScorer } from './scorer.js';

/**
 * Per-user AUC pair counts. Candidates are the items of the row that are
 * neither test items nor excluded (excluded items carry -Infinity); a
 * (test item t, candidate j) pair counts 1 if s_t > s_j, 1/2 on a tie.
 * An excluded test item (-Infinity) wins no pair, as it cannot be ranked.
 *
 * The test items' entries in the row are set to NaN first, so a single
 * comparison leaves them out. Counting is then either the scorer's SIMD
 * pass per test item (below / equal counts over the whole row) or, without
 * one, a JS pass with the test scores sorted (one comparison per candidate
 * in the common cases, a binary search otherwise). No allocation per user.
 */
export class AucCounter {
  /** Sum over pairs of 1 / 1/2 / 0 for the last `count` call. */
  wins = 0;
  /** Candidate negatives of the last `count` call. */
  candidates = 0;
  private testScores = new Float64Array(64);

  /**
   * Row `row[off .. off + n)`; test items `test[from..to)` (sorted; repeats
   * count once); `nMasked` entries of the row were set to -Infinity by
   * exclusion. Overwrites the test items' scores with NaN.
   */
  count(
    row: Float32Array, off: number, n: number,
    test: Int32Array, from: number, to: number,
    nMasked: number,
    fast?: BlockScorer, rowIndex = 0,
  ): void {
    let ts = this.testScores;
    if (ts.length < to - from) ts = this.testScores = new Float64Array(2 * (to - from));
    let m = 0;
    let maskedTests = 0;
    for (let k = from; k < to; k++) {
      const item = test[k]!;
      if (k > from && item === test[k - 1]) continue;
      const s = row[off + item]!;
      if (s === -Infinity) maskedTests++;
      ts[m++] = s;
      row[off + item] = NaN;
    }
    this.candidates = n - nMasked - (m - maskedTests);
    this.wins = 0;
    if (this.candidates <= 0) return;
    if (fast?.countBelowEqual) {
      // -Infinity entries left in the row are excluded non-test items: below any finite t.
      const excludedOnly = nMasked - maskedTests;
      let wins = 0;
      for (let q = 0; q < m; q++) {
        const t = ts[q]!;
        if (t === -Infinity) continue;
        fast.countBelowEqual(rowIndex, t);
        wins += fast.below! - excludedOnly + 0.5 * fast.equal!;
      }
      this.wins = wins;
    } else {
      this.wins = pairsJs(row, off, n, ts, m);
    }
  }
}

function pairsJs(row: Float32Array, off: number, n: number, ts: Float64Array, m: number): number {
  sortAscending(ts, m);
  const lo = ts[0]!;
  const hi = ts[m - 1]!;
  let wins = 0;
  for (let i = 0; i < n; i++) {
    const s = row[off + i]!;
    // Skips excluded items (-Infinity) and test items (NaN).
    if (!(s > -Infinity)) continue;
    if (s < lo) wins += m;
    else if (s > hi) continue;
    else {
      const below = lowerBound(ts, m, s); // test scores < s
      const notAbove = upperBound(ts, m, s); // test scores <= s
      wins += m - notAbove + 0.5 * (notAbove - below);
    }
  }
  return wins;
}

function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** In place on a[0..n): insertion sort for the usual handful, the built-in sort beyond. */
function sortAscending(a: Float64Array, n: number): void {
  if (n > 48) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}
