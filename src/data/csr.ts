import { standaloneInt32 } from '../memory/shared.js';

/**
 * Per-user compressed sparse rows: user u's items are
 * `indices[indptr[u] .. indptr[u+1])`, sorted ascending. Both arrays live in
 * standalone SharedArrayBuffers, so workers read them without a copy (the
 * kernels never address them: a CSR costs nothing of an arena's 4 GiB).
 */
export interface Csr {
  nUsers: number;
  nItems: number;
  indptr: Int32Array;
  indices: Int32Array;
}

export function buildCsr(nUsers: number, nItems: number, user: Int32Array, item: Int32Array): Csr {
  const indptr = standaloneInt32(nUsers + 1);
  for (let r = 0; r < user.length; r++) indptr[user[r]! + 1]!++;
  for (let u = 0; u < nUsers; u++) indptr[u + 1]! += indptr[u]!;
  const indices = standaloneInt32(user.length);
  const fill = Int32Array.from(indptr.subarray(0, nUsers));
  for (let r = 0; r < user.length; r++) indices[fill[user[r]!]!++] = item[r]!;
  for (let u = 0; u < nUsers; u++) indices.subarray(indptr[u]!, indptr[u + 1]!).sort();
  return { nUsers, nItems, indptr, indices };
}

export function emptyCsr(nUsers: number, nItems: number): Csr {
  return { nUsers, nItems, indptr: standaloneInt32(nUsers + 1), indices: standaloneInt32(0) };
}

export const nnz = (c: Csr): number => c.indptr[c.nUsers]!;

/** Interactions per item (the popularity counts `c_i` of the paper). */
export function itemCounts(c: Csr): Float64Array {
  const counts = new Float64Array(c.nItems);
  const n = nnz(c);
  for (let k = 0; k < n; k++) counts[c.indices[k]!]!++;
  return counts;
}

/** Row-wise union of CSRs over the same users (e.g. train + valid to exclude from ranking). */
export function unionCsr(parts: readonly Csr[]): Csr {
  const nUsers = parts[0]!.nUsers;
  const nItems = parts[0]!.nItems;
  let total = 0;
  for (const p of parts) total += nnz(p);
  const user = new Int32Array(total);
  const item = new Int32Array(total);
  let r = 0;
  for (const p of parts) {
    for (let u = 0; u < nUsers; u++) {
      for (let k = p.indptr[u]!; k < p.indptr[u + 1]!; k++) {
        user[r] = u;
        item[r++] = p.indices[k]!;
      }
    }
  }
  return buildCsr(nUsers, nItems, user, item);
}
