import { sharedFloat32 } from '../memory/shared.js';
import { wrapModel, type Model } from './store.js';

/**
 * Two models of the same users and items as one: rows side by side, so the
 * combined score is a weighted sum of the parts' scores,
 *
 *   user u: [(1 - w) u_A / r_uA, w u_B / r_uB]    item i: [v_A / r_vA, v_B / r_vB]
 *   score(u, i) = (1 - w) <u_A, v_A> / (r_uA r_vA) + w <u_B, v_B> / (r_uB r_vB),
 *
 * r the root mean square of a table's row norms. Models trained with
 * different losses score on different scales (ccl: cosines; pris: free
 * norms); divided so, each part's scores are on scale 1 and `w` means the
 * same whatever the parts are. Every reader of the embeddings (pris's
 * evaluation and recommendations, a dot product in another tool) ranks with
 * the combined score, and the two item blocks weigh alike in an item-item
 * cosine.
 */

/** Root mean square of the row norms of `rows` (n rows); 1 for an all-zero table, which then stays zero. */
function rmsNorm(rows: Float32Array, n: number): number {
  let s = 0;
  for (let k = 0; k < rows.length; k++) s += rows[k]! * rows[k]!;
  return n > 0 && s > 0 ? Math.sqrt(s / n) : 1;
}

/** The root mean square row norms of a part's user and item tables. */
export interface PartNorms {
  user: number;
  item: number;
}

export function partNorms(m: Model): PartNorms {
  return { user: rmsNorm(m.user, m.nUsers), item: rmsNorm(m.item, m.nItems) };
}

/** The combined model's tables, allocated in the current arena: the item rows set; the user rows by setCombinedUsers. */
export function allocCombined(a: Model, b: Model, norms: readonly [PartNorms, PartNorms]): Model {
  const d = a.dim + b.dim;
  const m = wrapModel(a.nUsers, a.nItems, d, sharedFloat32(a.nUsers * d), sharedFloat32(a.nItems * d));
  interleave(m.item, a.item, a.dim, 1 / norms[0].item, b.item, b.dim, 1 / norms[1].item, a.nItems);
  return m;
}

/** The user rows of the combination at weight `w`. */
export function setCombinedUsers(m: Model, a: Model, b: Model, w: number, norms: readonly [PartNorms, PartNorms]): void {
  interleave(m.user, a.user, a.dim, (1 - w) / norms[0].user, b.user, b.dim, w / norms[1].user, a.nUsers);
}

function interleave(out: Float32Array, x: Float32Array, dx: number, fx: number, y: Float32Array, dy: number, fy: number, n: number): void {
  const d = dx + dy;
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let c = 0; c < dx; c++) out[o + c] = fx * x[r * dx + c]!;
    for (let c = 0; c < dy; c++) out[o + dx + c] = fy * y[r * dy + c]!;
  }
}
