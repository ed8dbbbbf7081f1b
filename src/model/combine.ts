import { sharedFloat32 } from '../memory/shared.js';
import { wrapModel, type Model } from './store.js';

/**
 * Two models of the same users and items as one: rows side by side, so the
 * combined score is a weighted sum of the parts' scores,
 *
 *   score(u, i) = (1 - a) s_A <u_A, v_A> + a s_B <u_B, v_B>,
 *
 * and every reader of the embeddings (pris's evaluation and recommendations,
 * or a dot product in another tool) ranks with it. Models trained with
 * different losses score on different scales (ccl: cosines; pris: free
 * norms), so each part is first brought to scale 1 by s = 1 / (rms |u| rms |v|),
 * and the weight `a` means the same whatever the parts are.
 */

/** Root mean square of the row norms of `rows` (n rows). */
function rmsNorm(rows: Float32Array, n: number): number {
  let s = 0;
  for (let k = 0; k < rows.length; k++) s += rows[k]! * rows[k]!;
  return n > 0 ? Math.sqrt(s / n) : 0;
}

/** The factor that brings a part's scores to scale 1: 1 / (rms user norm x rms item norm); 1 for an all-zero part. */
export function partScale(m: Model): number {
  const q = rmsNorm(m.user, m.nUsers) * rmsNorm(m.item, m.nItems);
  return q > 0 ? 1 / q : 1;
}

/** The combined model's tables, allocated in the current arena: items [v_A, v_B]; users set by setCombinedUsers. */
export function allocCombined(a: Model, b: Model): Model {
  const d = a.dim + b.dim;
  const m = wrapModel(a.nUsers, a.nItems, d, sharedFloat32(a.nUsers * d), sharedFloat32(a.nItems * d));
  interleave(m.item, a.item, a.dim, 1, b.item, b.dim, 1, a.nItems);
  return m;
}

/** The user rows of the combination at weight `w`: [(1 - w) s_A u_A, w s_B u_B]. */
export function setCombinedUsers(m: Model, a: Model, b: Model, w: number, scales: readonly [number, number]): void {
  interleave(m.user, a.user, a.dim, (1 - w) * scales[0], b.user, b.dim, w * scales[1], a.nUsers);
}

function interleave(out: Float32Array, x: Float32Array, dx: number, fx: number, y: Float32Array, dy: number, fy: number, n: number): void {
  const d = dx + dy;
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let c = 0; c < dx; c++) out[o + c] = fx * x[r * dx + c]!;
    for (let c = 0; c < dy; c++) out[o + dx + c] = fy * y[r * dy + c]!;
  }
}
