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
  private readonly kth: Float64Array;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopK: k must be a positive integer, got ${k}`);
    this.capacity = k;
    this.items = new Int32Array(k);
    this.scores = new Float64Array(k);
    this.hItems = new Int32Array(k);
    this.hScores = new Float64Array(k);
    this.kth = new Float64Array(k);
  }

  /**
   * Selects from `row[off .. off + n)` (item i at `off + i`); returns how many
   * were selected.
   *
   * With `maxima` (the exact maximum of each run of `chunk` entries of this
   * row, chunk c at `maxima[mOff + c]`, NaN ignored): the K-th largest chunk
   * maximum is a floor (at least K items score at or above it, so nothing
   * below it can make the list), and only chunks reaching the floor and the
   * running threshold are read: about K chunks instead of the whole row.
   */
  select(row: Float32Array, off: number, n: number, maxima?: Float32Array, mOff = 0, chunk = 64): number {
    this.size = 0;
    // The heap's root is its worst member. Items arrive in increasing index
    // order, so an arrival that only ties the root loses the tie: strict `>`.
    let threshold = -Infinity;
    if (maxima) {
      const nChunks = Math.ceil(n / chunk);
      const floor = nChunks >= this.capacity ? this.kthLargest(maxima, mOff, nChunks) : -Infinity;
      for (let c = 0; c < nChunks; c++) {
        const mx = maxima[mOff + c]!;
        if (!(mx > threshold) || mx < floor) continue;
        const end = Math.min(n, (c + 1) * chunk);
        for (let i = c * chunk; i < end; i++) {
          const s = row[off + i]!;
          if (s > threshold && s >= floor) threshold = this.offerAny(s, i);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const s = row[off + i]!;
        if (s > threshold) threshold = this.offerAny(s, i);
      }
    }
    return this.drain();
  }

  /** The K-th largest of a[from .. from + n) (n >= K; NaN counts as -Infinity), with a size-K min-heap. */
  private kthLargest(a: Float32Array, from: number, n: number): number {
    const K = this.capacity;
    const h = this.kth;
    for (let k = 0; k < K; k++) {
      const x = a[from + k]!;
      h[k] = x === x ? x : -Infinity;
    }
    // Heapify, then keep the K largest.
    for (let k = (K >> 1) - 1; k >= 0; k--) siftDownMin(h, K, k, h[k]!);
    for (let k = K; k < n; k++) {
      const x = a[from + k]!;
      if (x > h[0]!) siftDownMin(h, K, 0, x);
    }
    return h[0]!;
  }

  private size = 0;

  /**
   * Selection from items offered in any order (a scorer that visits items
   * out of index order): `begin`, then `offerAny` per item, then `finish`,
   * which fills `items`/`scores` best first and returns the count. The same
   * order and ties as `select`.
   */
  begin(): void {
    this.size = 0;
  }

  /** Offers item i with score s; returns the K-th best score so far (-Infinity until K items). */
  offerAny(s: number, i: number): number {
    const hi = this.hItems;
    const hs = this.hScores;
    if (this.size < this.capacity) {
      let pos = this.size++;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (!worse(s, i, hs[parent]!, hi[parent]!)) break;
        hs[pos] = hs[parent]!;
        hi[pos] = hi[parent]!;
        pos = parent;
      }
      hs[pos] = s;
      hi[pos] = i;
    } else if (worse(hs[0]!, hi[0]!, s, i)) {
      siftDown(hs, hi, this.size, s, i);
    }
    return this.size === this.capacity ? hs[0]! : -Infinity;
  }

  finish(): number {
    return this.drain();
  }

  /** Pops worst-first into the output from the back: best ends at index 0. */
  private drain(): number {
    const hi = this.hItems;
    const hs = this.hScores;
    const count = this.size;
    let size = count;
    for (let pos = count - 1; pos >= 0; pos--) {
      this.items[pos] = hi[0]!;
      this.scores[pos] = hs[0]!;
      size--;
      if (size > 0) siftDown(hs, hi, size, hs[size]!, hi[size]!);
    }
    this.size = 0;
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

/** Min-heap of plain values: puts x at `pos` and sifts it down. */
function siftDownMin(h: Float64Array, size: number, pos: number, x: number): void {
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    const r = l + 1;
    const c = r < size && h[r]! < h[l]! ? r : l;
    if (!(h[c]! < x)) break;
    h[pos] = h[c]!;
    pos = c;
  }
  h[pos] = x;
}
