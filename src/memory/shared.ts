/**
 * The few shared-memory helpers pris needs (there is no npm package for this;
 * `sharedarraybuffer-utils` does not exist).
 *
 * Typed arrays backed by a SharedArrayBuffer are structured-cloned to workers as
 * views of the same memory, so the model and the CSR are allocated here once by
 * the coordinator and handed to workers through `workerData`.
 */

export type SharedTypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

type Ctor<T> = { new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

function alloc<T>(C: Ctor<T>, length: number): T {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad shared array length ${length}`);
  // A zero-byte SAB is legal but some engines reject zero-length views on it; keep one element.
  return new C(new SharedArrayBuffer(Math.max(1, length) * C.BYTES_PER_ELEMENT), 0, length);
}

export const sharedFloat32 = (n: number): Float32Array => alloc(Float32Array, n);
export const sharedFloat64 = (n: number): Float64Array => alloc(Float64Array, n);
export const sharedInt32 = (n: number): Int32Array => alloc(Int32Array, n);
export const sharedUint32 = (n: number): Uint32Array => alloc(Uint32Array, n);
export const sharedUint8 = (n: number): Uint8Array => alloc(Uint8Array, n);

/** A copy of `src` in shared memory (a no-op if it already lives there). */
export function toShared<T extends SharedTypedArray>(src: T): T {
  if (src.buffer instanceof SharedArrayBuffer) return src;
  const C = src.constructor as unknown as Ctor<T>;
  const dst = alloc(C, src.length) as unknown as T;
  (dst as unknown as { set(a: ArrayLike<number>): void }).set(src as unknown as ArrayLike<number>);
  return dst;
}

export function isShared(a: SharedTypedArray): boolean {
  return a.buffer instanceof SharedArrayBuffer;
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
