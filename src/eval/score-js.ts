import type { Model } from '../model/store.js';
import type { BlockScorer } from './scorer.js';

/**
 * The plain-JavaScript kernel, kept as the fallback where WebAssembly SIMD is
 * missing and as an independent check of the SIMD one. Register tiling of
 * 4 users x 2 items was the fastest plain-JS shape measured (about 4x the
 * naive one-dot-product-at-a-time loop), still ~6x slower than SIMD.
 * Sums run in float64 and are rounded to float32 once when stored.
 */
export class JsScorer implements BlockScorer {
  readonly kind = 'js' as const;
  readonly maxUsers: number;
  stride = 0;
  private scores = new Float32Array(0);

  constructor(maxUsers: number) {
    this.maxUsers = Math.max(1, maxUsers);
  }

  loadItems(model: Model): void {
    this.stride = model.nItems;
    if (this.scores.length !== this.maxUsers * model.nItems) this.scores = new Float32Array(this.maxUsers * model.nItems);
  }

  score(model: Model, users: Int32Array, n: number): Float32Array {
    if (model.nItems !== this.stride) throw new Error('JsScorer: loadItems() first for this model shape');
    if (n > this.maxUsers) throw new RangeError(`JsScorer: ${n} users > capacity ${this.maxUsers}`);
    const out = this.scores;
    const item = model.item;
    const user = model.user;
    const d = model.dim;
    const nI = model.nItems;
    let b = 0;
    for (; b + 4 <= n; b += 4) {
      const u0 = users[b]! * d, u1 = users[b + 1]! * d, u2 = users[b + 2]! * d, u3 = users[b + 3]! * d;
      const r0 = b * nI, r1 = r0 + nI, r2 = r1 + nI, r3 = r2 + nI;
      let i = 0;
      for (; i + 2 <= nI; i += 2) {
        const i0 = i * d;
        const i1 = i0 + d;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (let k = 0; k < d; k++) {
          const x = item[i0 + k]!;
          const y = item[i1 + k]!;
          const p0 = user[u0 + k]!, p1 = user[u1 + k]!, p2 = user[u2 + k]!, p3 = user[u3 + k]!;
          a0 += p0 * x; a1 += p1 * x; a2 += p2 * x; a3 += p3 * x;
          c0 += p0 * y; c1 += p1 * y; c2 += p2 * y; c3 += p3 * y;
        }
        out[r0 + i] = a0; out[r1 + i] = a1; out[r2 + i] = a2; out[r3 + i] = a3;
        out[r0 + i + 1] = c0; out[r1 + i + 1] = c1; out[r2 + i + 1] = c2; out[r3 + i + 1] = c3;
      }
      for (; i < nI; i++) {
        for (let q = 0; q < 4; q++) out[(b + q) * nI + i] = dot(user, users[b + q]! * d, item, i * d, d);
      }
    }
    for (; b < n; b++) {
      const u0 = users[b]! * d;
      for (let i = 0; i < nI; i++) out[b * nI + i] = dot(user, u0, item, i * d, d);
    }
    return out.subarray(0, n * nI);
  }
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[ao + k]! * b[bo + k]!;
  return s;
}
