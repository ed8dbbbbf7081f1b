import type { Csr } from '../data/csr.js';
import { sharedInt32 } from '../memory/shared.js';

/**
 * Splits users into `shards` groups with nearly equal training interactions
 * (longest-processing-time greedy: heaviest user first, to the lightest shard),
 * deterministically. Users without training interactions are left out.
 */
export function partitionUsers(train: Csr, shards: number): { users: Int32Array; ptr: Int32Array; load: Float64Array } {
  const n = train.nUsers;
  const order: number[] = [];
  for (let u = 0; u < n; u++) if (train.indptr[u + 1]! > train.indptr[u]!) order.push(u);
  const deg = (u: number) => train.indptr[u + 1]! - train.indptr[u]!;
  order.sort((a, b) => deg(b) - deg(a) || a - b);
  const load = new Float64Array(shards);
  const owner = new Int32Array(order.length);
  const sizes = new Int32Array(shards);
  for (let k = 0; k < order.length; k++) {
    let best = 0;
    for (let s = 1; s < shards; s++) if (load[s]! < load[best]!) best = s;
    owner[k] = best;
    load[best]! += deg(order[k]!);
    sizes[best]!++;
  }
  const ptr = sharedInt32(shards + 1);
  for (let s = 0; s < shards; s++) ptr[s + 1] = ptr[s]! + sizes[s]!;
  const users = sharedInt32(order.length);
  const fill = Int32Array.from(ptr.subarray(0, shards));
  // Within a shard keep ascending user order: the epoch shuffles it anyway.
  const byUser = order.map((u, k) => [u, owner[k]!] as const).sort((a, b) => a[0] - b[0]);
  for (const [u, s] of byUser) users[fill[s]!++] = u;
  return { users, ptr, load };
}
