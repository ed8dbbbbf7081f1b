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

/** `file:line: problem: "text"` as a UserError (exit 2, no stack). */
export function lineError(file: string, line: number, problem: string, text: string): UserError {
  const shown = text.length > SHOW_CHARS ? text.slice(0, SHOW_CHARS) + '…' : text;
  return new UserError(`${file}:${line}: ${problem}: ${JSON.stringify(shown)}`);
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

async function isGzip(file: string): Promise<boolean> {
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

async function openInput(file: string): Promise<OpenInput> {
  const size = await assertReadableFile(file);
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
}

/**
 * Calls `fn(text, line)` for every line (1-based numbers; `\r\n` and `\n` both
 * end a line; a UTF-8 BOM is dropped). Synchronous callback on purpose: one
 * call per line, no promise per line, which keeps 50M-line files fast.
 */
export async function forEachLine(
  file: string,
  fn: (text: string, line: number) => void,
  opts: LineOptions = {},
): Promise<number> {
  const input = await openInput(file);
  // Small files read in well under a second: a progress line would be noise.
  const mode = input.size < PROGRESS_MIN_BYTES ? 'quiet' : (opts.progress ?? 'auto');
  const progress = createProgress({ label: `reading ${path.basename(file)} (bytes)`, total: input.size, mode });
  let readBytes = 0;
  input.raw.on('data', (chunk: Buffer) => {
    readBytes += chunk.length;
    progress.update(readBytes);
  });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  const emit = (s: string, start: number, end: number) => {
    if (end > start && s.charCodeAt(end - 1) === 13) end--;
    let text = s.slice(start, end);
    if (line === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    fn(text, ++line);
  };
  try {
    for await (const chunk of input.text) {
      const s = rest + decoder.write(chunk as Buffer);
      let start = 0;
      let nl: number;
      while ((nl = s.indexOf('\n', start)) !== -1) {
        emit(s, start, nl);
        start = nl + 1;
      }
      rest = s.slice(start);
    }
    rest += decoder.end();
    if (rest.length > 0) emit(rest, 0, rest.length);
  } catch (e) {
    throw streamError(file, e);
  } finally {
    input.raw.destroy();
    input.text.destroy();
    progress.stop();
  }
  return line;
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
