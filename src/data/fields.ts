import { isUtf8 } from 'node:buffer';
import { parse as parseCsvSync } from 'csv-parse/sync';
import type { Interner } from './idmap.js';
import { lineError, type LineRef } from './input.js';

/**
 * Turning one line of text into fields and fields into values, with errors
 * that name the file, the line and the text. `Where` travels with every call
 * so the message can be built only when something is wrong.
 */
export interface Where {
  file: string;
  line: number;
  text: string;
}

/**
 * Fields of a delimited line. Lines without a quote character are split
 * directly (the fast path, nearly every line of real interaction data); a line
 * with a quote goes through csv-parse so quoted delimiters and doubled quotes
 * are read by the RFC 4180 rules. A field cannot span lines.
 */
export function splitDelimited(where: Where, delimiter: string, quote: string | null): string[] {
  const { text } = where;
  if (quote === null || !text.includes(quote)) return text.split(delimiter);
  let rows: string[][];
  try {
    rows = parseCsvSync(text, { delimiter, quote, relax_column_count: true, relax_quotes: true }) as string[][];
  } catch (e) {
    throw lineError(where.file, where.line, `cannot parse quoted fields (${(e as Error).message.replace(/\s+at line \d+$/, '')})`, text);
  }
  if (rows.length !== 1) throw lineError(where.file, where.line, 'a quoted field spans lines (not supported)', text);
  return rows[0]!;
}

/** A finite number; `what` names the column in the error (e.g. "rating"). */
export function parseNumber(s: string, what: string, where: Where): number {
  const v = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) throw lineError(where.file, where.line, `${what} is not a number (${JSON.stringify(s)})`, where.text);
  return v;
}

export function expectFields(fields: readonly string[], n: number, layout: string, where: Where): void {
  if (fields.length !== n) {
    throw lineError(where.file, where.line, `expected ${n} fields (${layout}), found ${fields.length}`, where.text);
  }
}

/** True when a field reads as a number: used to tell a header line from data. */
export function looksNumeric(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

// ---- fields as byte ranges ----------------------------------------------------

/**
 * The fields of one line as byte ranges of `buf`: field k is
 * `buf[pos[2k], pos[2k+1])`. One object per reader, refilled line by line.
 */
export class Fields {
  buf: Buffer = Buffer.alloc(0);
  pos = new Int32Array(16);
  n = 0;

  start(k: number): number {
    return this.pos[2 * k]!;
  }

  end(k: number): number {
    return this.pos[2 * k + 1]!;
  }

  text(k: number): string {
    return this.buf.toString('utf8', this.pos[2 * k]!, this.pos[2 * k + 1]!);
  }

  push(s: number, e: number): void {
    if (2 * this.n + 2 > this.pos.length) {
      const grown = new Int32Array(this.pos.length * 2);
      grown.set(this.pos);
      this.pos = grown;
    }
    this.pos[2 * this.n] = s;
    this.pos[2 * this.n + 1] = e;
    this.n++;
  }

  /** Fields that came through csv-parse (a quoted line): their UTF-8 bytes, packed. */
  setStrings(fields: readonly string[]): void {
    this.buf = Buffer.from(fields.join(''), 'utf8');
    this.n = 0;
    let at = 0;
    for (const f of fields) {
      const len = Buffer.byteLength(f, 'utf8');
      this.push(at, at + len);
      at += len;
    }
  }
}

const isBlank = (b: number): boolean => b === 32 || (b >= 9 && b <= 13);

/** Splits `ref`'s line at every occurrence of `delim` (one or more bytes) into `out`. */
export function splitBytes(ref: LineRef, delim: Buffer, out: Fields): void {
  const { buf, end } = ref;
  out.buf = buf;
  out.n = 0;
  let s = ref.start;
  const d0 = delim[0]!;
  if (delim.length === 1) {
    // indexOf is memchr: much faster than a byte loop over 60-byte lines.
    let k: number;
    while ((k = buf.indexOf(d0, s)) !== -1 && k < end) {
      out.push(s, k);
      s = k + 1;
    }
  } else {
    const dl = delim.length;
    for (let k = s; k <= end - dl; k++) {
      if (buf[k] !== d0) continue;
      let j = 1;
      while (j < dl && buf[k + j] === delim[j]) j++;
      if (j === dl) {
        out.push(s, k);
        s = k + dl;
        k += dl - 1;
      }
    }
  }
  out.push(s, end);
}

/** Whitespace-separated tokens of `ref`'s line (ASCII blanks). */
export function splitBlankBytes(ref: LineRef, out: Fields): void {
  const { buf, end } = ref;
  out.buf = buf;
  out.n = 0;
  let k = ref.start;
  for (;;) {
    while (k < end && isBlank(buf[k]!)) k++;
    if (k >= end) return;
    const s = k;
    while (k < end && !isBlank(buf[k]!)) k++;
    out.push(s, k);
  }
}

/**
 * The fields of a line that contains the quote character, by the RFC 4180
 * rules (csv-parse); the line must be valid UTF-8 to be read as text.
 */
export function splitQuoted(ref: LineRef, delimiter: string, quote: string, out: Fields): void {
  if (!isUtf8(ref.buf.subarray(ref.start, ref.end))) throw lineError(ref.file, ref.line, 'not valid UTF-8', ref.text);
  out.setStrings(splitDelimited(ref, delimiter, quote));
}

/** internIdBytes's answers for ids it refuses. */
export const EMPTY_ID = -1;
export const NOT_UTF8 = -2;

/**
 * Interns bytes `buf[s, e)` as a raw id: surrounding blanks removed (as
 * String#trim does), empty refused (EMPTY_ID), and bytes that are not UTF-8
 * refused (NOT_UTF8), so two different byte strings never become one id.
 */
export function internIdBytes(interner: Interner, buf: Uint8Array, s: number, e: number): number {
  while (s < e && isBlank(buf[s]!)) s++;
  while (e > s && isBlank(buf[e - 1]!)) e--;
  if (s < e && buf[s]! < 0x80 && buf[e - 1]! < 0x80) {
    const id = interner.internBytes(buf, s, e);
    if (id >= 0) return id;
  }
  if (s === e) return EMPTY_ID;
  const view = Buffer.from(buf.buffer, buf.byteOffset + s, e - s);
  if (!isUtf8(view)) return NOT_UTF8;
  // Non-ASCII at an edge: Unicode blanks (no-break space, ...) are trimmed as text.
  const text = view.toString('utf8').trim();
  return text === '' ? EMPTY_ID : interner.intern(text);
}

/** The message for an id internIdBytes refused. */
export const refusedId = (code: number, what: string): string => (code === EMPTY_ID ? `empty ${what} id` : `${what} id is not valid UTF-8`);

/** Interns field `k` of a line as a raw id (internIdBytes), a refused one failing with file:line. */
export function internField(interner: Interner, f: Fields, k: number, what: string, ref: LineRef): number {
  const id = internIdBytes(interner, f.buf, f.start(k), f.end(k));
  if (id < 0) throw lineError(ref.file, ref.line, refusedId(id, what), ref.text);
  return id;
}

/**
 * Interns field `k` as an id that must be a non-negative decimal integer
 * without leading zeros and within Int32 (the numeric formats: LightGCN
 * lists, CiteULike, MovieLens), so a damaged or binary file fails at its
 * first bad token.
 */
export function internIntegerField(interner: Interner, f: Fields, k: number, what: string, ref: LineRef): number {
  checkIntegerField(f, k, what, ref);
  return interner.internBytes(f.buf, f.start(k), f.end(k));
}

/** Refuses field `k` unless it is a non-negative decimal integer without leading zeros, within Int32. */
export function checkIntegerField(f: Fields, k: number, what: string, ref: LineRef): void {
  const buf = f.buf;
  const s = f.start(k);
  const e = f.end(k);
  let ok = e > s && (buf[s] !== 48 || e - s === 1);
  for (let j = s; ok && j < e; j++) ok = buf[j]! >= 48 && buf[j]! <= 57;
  if (!ok) {
    const shown = buf.toString('utf8', s, Math.min(e, s + 40));
    throw lineError(ref.file, ref.line, `${what} id is not a non-negative integer (${JSON.stringify(shown)})`, ref.text);
  }
  // These ids are dense indices (LightGCN, CiteULike) or small numbers (MovieLens): past Int32 they are damage.
  if (e - s > 10 || (e - s === 10 && Number(buf.toString('latin1', s, e)) > MAX_INT32)) {
    throw lineError(ref.file, ref.line, `${what} id ${buf.toString('latin1', s, Math.min(e, s + 40))} is beyond Int32 (at most ${MAX_INT32})`, ref.text);
  }
}

const MAX_INT32 = 2 ** 31 - 1;

/** Field `k` as a finite number (plain digits read directly; anything else as parseNumber reads it). */
export function numberField(f: Fields, k: number, what: string, ref: LineRef): number {
  const buf = f.buf;
  const s = f.start(k);
  const e = f.end(k);
  if (e > s && e - s <= 15) {
    let v = 0;
    let j = s;
    for (; j < e; j++) {
      const d = buf[j]! - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (j === e) return v;
  }
  return parseNumber(buf.toString('utf8', s, e), what, ref);
}

/** Field `k` as an integer that fits a double exactly. */
export function integerField(f: Fields, k: number, what: string, ref: LineRef): number {
  const v = numberField(f, k, what, ref);
  if (!Number.isSafeInteger(v)) throw lineError(ref.file, ref.line, `${what} is not an integer (${JSON.stringify(f.text(k))})`, ref.text);
  return v;
}
