/**
 * Top-K selection over one row of scores with a bounded binary heap.
 *
 * Order: higher score first; among equal scores the lower item index first
 * (deterministic, and what a stable descending sort of the row gives).
 * Excluded items carry -Infinity and never enter the list, so a user with
 * fewer than K candidates gets a shorter list. NaN never enters either.
 *
 * All storage is allocated once per K; `select` allocates nothing.
 */
export class TopK {
  readonly capacity: number;
  /** Selected items, best first: `items[0..count)` after `select`. */
  readonly items: Int32Array;
  readonly scores: Float64Array;
  private readonly hItems: Int32Array;
  private readonly hScores: Float64Array;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopK: k must be a positive integer, got ${k}`);
    this.capacity = k;
    this.items = new Int32Array(k);
    this.scores = new Float64Array(k);
    this.hItems = new Int32Array(k);
    this.hScores = new Float64Array(k);
  }

  /** Selects from `row[off .. off + n)` (item i at `off + i`); returns how many were selected. */
  select(row: Float32Array, off: number, n: number): number {
    const K = this.capacity;
    const hi = this.hItems;
    const hs = this.hScores;
    let size = 0;
    // The heap's root is its worst member. Items arrive in increasing index
    // order, so an arrival that only ties the root loses the tie: strict `>`.
    let threshold = -Infinity;
    for (let i = 0; i < n; i++) {
      const s = row[off + i]!;
      if (!(s > threshold)) continue;
      if (size < K) {
        // Sift up: the newcomer has the largest index so far, so it is worse
        // than any parent with an equal score.
        let pos = size++;
        while (pos > 0) {
          const parent = (pos - 1) >> 1;
          if (!(s < hs[parent]!) && s !== hs[parent]) break;
          hs[pos] = hs[parent]!;
          hi[pos] = hi[parent]!;
          pos = parent;
        }
        hs[pos] = s;
        hi[pos] = i;
        if (size === K) threshold = hs[0]!;
      } else {
        siftDown(hs, hi, size, s, i);
        threshold = hs[0]!;
      }
    }
    // Pop worst-first into the output from the back: best ends at index 0.
    const count = size;
    for (let pos = count - 1; pos >= 0; pos--) {
      this.items[pos] = hi[0]!;
      this.scores[pos] = hs[0]!;
      size--;
      if (size > 0) siftDown(hs, hi, size, hs[size]!, hi[size]!);
    }
    return count;
  }
}

/** a is worse than b: lower score, or the same score and a higher index. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** Puts (s, item) at the root of a heap of `size` and sifts it down. */
function siftDown(hs: Float64Array, hi: Int32Array, size: number, s: number, item: number): void {
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    const r = l + 1;
    let c = l;
    if (r < size && worse(hs[r]!, hi[r]!, hs[l]!, hi[l]!)) c = r;
    if (!worse(hs[c]!, hi[c]!, s, item)) break;
    hs[pos] = hs[c]!;
    hi[pos] = hi[c]!;
    pos = c;
  }
  hs[pos] = s;
  hi[pos] = item;
}
