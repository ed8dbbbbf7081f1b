/**
 * The few shared-memory helpers pris needs (there is no npm package for this;
 * `sharedarraybuffer-utils` does not exist).
 *
 * Typed arrays backed by a SharedArrayBuffer are structured-cloned to workers as
 * views of the same memory, so the model and the CSR are allocated once by the
 * coordinator and handed to workers through `workerData`.
 */

import { isMainThread } from 'node:worker_threads';
import { UserError } from '../errors.js';

export type SharedTypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

type Ctor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/*
 * Arrays the kernels address live in a shared WebAssembly.Memory (an
 * "arena"), whose buffer is a SharedArrayBuffer: JavaScript sees typed-array
 * views, and the WebAssembly kernels (src/kernels/assembly) address the same
 * bytes through their byteOffset. Each training session or loaded model owns
 * one arena, created by the main thread and handed to its workers
 * (attachSharedMemory), so two models in one process never share or leak
 * memory into each other, and an arena is freed with the last reference to it.
 * Allocation goes to the thread's current arena through a lock-free bump
 * pointer kept inside the memory itself (any thread may allocate); nothing is
 * freed before the whole arena is. wasm32 caps an arena at 4 GiB.
 *
 * Arrays that workers only read from JavaScript (the CSR splits) need not be
 * addressable by the kernels: they live in standalone SharedArrayBuffers
 * (`standaloneInt32`), outside any arena and its 4 GiB.
 */
const PAGE = 65536;
/** The first page is the kernels' static data (math tables) and the allocator's control word. */
const RESERVED = PAGE;
const TOP_INDEX = 60000 >> 2;
/** The most one arena (a wasm32 memory) can hold. */
export const MAX_ARENA_BYTES = 65536 * PAGE;

/** This thread's arena: the attached one in a worker; in the main thread the one `withArena` selects, else a default. */
let current: WebAssembly.Memory | undefined;
let mainDefault: WebAssembly.Memory | undefined;

/**
 * A new arena. `initialBytes` is committed up front (the operating system
 * only backs pages once touched), so a session sized in advance never grows.
 */
export function createArena(initialBytes = 0): WebAssembly.Memory {
  if (!isMainThread) throw new Error('pris: arenas are created by the main thread');
  const pages = Math.min(MAX_ARENA_BYTES / PAGE, Math.max(1, Math.ceil((RESERVED + Math.max(0, initialBytes)) / PAGE)));
  const m = new WebAssembly.Memory({ initial: pages, maximum: MAX_ARENA_BYTES / PAGE, shared: true });
  new Uint32Array(m.buffer)[TOP_INDEX] = RESERVED;
  return m;
}

/** The current arena of this thread. */
export function sharedMemory(): WebAssembly.Memory {
  if (current) return current;
  if (!isMainThread) throw new Error('pris: worker has no shared memory; call attachSharedMemory first');
  return (mainDefault ??= createArena());
}

/** A worker adopts the arena of the pool that started it, for its whole life. */
export function attachSharedMemory(m: WebAssembly.Memory): void {
  if (current && current !== m) throw new Error('pris: a different shared memory is already attached');
  current = m;
}

/**
 * Runs `fn` with `arena` as the main thread's current arena: every shared
 * allocation inside goes there. Synchronous only, so no other code can
 * allocate in between.
 */
export function withArena<T>(arena: WebAssembly.Memory, fn: () => T): T {
  if (!isMainThread) throw new Error('pris: withArena is for the main thread');
  const prev = current;
  current = arena;
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('pris: withArena needs a synchronous function');
    return r;
  } finally {
    current = prev;
  }
}

function allocBytes(bytes: number, align: number): number {
  const mem = sharedMemory();
  const ctrl = new Uint32Array(mem.buffer, 0, RESERVED >> 2);
  for (;;) {
    const old = Atomics.load(ctrl, TOP_INDEX);
    const start = Math.ceil(old / align) * align;
    const end = start + Math.max(bytes, 0);
    if (end >= MAX_ARENA_BYTES) {
      throw new UserError(
        `the model and data need more than the 4 GiB of shared memory WebAssembly allows (asked for ${(end / 2 ** 30).toFixed(1)} GiB); ` +
          'use a smaller --dim, fewer --threads or --batch-size, or a smaller dataset',
      );
    }
    if (Atomics.compareExchange(ctrl, TOP_INDEX, old, end) === old) {
      // Two threads may grow at once; each re-reads the size until it covers its end.
      for (let have = mem.buffer.byteLength; have < end; have = mem.buffer.byteLength) mem.grow(Math.ceil((end - have) / PAGE));
      return start;
    }
  }
}

/** Bytes allocated so far in `arena` (the current one by default), for memory reports. */
export function arenaBytesUsed(arena: WebAssembly.Memory = sharedMemory()): number {
  return Atomics.load(new Uint32Array(arena.buffer, 0, RESERVED >> 2), TOP_INDEX) - RESERVED;
}

function alloc<T>(C: Ctor<T>, length: number): T {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad shared array length ${length}`);
  // 64-byte alignment: rows start on cache lines and suit 16-byte SIMD loads.
  const start = allocBytes(length * C.BYTES_PER_ELEMENT, 64);
  return new C(sharedMemory().buffer, start, length);
}

export const sharedFloat32 = (n: number): Float32Array => alloc(Float32Array, n);
export const sharedFloat64 = (n: number): Float64Array => alloc(Float64Array, n);
export const sharedInt32 = (n: number): Int32Array => alloc(Int32Array, n);
export const sharedUint32 = (n: number): Uint32Array => alloc(Uint32Array, n);

/** An Int32Array in its own SharedArrayBuffer: workers read it without a copy; kernels cannot address it. */
export function standaloneInt32(n: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad shared array length ${n}`);
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

/** A copy of `src` in shared memory (a no-op if it already lives there). */
export function toShared<T extends SharedTypedArray>(src: T): T {
  if (inSharedMemory(src)) return src;
  const C = src.constructor as unknown as Ctor<T>;
  const dst = alloc(C, src.length) as unknown as T;
  (dst as unknown as { set(a: ArrayLike<number>): void }).set(src as unknown as ArrayLike<number>);
  return dst;
}

export function isShared(a: SharedTypedArray): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/**
 * True when `a` lies within this thread's current arena, so kernels can
 * address it by byteOffset. A range check: standalone buffers (offset 0) fail
 * it; a view of another arena of the same size would pass, so each session
 * allocates everything its kernels touch inside `withArena`.
 */
export function inSharedMemory(a: SharedTypedArray): boolean {
  const mem = current ?? mainDefault;
  return (
    mem !== undefined &&
    a.buffer instanceof SharedArrayBuffer &&
    a.byteOffset >= RESERVED &&
    a.buffer.byteLength <= mem.buffer.byteLength &&
    a.byteOffset + a.byteLength <= mem.buffer.byteLength
  );
}

/**
 * Data published whole by one writer and read by many (cluster tables): a
 * double buffer, a version counter and one "hazard" slot per reader.
 *
 * Version v (v >= 1) lives in half (v & 1); 0 means nothing published yet.
 * A reader announces the version it is about to read in its slot and then
 * re-checks that it is still current (`acquireVersion`), so the writer, which
 * only ever fills the half of version v - 1 after publishing v, can tell
 * whether someone may still be reading that half (`halfFreeForNext`). Readers
 * re-acquire at safe points (a user boundary) and release when they stop.
 *
 * Control block (Int32Array): [0] version, [1] reader slots claimed, [2 + r] reader r's version (-1 = none).
 */
export interface VersionControl {
  ctrl: Int32Array;
  readers: number;
}

export function createVersionControl(readers: number): VersionControl {
  const ctrl = sharedInt32(2 + readers);
  for (let r = 0; r < readers; r++) ctrl[2 + r] = -1;
  return { ctrl, readers };
}

export function currentVersion(vc: VersionControl): number {
  return Atomics.load(vc.ctrl, 0);
}

/** A reader thread takes its slot once. */
export function claimReaderSlot(vc: VersionControl): number {
  const r = Atomics.add(vc.ctrl, 1, 1);
  if (r >= vc.readers) throw new Error(`pris: more readers (${r + 1}) than reader slots (${vc.readers})`);
  return r;
}

/** Reader r: the version it may now read (0 = none yet); it stays readable until r acquires again or releases. */
export function acquireVersion(vc: VersionControl, r: number): number {
  const c = vc.ctrl;
  for (;;) {
    const v = Atomics.load(c, 0);
    Atomics.store(c, 2 + r, v);
    if (Atomics.load(c, 0) === v) return v;
  }
}

export function releaseReader(vc: VersionControl, r: number): void {
  Atomics.store(vc.ctrl, 2 + r, -1);
}

/** Writer: may the half of version current+1 (that of current-1) be overwritten now? */
export function halfFreeForNext(vc: VersionControl): boolean {
  const c = vc.ctrl;
  const v = Atomics.load(c, 0);
  for (let r = 0; r < vc.readers; r++) {
    const a = Atomics.load(c, 2 + r);
    if (a !== -1 && a !== v && a !== 0) return false;
  }
  return true;
}

/** Makes `v` the current version outright (restoring a checkpoint, before any reader starts). */
export function resetVersion(vc: VersionControl, v: number): void {
  Atomics.store(vc.ctrl, 0, v);
}

/** Writer: the half of version current+1 is fully written; make it current. */
export function publishVersion(vc: VersionControl): number {
  return Atomics.add(vc.ctrl, 0, 1) + 1;
}
