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
 * All shared arrays live in ONE shared WebAssembly.Memory, whose buffer is a
 * SharedArrayBuffer: JavaScript sees typed-array views, and the WebAssembly
 * kernels (src/kernels/assembly) address the same bytes through their
 * byteOffset. The memory is created in the main thread and handed to workers
 * (attachSharedMemory); any thread may allocate, through a lock-free bump
 * pointer kept inside the memory itself. Nothing is ever freed: a process
 * trains one model. wasm32 caps the total at 4 GiB.
 */
const PAGE = 65536;
/** The first page is the kernels' static data (math tables) and the allocator's control word. */
const RESERVED = PAGE;
const TOP_INDEX = 60000 >> 2;
const MAX_BYTES = 65536 * PAGE;

let memory: WebAssembly.Memory | undefined;

export function sharedMemory(): WebAssembly.Memory {
  if (!memory) {
    if (!isMainThread) throw new Error('pris: worker has no shared memory; call attachSharedMemory first');
    memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_BYTES / PAGE, shared: true });
    new Uint32Array(memory.buffer)[TOP_INDEX] = RESERVED;
  }
  return memory;
}

/** A worker adopts the memory the coordinator created. */
export function attachSharedMemory(m: WebAssembly.Memory): void {
  if (memory && memory !== m) throw new Error('pris: a different shared memory is already attached');
  memory = m;
}

function allocBytes(bytes: number, align: number): number {
  const mem = sharedMemory();
  const ctrl = new Uint32Array(mem.buffer, 0, RESERVED >> 2);
  for (;;) {
    const old = Atomics.load(ctrl, TOP_INDEX);
    const start = Math.ceil(old / align) * align;
    const end = start + Math.max(bytes, 0);
    if (end >= MAX_BYTES) {
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

/** The allocator's position: everything allocated later can be released together (`releaseShared`). */
export function sharedMark(): number {
  const mem = sharedMemory();
  return Atomics.load(new Uint32Array(mem.buffer, 0, RESERVED >> 2), TOP_INDEX);
}

/** Bytes allocated since `mark` (for memory reports). */
export function sharedBytesSince(mark: number): number {
  return sharedMark() - mark;
}

/**
 * Frees everything allocated since `mark`, for processes that train several
 * models one after another (experiments, benchmarks). Only when no other
 * thread can touch that memory any more: call it after the pools that used it
 * are destroyed. The bytes are zeroed, as fresh WebAssembly memory is.
 */
export function releaseShared(mark: number): void {
  if (!isMainThread) throw new Error('pris: releaseShared is for the main thread');
  const mem = sharedMemory();
  const ctrl = new Uint32Array(mem.buffer, 0, RESERVED >> 2);
  const top = Atomics.load(ctrl, TOP_INDEX);
  if (mark < RESERVED || mark > top) throw new RangeError(`releaseShared: bad mark ${mark}`);
  new Uint8Array(mem.buffer, mark, top - mark).fill(0);
  Atomics.store(ctrl, TOP_INDEX, mark);
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

/** True when `a` lies in the shared WebAssembly memory, so kernels can address it by byteOffset. */
export function inSharedMemory(a: SharedTypedArray): boolean {
  return memory !== undefined && a.buffer instanceof SharedArrayBuffer && a.byteOffset >= RESERVED && a.byteOffset + a.byteLength <= memory.buffer.byteLength;
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

/** Writer: the half of version current+1 is fully written; make it current. */
export function publishVersion(vc: VersionControl): number {
  return Atomics.add(vc.ctrl, 0, 1) + 1;
}
