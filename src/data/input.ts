import { createReadStream, promises as fs } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { createProgress, type ProgressOptions } from '../util/progress.js';

/**
 * Raw input files, read as a stream of lines that know where they came from,
 * so every complaint about the content can name `file:line` and the text.
 * A gzip file (recognised by its magic bytes, not its name) is decompressed on
 * the fly; the raw text is never held in memory whole.
 */

const GZIP_MAGIC = [0x1f, 0x8b];
/** Offending text in error messages is cut to this many characters. */
const SHOW_CHARS = 200;
const PROGRESS_MIN_BYTES = 32 << 20;

export type ProgressMode = NonNullable<ProgressOptions['mode']>;

/**
 * `file:line: problem: "text"` as a UserError (exit 2, no stack). The parts
 * are kept, so a line number counted from the start of a byte range (a
 * parallel import's worker) can be made absolute.
 */
export class LineError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    readonly text: string,
  ) {
    const shown = text.length > SHOW_CHARS ? text.slice(0, SHOW_CHARS) + '…' : text;
    super(`${file}:${line}: ${problem}: ${JSON.stringify(shown)}`);
  }
}

export function lineError(file: string, line: number, problem: string, text: string): LineError {
  return new LineError(file, line, problem, text);
}

async function assertReadableFile(file: string): Promise<number> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw new UserError(`file not found: ${file}`);
  }
  if (!st.isFile()) throw new UserError(`not a file: ${file}`);
  return st.size;
}

export async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

interface OpenInput {
  /** Decompressed bytes. */
  text: Readable;
  /** Bytes as stored on disk (for progress against the file size). */
  raw: Readable;
  size: number;
}

async function openInput(file: string, range?: ByteRange): Promise<OpenInput> {
  const size = await assertReadableFile(file);
  if (range) {
    // Ranges are cut from plain files only (gzip cannot be entered mid-stream).
    const raw = createReadStream(file, { highWaterMark: 1 << 20, start: range.start, end: range.end - 1 });
    return { text: raw, raw, size: range.end - range.start };
  }
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!(await isGzip(file))) return { text: raw, raw, size };
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return { text: raw.pipe(gunzip), raw, size };
}

/** Stream failures (I/O, corrupt gzip) become UserErrors naming the file; anything else passes through. */
function streamError(file: string, e: unknown): unknown {
  if (e instanceof Error && 'code' in e && !(e instanceof UserError)) {
    return new UserError(`${file}: cannot read (${e.message})`);
  }
  return e;
}

export interface LineOptions {
  progress?: ProgressMode;
  /** Called with the bytes read so far, per chunk (a worker reports its progress this way). */
  onRead?: (bytes: number) => void;
}

/**
 * Part of a file: bytes [start, end), starting at a line start. `first`: it
 * is the file's beginning (a BOM is dropped and a header may follow).
 */
export interface ByteRange {
  start: number;
  end: number;
  first: boolean;
}

/**
 * Where a line came from, for error messages: the text is decoded only when
 * a message needs it. One object per reader, updated line by line, so its
 * fields are valid only during the callback that received it.
 */
export class LineRef {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  line = 0;
  constructor(readonly file: string) {}

  get text(): string {
    return this.buf.toString('utf8', this.start, this.end);
  }
}

/**
 * Calls `fn(ref)` for every line of `file` as a byte range `ref.buf[ref.start,
 * ref.end)` (1-based `ref.line`; `\r\n` and `\n` both end a line and are
 * left out; a UTF-8 BOM at the start is dropped; blank lines included).
 * Bytes, not strings: the importers intern ids straight from the bytes, so a
 * 48M-row file costs no string per field. Synchronous callback on purpose:
 * no promise per line.
 */
export async function forEachLineBytes(file: string, fn: (ref: LineRef) => void, opts: LineOptions = {}, range?: ByteRange): Promise<number> {
  if (range && range.end <= range.start) return 0;
  const input = await openInput(file, range);
  // Small files read in well under a second: a progress line would be noise.
  const mode = input.size < PROGRESS_MIN_BYTES ? 'quiet' : (opts.progress ?? 'auto');
  const progress = createProgress({ label: `reading ${path.basename(file)} (bytes)`, total: input.size, mode });
  let readBytes = 0;
  input.raw.on('data', (chunk: Buffer) => {
    readBytes += chunk.length;
    progress.update(readBytes);
    opts.onRead?.(readBytes);
  });
  const ref = new LineRef(file);
  const atFileStart = range?.first ?? true;
  const emit = (buf: Buffer, start: number, end: number) => {
    if (end > start && buf[end - 1] === 13) end--;
    if (ref.line === 0 && atFileStart && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    ref.buf = buf;
    ref.start = start;
    ref.end = end;
    ref.line++;
    fn(ref);
  };
  // The bytes of a line that a chunk boundary cut, waiting for the rest.
  let rest: Buffer | undefined;
  try {
    for await (const data of input.text) {
      const chunk = data as Buffer;
      let from = 0;
      if (rest) {
        const nl = chunk.indexOf(10);
        if (nl === -1) {
          rest = Buffer.concat([rest, chunk]);
          continue;
        }
        const joined = Buffer.concat([rest, chunk.subarray(0, nl + 1)]);
        rest = undefined;
        emit(joined, 0, joined.length - 1);
        from = nl + 1;
      }
      let nl: number;
      while ((nl = chunk.indexOf(10, from)) !== -1) {
        emit(chunk, from, nl);
        from = nl + 1;
      }
      // Copied: the stream may reuse the chunk's memory.
      if (from < chunk.length) rest = Buffer.from(chunk.subarray(from));
    }
    if (rest && rest.length > 0) emit(rest, 0, rest.length);
  } catch (e) {
    throw streamError(file, e);
  } finally {
    input.raw.destroy();
    input.text.destroy();
    progress.stop();
  }
  return ref.line;
}

/** The first `n` non-empty lines (fewer if the file is shorter), for format detection. */
export async function peekLines(file: string, n: number): Promise<string[]> {
  const input = await openInput(file);
  const decoder = new StringDecoder('utf8');
  let text = '';
  try {
    for await (const chunk of input.text) {
      text += decoder.write(chunk as Buffer);
      if (text.split('\n').filter((l) => l.trim() !== '').length > n) break;
    }
  } catch (e) {
    throw streamError(file, e);
  } finally {
    input.raw.destroy();
    input.text.destroy();
  }
  return text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '')
    .slice(0, n);
}
