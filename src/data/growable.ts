/**
 * Append-only typed arrays of unknown final length (rows read from a stream),
 * stored as chunks: growing never copies, and a 48M-row column never holds
 * more than one chunk of slack. `finish` copies the chunks into one exactly
 * sized array; `takeChunks` hands them over as they are (to another thread).
 */
type Typed = Int32Array | Float32Array | Float64Array | Uint8Array;
type Ctor<T extends Typed> = new (n: number) => T;

const CHUNK = 1 << 20;

export class Growable<T extends Typed> {
  private chunks: T[] = [];
  private current: T;
  private at = 0;
  length = 0;

  constructor(private readonly C: Ctor<T>) {
    this.current = new C(CHUNK);
  }

  push(v: number): void {
    if (this.at === this.current.length) {
      this.chunks.push(this.current);
      this.current = new this.C(CHUNK);
      this.at = 0;
    }
    this.current[this.at++] = v;
    this.length++;
  }

  /** Appends whole arrays as they are (no copy: the builder takes them over). */
  appendChunks(list: readonly T[]): void {
    const held = this.takeChunks();
    this.chunks = [...held, ...list];
    for (const a of list) this.length += a.length;
  }

  /** The values pushed so far as chunks, in order (the builder starts empty again, length kept). */
  takeChunks(): T[] {
    const out = this.chunks;
    if (this.at > 0) out.push(this.current.subarray(0, this.at) as T);
    this.chunks = [];
    this.current = new this.C(CHUNK);
    this.at = 0;
    return out;
  }

  /** The values pushed so far, as an exactly sized array (a copy; the builder is spent). */
  finish(): T {
    const out = new this.C(this.length);
    let off = 0;
    for (const c of this.takeChunks()) {
      out.set(c as never, off);
      off += c.length;
    }
    this.current = new this.C(0);
    return out;
  }
}
