import type { Model } from '../model/store.js';
import type { BlockScorer } from './scorer.js';
/**
 * Just enough of the WebAssembly binary format to emit one SIMD scoring
 * kernel at run time. There is no compiler toolchain in the project (and no
 * dependency for it): the kernel is a few dozen instructions, generated per
 * embedding width so the inner loop has constant offsets.
 */

/**
 * The slice of the engine's WebAssembly API used here. The project's lib
 * settings (ES2022 + @types/node 20) do not declare the global, so it is
 * typed locally instead of widening the compiler options for everyone.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const I32 = 0x7f;
export const V128 = 0x7b;
export const F32 = 0x7d;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

const simd = (opcode: number): number[] => [0xfd, ...uleb(opcode)];
/** memarg: alignment as log2 bytes, then a constant byte offset. */
const memarg = (alignLog2: number, offset: number): number[] => [alignLog2, ...uleb(offset)];

/** The instructions the kernel uses (opcodes from the WebAssembly core + SIMD specs). */
export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  v128Load: (offset: number) => [...simd(0x00), ...memarg(4, offset)],
  v128Load32Splat: (offset: number) => [...simd(0x09), ...memarg(2, offset)],
  v128Store: (offset: number) => [...simd(0x0b), ...memarg(4, offset)],
  v128Zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** b if a < b else a: one maxps, and NaN in b (padding) keeps a. */
  f32x4Pmax: simd(0xeb),
  f32x4Splat: simd(0x13),
  f32x4Eq: simd(0x41),
  f32x4Lt: simd(0x43),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  i32x4Sub: simd(0xb1),
  f32Max: [0x97],
  f32Store: (offset: number) => [0x38, ...memarg(2, offset)],
  f32Const: (x: number) => {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return [0x43, ...b];
  },
};

export interface FuncSpec {
  exportName: string;
  params: number[];
  locals: { count: number; type: number }[];
  body: number[];
}

/** A module importing one linear memory as `env.mem` and exporting the given functions. */
export function assembleModule(funcs: FuncSpec[], memoryMinPages = 1): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec([])]);
  const imports = [[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(memoryMinPages)]];
  const fnTypes = funcs.map((_, k) => uleb(k));
  const exports = funcs.map((f, k) => [...name(f.exportName), 0x00, ...uleb(k)]);
  const codes = funcs.map((f) => {
    const code = [...vec(f.locals.map((l) => [...uleb(l.count), l.type])), ...f.body, ...op.end];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(fnTypes)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

/** WebAssembly 128-bit SIMD is available (always in Node >= 16.4; checked rather than assumed). */
export function simdSupported(): boolean {
  const probe = assembleModule([
    { exportName: 'f', params: [], locals: [{ count: 1, type: V128 }], body: [...op.v128Zero, ...op.localSet(0)] },
  ]);
  return wasmApi !== undefined && wasmApi.validate(probe);
}

// ---- the runtime-assembled scorer, kept only for scripts/bench-eval.ts's old/new comparison; deleted next ----

/**
 * A WebAssembly SIMD scoring kernel, register-tiled: a tile of TILE_USERS
 * users times TILE_PANELS panels of 4 items keeps TILE_USERS * TILE_PANELS
 * f32x4 accumulators in registers, so each item value loaded is used by
 * every user of the tile and each user value (a load-splat) by every panel.
 *
 * Items are stored as panels: for panel p (items 4p..4p+3) and dimension k,
 * the four values of those items sit together, so one v128 load gives the
 * k-th coordinate of four items and the accumulator holds four finished
 * scores (no horizontal sums). Dimensions are padded to a multiple of 4 with
 * zeros, items to a multiple of CHUNK_ITEMS (padding items score NaN).
 *
 * Each score is a float32 sum over k = 0..d-1 in that order (one f32 multiply
 * and one f32 add per term), the same operations for every lane: two items
 * with identical embeddings get bit-identical scores, so ties are real ties.
 *
 * Measured on gowalla's shape (d = 32, 40,981 items; scripts/bench-eval.ts
 * and a tile sweep): 3 users x 2 panels (8 items) was the fastest tile, about
 * 10 G multiply-adds/s per thread (4x8, 2x8, 5x8, 6x8, 3x16, 4x16: 8-9 G;
 * 6x4, 8x4: 7 G; the loop over dimensions fully unrolled: 4 G), against
 * 1.4 G for the best plain-JS tiling.
 */
export const TILE_USERS = 3;
export const TILE_PANELS = 2;

/** Register tile: users x panels of 4 items (other shapes for benchmarking). */
export interface Tile {
  users: number;
  panels: number;
}
/** Rows are padded to a multiple of this, the chunk of the per-row maxima. */
const CHUNK_ITEMS = 64;
const PAGE = 65536;

const moduleCache = new Map<string, object>();

/**
 * score(uPtr, nTiles, iPtr, nGroups, outPtr, strideBytes): for each tile of
 * users and each group of TILE_PANELS panels, the tile's scores for the
 * group's items are written at outPtr + user * strideBytes + group * 16 * TILE_PANELS.
 */
function scoreFunc(dp: number, tile: Tile): FuncSpec {
  const U = tile.users;
  const P = tile.panels;
  const panelBytes = dp * 16;
  const userBytes = dp * 4;
  // params
  const uPtr = 0, nTiles = 1, iPtr = 2, nGroups = 3, outPtr = 4, stride = 5;
  // i32 locals
  const t = 6, g = 7, up = 8, ip = 9, k = 10, rowPtr = 11;
  const nI32 = 6;
  // v128 locals
  const acc = 12; // U * P accumulators, acc + u * P + p
  const panel = acc + U * P; // P panel vectors
  const splat = panel + P;
  const nV128 = U * P + P + 1;

  const b: number[] = [];
  const emit = (...xs: number[][]) => {
    for (const x of xs) b.push(...x);
  };
  emit(op.i32Const(0), op.localSet(t), op.block, op.loop);
  emit(op.localGet(t), op.localGet(nTiles), op.i32GeU, op.brIf(1));
  emit(op.i32Const(0), op.localSet(g), op.block, op.loop);
  emit(op.localGet(g), op.localGet(nGroups), op.i32GeU, op.brIf(1));
  for (let a = 0; a < U * P; a++) emit(op.v128Zero, op.localSet(acc + a));
  emit(op.localGet(uPtr), op.localGet(t), op.i32Const(U * userBytes), op.i32Mul, op.i32Add, op.localSet(up));
  emit(op.localGet(iPtr), op.localGet(g), op.i32Const(P * panelBytes), op.i32Mul, op.i32Add, op.localSet(ip));
  // k runs over the padded dimensions four at a time (dp is a multiple of 4).
  // (Unrolling it completely, constant offsets and no counter, measured 2x slower.)
  emit(op.i32Const(0), op.localSet(k), op.block, op.loop);
  for (let kk = 0; kk < 4; kk++) {
    for (let p = 0; p < P; p++) emit(op.localGet(ip), op.v128Load(p * panelBytes + kk * 16), op.localSet(panel + p));
    for (let u = 0; u < U; u++) {
      emit(op.localGet(up), op.v128Load32Splat(u * userBytes + kk * 4), op.localSet(splat));
      for (let p = 0; p < P; p++) {
        const a = acc + u * P + p;
        emit(op.localGet(splat), op.localGet(panel + p), op.f32x4Mul, op.localGet(a), op.f32x4Add, op.localSet(a));
      }
    }
  }
  emit(op.localGet(ip), op.i32Const(64), op.i32Add, op.localSet(ip));
  emit(op.localGet(up), op.i32Const(16), op.i32Add, op.localSet(up));
  emit(op.localGet(k), op.i32Const(4), op.i32Add, op.localTee(k), op.i32Const(dp), op.i32LtU, op.brIf(0), op.end, op.end);
  for (let u = 0; u < U; u++) {
    // rowPtr = outPtr + (t * U + u) * stride + g * 16 * P
    emit(op.localGet(outPtr), op.localGet(t), op.i32Const(U), op.i32Mul, op.i32Const(u), op.i32Add);
    emit(op.localGet(stride), op.i32Mul, op.i32Add, op.localGet(g), op.i32Const(16 * P), op.i32Mul, op.i32Add, op.localSet(rowPtr));
    for (let p = 0; p < P; p++) emit(op.localGet(rowPtr), op.localGet(acc + u * P + p), op.v128Store(p * 16));
  }
  emit(op.localGet(g), op.i32Const(1), op.i32Add, op.localSet(g), op.br(0), op.end, op.end);
  emit(op.localGet(t), op.i32Const(1), op.i32Add, op.localSet(t), op.br(0), op.end, op.end);

  return {
    exportName: 'score',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [
      { count: nI32, type: I32 },
      { count: nV128, type: V128 },
    ],
    body: b,
  };
}

/**
 * chunkMax(ptr, nChunks, outPtr): the maximum of each run of CHUNK_ITEMS
 * floats, so top-K selection can skip whole chunks below its threshold
 * (after the first few chunks, nearly all of them). NaN entries are ignored.
 */
function chunkMaxFunc(): FuncSpec {
  const ptr = 0, nChunks = 1, outPtr = 2, c = 3;
  const m = 4; // 4 v128 accumulators: independent pmax chains
  const b: number[] = [];
  const emit = (...xs: number[][]) => {
    for (const x of xs) b.push(...x);
  };
  const negInf = [...op.f32Const(-Infinity), ...op.f32x4Splat];
  emit(op.i32Const(0), op.localSet(c), op.block, op.loop);
  emit(op.localGet(c), op.localGet(nChunks), op.i32GeU, op.brIf(1));
  for (let a = 0; a < 4; a++) emit(negInf, op.localSet(m + a));
  for (let v = 0; v < CHUNK_ITEMS / 4; v++) {
    const a = m + (v & 3);
    emit(op.localGet(a), op.localGet(ptr), op.v128Load(v * 16), op.f32x4Pmax, op.localSet(a));
  }
  emit(op.localGet(m), op.localGet(m + 1), op.f32x4Pmax, op.localGet(m + 2), op.localGet(m + 3), op.f32x4Pmax, op.f32x4Pmax, op.localSet(m));
  // out[c] = max of the four lanes
  emit(op.localGet(outPtr), op.localGet(c), op.i32Const(4), op.i32Mul, op.i32Add);
  emit(op.localGet(m), op.f32x4ExtractLane(0), op.localGet(m), op.f32x4ExtractLane(1), op.f32Max);
  emit(op.localGet(m), op.f32x4ExtractLane(2), op.localGet(m), op.f32x4ExtractLane(3), op.f32Max, op.f32Max);
  emit(op.f32Store(0));
  emit(op.localGet(ptr), op.i32Const(CHUNK_ITEMS * 4), op.i32Add, op.localSet(ptr));
  emit(op.localGet(c), op.i32Const(1), op.i32Add, op.localSet(c), op.br(0), op.end, op.end);
  return {
    exportName: 'chunkMax',
    params: [I32, I32, I32],
    locals: [
      { count: 1, type: I32 },
      { count: 4, type: V128 },
    ],
    body: b,
  };
}

/**
 * countBelowEqual(ptr, nVec, t, outPtr): lane counts of entries < t and == t
 * over 4 * nVec floats (i32x4 at outPtr and outPtr + 16). NaN counts in
 * neither, which is how AUC leaves out test items and padding.
 */
function countFunc(): FuncSpec {
  const ptr = 0, nVec = 1, t = 2, outPtr = 3, k = 4;
  const ts = 5, below = 6, equal = 7, v = 8;
  const b: number[] = [];
  const emit = (...xs: number[][]) => {
    for (const x of xs) b.push(...x);
  };
  emit(op.localGet(t), op.f32x4Splat, op.localSet(ts));
  emit(op.v128Zero, op.localSet(below), op.v128Zero, op.localSet(equal));
  emit(op.i32Const(0), op.localSet(k), op.block, op.loop);
  emit(op.localGet(k), op.localGet(nVec), op.i32GeU, op.brIf(1));
  emit(op.localGet(ptr), op.v128Load(0), op.localSet(v));
  // A true comparison is all ones (-1): subtracting it counts one.
  emit(op.localGet(below), op.localGet(v), op.localGet(ts), op.f32x4Lt, op.i32x4Sub, op.localSet(below));
  emit(op.localGet(equal), op.localGet(v), op.localGet(ts), op.f32x4Eq, op.i32x4Sub, op.localSet(equal));
  emit(op.localGet(ptr), op.i32Const(16), op.i32Add, op.localSet(ptr));
  emit(op.localGet(k), op.i32Const(1), op.i32Add, op.localSet(k), op.br(0), op.end, op.end);
  emit(op.localGet(outPtr), op.localGet(below), op.v128Store(0), op.localGet(outPtr), op.localGet(equal), op.v128Store(16));
  return {
    exportName: 'countBelowEqual',
    params: [I32, I32, F32, I32],
    locals: [
      { count: 1, type: I32 },
      { count: 4, type: V128 },
    ],
    body: b,
  };
}

function kernelModule(dp: number, tile: Tile): object {
  const key = `${dp}/${tile.users}x${tile.panels}`;
  const cached = moduleCache.get(key);
  if (cached) return cached;
  const mod = new (api().Module)(assembleModule([scoreFunc(dp, tile), chunkMaxFunc(), countFunc()]));
  moduleCache.set(key, mod);
  return mod;
}

function api(): NonNullable<typeof wasmApi> {
  if (!wasmApi) throw new Error('WebAssembly is not available in this JavaScript engine; use the js scorer');
  return wasmApi;
}

type ScoreFn = (uPtr: number, nTiles: number, iPtr: number, nGroups: number, outPtr: number, strideBytes: number) => void;
type ChunkMaxFn = (ptr: number, nChunks: number, outPtr: number) => void;
type CountFn = (ptr: number, nVec: number, t: number, outPtr: number) => void;

interface Kernel {
  score: ScoreFn;
  chunkMax: ChunkMaxFn;
  countBelowEqual: CountFn;
}

/**
 * Linear memory layout (byte offsets, all 16-byte aligned):
 *   items   nIp x dp floats, as panels
 *   users   maxUsers x dp floats, row-major
 *   scores  maxUsers x nIp floats (the block's rows; padding entries NaN)
 *   maxima  maxUsers x nIp / CHUNK_ITEMS floats
 *   counts  2 x i32x4
 */
export class AsmScorer implements BlockScorer {
  readonly kind = 'wasm' as const;
  readonly maxUsers: number;
  stride = 0;
  readonly chunkItems = CHUNK_ITEMS;
  below = 0;
  equal = 0;
  private readonly memory: WasmMemory = new (api().Memory)({ initial: 1 });
  private f32 = new Float32Array(this.memory.buffer);
  private i32 = new Int32Array(this.memory.buffer);
  private k: Kernel | undefined;
  private kDp = -1;
  private dp = 0;
  private nGroups = 0;
  private itemsPtr = 0;
  private usersPtr = 0;
  private scoresPtr = 0;
  private maximaPtr = 0;
  private countsPtr = 0;
  private nItems = -1;
  private d = -1;
  private lastUsers = 0;

  constructor(maxUsers: number, private readonly tile: Tile = { users: TILE_USERS, panels: TILE_PANELS }) {
    if (CHUNK_ITEMS % (4 * tile.panels) !== 0) throw new RangeError(`tile panels must divide ${CHUNK_ITEMS / 4}`);
    this.maxUsers = Math.max(tile.users, Math.ceil(maxUsers / tile.users) * tile.users);
  }

  loadItems(model: Model): void {
    const d = model.dim;
    const nItems = model.nItems;
    const dp = Math.ceil(d / 4) * 4;
    const nIp = Math.max(CHUNK_ITEMS, Math.ceil(nItems / CHUNK_ITEMS) * CHUNK_ITEMS);
    this.dp = dp;
    this.nGroups = nIp / (4 * this.tile.panels);
    this.stride = nIp;
    this.itemsPtr = 0;
    this.usersPtr = nIp * dp * 4;
    this.scoresPtr = this.usersPtr + this.maxUsers * dp * 4;
    this.maximaPtr = this.scoresPtr + this.maxUsers * nIp * 4;
    this.countsPtr = this.maximaPtr + this.maxUsers * (nIp / CHUNK_ITEMS) * 4;
    const need = this.countsPtr + 32;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
    this.f32 = new Float32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
    if (this.kDp !== dp) {
      const inst = new (api().Instance)(kernelModule(dp, this.tile), { env: { mem: this.memory } });
      this.k = inst.exports as unknown as Kernel;
      this.kDp = dp;
    }
    this.nItems = nItems;
    this.d = d;
    this.packItems(model.item, nItems, d, dp, nIp);
  }

  private packItems(item: Float32Array, nItems: number, d: number, dp: number, nIp: number): void {
    const f = this.f32;
    const base = this.itemsPtr >> 2;
    // Padding (extra dimensions, extra items) must be zero: it enters the sums.
    f.fill(0, base, base + nIp * dp);
    for (let i = 0; i < nItems; i++) {
      const lane = i & 3;
      const dst = base + (i >> 2) * dp * 4 + lane;
      const src = i * d;
      for (let k = 0; k < d; k++) f[dst + k * 4] = item[src + k]!;
    }
  }

  score(model: Model, users: Int32Array, n: number): Float32Array {
    if (model.nItems !== this.nItems || model.dim !== this.d) throw new Error('AsmScorer: loadItems() first for this model shape');
    if (n > this.maxUsers) throw new RangeError(`AsmScorer: ${n} users > capacity ${this.maxUsers}`);
    const f = this.f32;
    const d = this.d;
    const dp = this.dp;
    const ub = this.usersPtr >> 2;
    const nTiles = Math.ceil(n / this.tile.users);
    // Rows past n in the last tile are zero users; their scores are never read.
    f.fill(0, ub, ub + nTiles * this.tile.users * dp);
    const user = model.user;
    for (let b = 0; b < n; b++) {
      const src = users[b]! * d;
      const dst = ub + b * dp;
      for (let k = 0; k < d; k++) f[dst + k] = user[src + k]!;
    }
    this.k!.score(this.usersPtr, nTiles, this.itemsPtr, this.nGroups, this.scoresPtr, this.stride * 4);
    const sb = this.scoresPtr >> 2;
    // Padding items score NaN: never selected, never counted, never a chunk's maximum.
    for (let b = 0; b < n; b++) f.fill(NaN, sb + b * this.stride + this.nItems, sb + (b + 1) * this.stride);
    this.lastUsers = n;
    return f.subarray(sb, sb + n * this.stride);
  }

  /** One SIMD pass over the block's rows (after masking: the maxima must be exact). */
  chunkMaxima(): Float32Array {
    const nChunks = (this.lastUsers * this.stride) / CHUNK_ITEMS;
    this.k!.chunkMax(this.scoresPtr, nChunks, this.maximaPtr);
    const mb = this.maximaPtr >> 2;
    return this.f32.subarray(mb, mb + nChunks);
  }

  countBelowEqual(row: number, t: number): void {
    this.k!.countBelowEqual(this.scoresPtr + row * this.stride * 4, this.stride >> 2, t, this.countsPtr);
    const c = this.countsPtr >> 2;
    const i = this.i32;
    this.below = i[c]! + i[c + 1]! + i[c + 2]! + i[c + 3]!;
    this.equal = i[c + 4]! + i[c + 5]! + i[c + 6]! + i[c + 7]!;
  }
}
