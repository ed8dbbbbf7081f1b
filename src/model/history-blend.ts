import type { Csr } from '../data/csr.js';

/**
 * SimpleX's behaviour aggregation, applied to a trained model: a user's
 * vector becomes a mix of its own direction and the direction of the sum of
 * the item rows it interacted with,
 *
 *   p_u = |e_u| * normalize((1 - w) e_u / |e_u| + w h_u / |h_u|),  h_u = sum of v_i over the user's items.
 *
 * Only directions are mixed, so the result does not depend on how the loss
 * scaled the rows (unit rows under ccl, free norms under pris), and the user's
 * norm is kept: a per-user scale never changes that user's ranking, and the
 * scores stay on the scale the model was trained at.
 */

/** Mixes `row` in place with the direction of `h` (the user's item sum); a zero row or zero h is left as it is. */
function mixRow(row: Float32Array, h: Float64Array, w: number): void {
  const d = row.length;
  let rr = 0;
  let hh = 0;
  for (let c = 0; c < d; c++) {
    rr += row[c]! * row[c]!;
    hh += h[c]! * h[c]!;
  }
  if (rr === 0 || hh === 0 || w === 0) return;
  const rn = Math.sqrt(rr);
  const a = (1 - w) / rn;
  const b = w / Math.sqrt(hh);
  let pp = 0;
  for (let c = 0; c < d; c++) {
    const p = a * row[c]! + b * h[c]!;
    h[c] = p;
    pp += p * p;
  }
  // Opposite directions mixed half and half cancel: nothing to point at, keep the row.
  if (pp === 0) return;
  const s = rn / Math.sqrt(pp);
  for (let c = 0; c < d; c++) row[c] = h[c]! * s;
}

function addRow(h: Float64Array, item: Float32Array, i: number): void {
  const d = h.length;
  const o = i * d;
  for (let c = 0; c < d; c++) h[c] = h[c]! + item[o + c]!;
}

/**
 * Every user row of `user` (nUsers x dim), or only those listed in `users`,
 * set to its blend with the user's items in `history` (the splits the model
 * knows the user by), computed from `from` (default: the rows themselves, in
 * place). Users without items keep their row.
 */
export function blendUserRows(user: Float32Array, item: Float32Array, dim: number, history: readonly Csr[], w: number, from: Float32Array = user, users?: Int32Array): void {
  const h = new Float64Array(dim);
  const n = users ? users.length : user.length / dim;
  for (let k = 0; k < n; k++) {
    const u = users ? users[k]! : k;
    const row = user.subarray(u * dim, u * dim + dim);
    if (from !== user) row.set(from.subarray(u * dim, u * dim + dim));
    h.fill(0);
    for (const csr of history) {
      for (let p = csr.indptr[u]!; p < csr.indptr[u + 1]!; p++) addRow(h, item, csr.indices[p]!);
    }
    mixRow(row, h, w);
  }
}

/** One folded-in vector `row` blended with `items` (item indices), as blendUserRows does for known users. */
export function blendFoldedRow(row: Float32Array, item: Float32Array, items: ArrayLike<number>, w: number): void {
  const h = new Float64Array(row.length);
  for (let n = 0; n < items.length; n++) addRow(h, item, items[n]!);
  mixRow(row, h, w);
}
