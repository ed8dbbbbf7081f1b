/**
 * Append-only typed arrays of unknown final length (rows read from a stream),
 * stored as fixed-size chunks: growing never copies, and a 48M-row column
 * never holds more than one chunk of slack. `finish` copies the chunks into
 * one exactly sized array and lets them go.
 */
type Typed = Int32Array | Float32Array | Float64Array | Uint8Array;
type Ctor<T extends Typed> = new (n: number) => T;

const CHUNK = 1 << 20;

export class Growable<T extends Typed> {
  private readonly chunks: T[] = [];
  private current: T;
  private at = 0;
  length = 0;

  constructor(private readonly C: Ctor<T>) {
    this.current = new C(CHUNK);
  }

  push(v: number): void {
    if (this.at === CHUNK) {
      this.chunks.push(this.current);
      this.current = new this.C(CHUNK);
      this.at = 0;
    }
    this.current[this.at++] = v;
    this.length++;
  }

  /** The values pushed so far, as an exactly sized array (a copy; the builder is spent). */
  finish(): T {
    const out = new this.C(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c as never, off);
      off += c.length;
    }
    out.set(this.current.subarray(0, this.at) as never, off);
    this.chunks.length = 0;
    this.current = new this.C(0);
    this.at = 0;
    return out;
  }
}
