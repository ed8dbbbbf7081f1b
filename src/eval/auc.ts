/**
 * Per-user AUC pair counts. Candidates are the items of the row that are
 * neither test items (`isTest[i] = 1`) nor excluded (score -Infinity);
 * a (test item t, candidate j) pair counts 1 if s_t > s_j, 1/2 on a tie.
 *
 * The test scores are sorted once, so each candidate costs a comparison in
 * the common cases (below every test score, above every one) and a binary
 * search otherwise: O(nItems * log |test|) per user, no allocation.
 */
export class AucCounter {
  /** Sum over pairs of 1 / 1/2 / 0 for the last `count` call. */
  wins = 0;
  /** Candidate negatives of the last `count` call. */
  candidates = 0;
  private testScores = new Float64Array(64);

  /** Collects the test items' scores (`test[from..to)`, distinct items) and counts pairs. */
  count(row: Float32Array, off: number, n: number, isTest: Uint8Array, test: Int32Array, from: number, to: number): void {
    let ts = this.testScores;
    if (ts.length < to - from) ts = this.testScores = new Float64Array(2 * (to - from));
    let m = 0;
    for (let k = from; k < to; k++) {
      const item = test[k]!;
      if (k > from && item === test[k - 1]) continue; // duplicate rows in the split count once
      ts[m++] = row[off + item]!;
    }
    sortAscending(ts, m);
    const lo = ts[0]!;
    const hi = ts[m - 1]!;
    let wins = 0;
    let cands = 0;
    for (let i = 0; i < n; i++) {
      const s = row[off + i]!;
      if (s === -Infinity || isTest[i] === 1) continue;
      cands++;
      if (s < lo) wins += m;
      else if (s > hi) continue;
      else {
        const below = lowerBound(ts, m, s); // test scores < s
        const notAbove = upperBound(ts, m, s); // test scores <= s
        wins += m - notAbove + 0.5 * (notAbove - below);
      }
    }
    this.wins = wins;
    this.candidates = cands;
  }
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
