/**
 * Append-only typed arrays of unknown final length (rows read from a stream).
 * Capacity doubles, so a 48M-row file costs about 1.5x its final column size
 * at the moment of a resize instead of one JS number (8+ bytes) per value.
 */
type Typed = Int32Array | Float32Array | Float64Array | Uint8Array;
type Ctor<T extends Typed> = new (n: number) => T;

export class Growable<T extends Typed> {
  private buf: T;
  length = 0;

  constructor(
    private readonly C: Ctor<T>,
    initial = 1 << 16,
  ) {
    this.buf = new C(initial);
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new this.C(this.buf.length * 2);
      next.set(this.buf as never);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** The values pushed so far, as an exactly sized array (a copy; the builder is spent). */
  finish(): T {
    const out = this.buf.slice(0, this.length) as T;
    this.buf = new this.C(0);
    return out;
  }
}
