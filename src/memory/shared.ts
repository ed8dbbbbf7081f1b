/**
 * The few shared-memory helpers pris needs (there is no npm package for this;
 * `sharedarraybuffer-utils` does not exist).
 *
 * Typed arrays backed by a SharedArrayBuffer are structured-cloned to workers as
 * views of the same memory, so the model and the CSR are allocated once by the
 * coordinator and handed to workers through `workerData`.
 */

import { isMainThread } from 'node:worker_threads';

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
      throw new RangeError(`pris: shared memory exhausted (needs ${end} bytes; the WebAssembly limit is 4 GiB)`);
    }
    if (Atomics.compareExchange(ctrl, TOP_INDEX, old, end) === old) {
      const have = mem.buffer.byteLength;
      if (end > have) mem.grow(Math.ceil((end - have) / PAGE));
      return start;
    }
  }
}

/** Bytes handed out so far (for memory reports). */
export function sharedBytesInUse(): number {
  const mem = sharedMemory();
  return Atomics.load(new Uint32Array(mem.buffer, 0, RESERVED >> 2), TOP_INDEX) - RESERVED;
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
export const sharedUint8 = (n: number): Uint8Array => alloc(Uint8Array, n);

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
 * A seqlock-style version counter for data published whole by one writer and
 * read by many (cluster centers and labels). The writer fills the inactive half
 * of a double buffer, then bumps the version; the version's parity names the
 * active half. Readers load the version at a safe point (a user boundary) and
 * read that half; the writer never touches the half a reader may be using until
 * every reader has acknowledged a newer version (see `readerAcks`).
 *
 * Layout of the Int32Array control block:
 *   [0] version (0 = nothing published yet; version v lives in half (v & 1))
 *   [1 + r] the version reader r last switched to
 */
export interface VersionControl {
  ctrl: Int32Array;
  readers: number;
}

export function createVersionControl(readers: number): VersionControl {
  return { ctrl: sharedInt32(1 + readers), readers };
}

export function currentVersion(vc: VersionControl): number {
  return Atomics.load(vc.ctrl, 0);
}

/** Reader r announces it now reads version v (and no longer any older one). */
export function acknowledgeVersion(vc: VersionControl, reader: number, v: number): void {
  Atomics.store(vc.ctrl, 1 + reader, v);
}

/** The writer publishes a fully written half: version v+1 becomes active. */
export function publishVersion(vc: VersionControl): number {
  return Atomics.add(vc.ctrl, 0, 1) + 1;
}

/**
 * True when no reader can still be reading the half the writer wants to fill
 * next: every reader has acknowledged the current version (or reads nothing).
 */
export function inactiveHalfFree(vc: VersionControl): boolean {
  const v = Atomics.load(vc.ctrl, 0);
  for (let r = 0; r < vc.readers; r++) {
    const a = Atomics.load(vc.ctrl, 1 + r);
    if (a !== v && a !== 0 && a !== -1) return false;
  }
  return true;
}

/** Reader r leaves (end of an epoch task): it holds no half any more. */
export function releaseReader(vc: VersionControl, reader: number): void {
  Atomics.store(vc.ctrl, 1 + reader, -1);
}
