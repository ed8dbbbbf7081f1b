import type { Csr } from '../data/csr.js';
import { seedRng, shuffleRange } from '../kernels/rng.js';

/**
 * How users are cut into tasks. Every user costs the same to score (all
 * items), so equal-size blocks balance; enough blocks per thread let the
 * pool even out the rest (users without target items cost nothing).
 */

/**
 * Bytes of scores one block may hold per thread (the scorer's scratch). Small
 * enough that a row is still in cache when top-K reads it back (the chunks it
 * reads are scattered): on gowalla, blocks of ~24 users ran ~5% faster than
 * blocks of ~100; the scoring itself does not care.
 */
const SCORE_BYTES_PER_BLOCK = 4 * 1024 * 1024;
const MAX_BLOCK_USERS = 256;
const MIN_BLOCKS_PER_THREAD = 4;

export function defaultBlockUsers(nUsers: number, nItems: number, threads: number): number {
  const byMemory = Math.floor(SCORE_BYTES_PER_BLOCK / (4 * Math.max(1, nItems)));
  const byBalance = Math.ceil(nUsers / (Math.max(1, threads) * MIN_BLOCKS_PER_THREAD));
  return Math.max(1, Math.min(MAX_BLOCK_USERS, byMemory, byBalance));
}

export interface UserBlock {
  from: number;
  to: number;
  users?: number[];
}

/** Consecutive ranges over all users, or consecutive pieces of an explicit user list. */
export function planBlocks(nUsers: number, blockUsers: number, users?: Int32Array): UserBlock[] {
  const blocks: UserBlock[] = [];
  if (users) {
    for (let s = 0; s < users.length; s += blockUsers) {
      blocks.push({ from: 0, to: 0, users: Array.from(users.subarray(s, Math.min(users.length, s + blockUsers))) });
    }
  } else {
    for (let s = 0; s < nUsers; s += blockUsers) blocks.push({ from: s, to: Math.min(nUsers, s + blockUsers) });
  }
  return blocks;
}

/**
 * A fixed random subset of the users that have target items: the same seed
 * gives the same users every time (validation during training compares
 * epochs on one sample). Sorted, so blocks read the embeddings in order.
 */
export function sampleUsersWithItems(target: Csr, count: number, seed: number): Int32Array {
  const all = usersWithItems(target);
  if (count >= all.length) return all;
  shuffleRange(seedRng(seed, 0x5a3e), all, 0, all.length);
  return all.subarray(0, count).sort();
}

/** The users with at least one item in `target`, ascending. */
export function usersWithItems(target: Csr): Int32Array {
  let n = 0;
  for (let u = 0; u < target.nUsers; u++) if (target.indptr[u + 1]! > target.indptr[u]!) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let u = 0; u < target.nUsers; u++) if (target.indptr[u + 1]! > target.indptr[u]!) out[n++] = u;
  return out;
}
