import type { Model } from '../model/store.js';
import { kernels, type Kernels } from '../kernels/wasm.js';
import { sharedFloat32, sharedInt32, withArena } from '../memory/shared.js';
import type { BlockScorer } from './scorer.js';

/**
 * The evaluation scorer: the AssemblyScript kernels `scorePanels`,
 * `chunkMax` and `countBelowEqual` (src/kernels/assembly, where the layouts
 * and measurements are documented) over the process's shared memory. This
 * class only packs the operands: the item table once per `loadItems` (groups
 * of 16 items, ~6 ms on gowalla) unless the coordinator packed it once for
 * every thread (`packedItemTable`), the block's users per `score` (pairs).
 *
 * Each score is a float32 sum over k = 0..d-1 in that order, the same
 * operations for every item: two items with identical embeddings get
 * bit-identical scores, so ties are real ties. Items past the model's
 * (rows are padded to a multiple of CHUNK_ITEMS) score NaN.
 */

/** Users per register tile (the kernel's pairs). */
export const TILE_USERS = 2;
/** Items per packed group (4 panels of 4). */
export const GROUP_ITEMS = 16;
/** Rows are padded to a multiple of this, the chunk of the per-row maxima. */
export const CHUNK_ITEMS = 64;

/**
 * The buffers of this thread, in the shared memory, which never frees: they
 * are allocated on first use, grown (by half at least) only when a model or
 * block is larger than any before, and shared by every WasmScorer of the
 * thread. So an evaluation allocates nothing, and a worker holds one set for
 * the whole run. Scorers of a thread take turns: the rows returned by `score`
 * are valid until the thread's next `score`, and a scorer whose packed items
 * another one overwrote repacks them from the model it is given.
 */
interface Buffers {
  items: Float32Array;
  users: Float32Array;
  scores: Float32Array;
  maxima: Float32Array;
  counts: Int32Array;
  itemsOwner: WasmScorer | undefined;
}
let buffers: Buffers | undefined;

/**
 * `a` when it holds n values, else a new shared array of at least n and half
 * as large again as `a`: buffers in an arena, which never frees, only grow.
 */
export function grown<T extends Float32Array | Float64Array | Int32Array>(a: T | undefined, n: number, make: (n: number) => T): T {
  if (a && a.length >= n) return a;
  return make(Math.max(n, Math.ceil((a?.length ?? 0) * 1.5)));
}

/** Items padded to whole chunks (the per-row maxima work on chunks). */
function paddedItems(nItems: number): number {
  return Math.max(CHUNK_ITEMS, Math.ceil(nItems / CHUNK_ITEMS) * CHUNK_ITEMS);
}

/** Item i, dimension k at (i >> 4) * 16d + 16k + (i & 15); padding items are zero rows. */
function packInto(f: Float32Array, model: Model): void {
  const d = model.dim;
  const n = model.nItems;
  const item = model.item;
  f.fill(0, 0, paddedItems(n) * d);
  for (let i = 0; i < n; i++) {
    const dst = (i >> 4) * GROUP_ITEMS * d + (i & 15);
    const src = i * d;
    for (let k = 0; k < d; k++) f[dst + GROUP_ITEMS * k] = item[src + k]!;
  }
}

/** The coordinator's packed tables, one per arena, reused by every evaluation (the arena never frees). */
const packedTables = new WeakMap<WebAssembly.Memory, Float32Array>();

/**
 * The model's item table in the scorer's layout, packed once in `arena` (the
 * model's) for every thread of an evaluation: one copy instead of one per
 * thread (at 64 threads on the Echonest shape, d = 64: 98 MB instead of
 * 6.3 GB). Overwritten by the next call for this arena: one evaluation at a
 * time per model, as the model must not change while it runs anyway.
 */
export function packedItemTable(model: Model, arena: WebAssembly.Memory): Float32Array {
  const n = paddedItems(model.nItems) * model.dim;
  const table = withArena(arena, () => grown(packedTables.get(arena), n, sharedFloat32));
  packedTables.set(arena, table);
  packInto(table, model);
  return table.subarray(0, n);
}

export class WasmScorer implements BlockScorer {
  readonly kind = 'wasm' as const;
  readonly maxUsers: number;
  stride = 0;
  readonly chunkItems = CHUNK_ITEMS;
  below = 0;
  equal = 0;
  private readonly k: Kernels = kernels();
  private nItems = -1;
  private d = -1;
  private lastUsers = 0;
  /** the coordinator's packed table, when given: read by every thread, never written here */
  private shared: Float32Array | undefined;

  constructor(maxUsers: number) {
    this.maxUsers = Math.max(TILE_USERS, Math.ceil(maxUsers / TILE_USERS) * TILE_USERS);
  }

  loadItems(model: Model, packed?: Float32Array): void {
    const d = model.dim;
    const nIp = paddedItems(model.nItems);
    if (packed && packed.length < nIp * d) throw new RangeError('WasmScorer: the packed item table is smaller than the model');
    const b = buffers;
    buffers = {
      items: packed ? (b?.items ?? sharedFloat32(0)) : grown(b?.items, nIp * d, sharedFloat32),
      users: grown(b?.users, this.maxUsers * d, sharedFloat32),
      scores: grown(b?.scores, this.maxUsers * nIp, sharedFloat32),
      maxima: grown(b?.maxima, (this.maxUsers * nIp) / CHUNK_ITEMS, sharedFloat32),
      counts: b?.counts ?? sharedInt32(2),
      itemsOwner: packed ? b?.itemsOwner : undefined,
    };
    this.stride = nIp;
    this.nItems = model.nItems;
    this.d = d;
    this.shared = packed;
    if (!packed) this.packItems(model);
  }

  private packItems(model: Model): void {
    packInto(buffers!.items, model);
    buffers!.itemsOwner = this;
  }

  score(model: Model, users: Int32Array, n: number): Float32Array {
    if (model.nItems !== this.nItems || model.dim !== this.d) throw new Error('WasmScorer: loadItems() first for this model shape');
    if (n > this.maxUsers) throw new RangeError(`WasmScorer: ${n} users > capacity ${this.maxUsers}`);
    const b = buffers!;
    if (!this.shared && b.itemsOwner !== this) this.packItems(model);
    const items = this.shared ?? b.items;
    const d = this.d;
    const stride = this.stride;
    // User b, dimension k at (b >> 1) * 2d + 2k + (b & 1); the partner of an
    // odd last user is a zero row whose scores (row n) are never read.
    const f = b.users;
    const nPairs = (n + 1) >> 1;
    if (n & 1) f.fill(0, (nPairs - 1) * 2 * d, nPairs * 2 * d);
    const user = model.user;
    for (let r = 0; r < n; r++) {
      const src = users[r]! * d;
      const dst = (r >> 1) * 2 * d + (r & 1);
      for (let k = 0; k < d; k++) f[dst + 2 * k] = user[src + k]!;
    }
    const s = b.scores;
    this.k.scorePanels(f.byteOffset, nPairs, items.byteOffset, stride / GROUP_ITEMS, d, s.byteOffset, stride);
    // Padding items score NaN: never selected, never counted, never a chunk's maximum.
    if (this.nItems < stride) for (let r = 0; r < n; r++) s.fill(NaN, r * stride + this.nItems, (r + 1) * stride);
    this.lastUsers = n;
    return s.subarray(0, n * stride);
  }

  /** One SIMD pass over the block's rows (after masking: the maxima must be exact). */
  chunkMaxima(): Float32Array {
    const b = buffers!;
    const nChunks = (this.lastUsers * this.stride) / CHUNK_ITEMS;
    this.k.chunkMax(b.scores.byteOffset, nChunks, b.maxima.byteOffset);
    return b.maxima.subarray(0, nChunks);
  }

  countBelowEqual(row: number, t: number): void {
    const b = buffers!;
    this.k.countBelowEqual(b.scores.byteOffset + row * this.stride * 4, this.stride >> 2, t, b.counts.byteOffset);
    this.below = b.counts[0]!;
    this.equal = b.counts[1]!;
  }
}
