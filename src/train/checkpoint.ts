import { closeSync, openSync, readSync, fstatSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/**
 * A checkpoint file: everything a run needs to continue where it stopped.
 *
 *   "PRISCKP1"            8 bytes, magic and format version
 *   header length         u32 little-endian
 *   header                JSON (utf-8): the run's state and the array directory
 *   arrays                raw little-endian bytes, each starting on an 8-byte boundary
 *
 * The arrays are written asynchronously, one positioned write each, while
 * training goes on: the trainer hands over copies that stay unchanged until
 * the write is done.
 */
const MAGIC = 'PRISCKP1';

export type CheckpointArray = Float32Array | Float64Array | Int32Array;

interface ArrayEntry {
  name: string;
  type: 'f32' | 'f64' | 'i32';
  length: number;
  offset: number;
}

export interface Checkpoint<S = unknown> {
  /** the run's state: epoch, history, configuration, ... (plain JSON) */
  state: S;
  arrays: Record<string, CheckpointArray>;
}

const typeOf = (a: CheckpointArray): ArrayEntry['type'] => (a instanceof Float32Array ? 'f32' : a instanceof Float64Array ? 'f64' : 'i32');

function bytesOf(a: CheckpointArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Writes `cp` to `file` and flushes it to the disk. `pris train` hands it the
 * temporary of OutputDir.writeFileWith (src/util/output.ts), renamed over
 * the previous checkpoint once written: a crash at any moment leaves the
 * previous checkpoint or the new one, never a torn file.
 */
/**
 * Writes `cp` into the new file `file` and syncs it, returning its size. The
 * arrays must not change until the promise settles (the trainer hands over
 * copies). Atomicity is the caller's: pris train writes into a temporary
 * and renames it (src/util/output.ts).
 */
export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<number> {
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(cp.arrays)) {
    offset = Math.ceil(offset / 8) * 8;
    entries.push({ name, type: typeOf(a), length: a.length, offset });
    offset += a.byteLength;
  }
  const header = Buffer.from(JSON.stringify({ state: cp.state, arrays: entries }), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(header.length, 8);
  const base = Math.ceil((12 + header.length) / 8) * 8;
  const fh = await fs.open(file, 'wx');
  try {
    await writeAll(fh, pre, 0);
    await writeAll(fh, header, 12);
    for (const e of entries) await writeAll(fh, bytesOf(cp.arrays[e.name]!), base + e.offset);
    // The padding after the last array is never written: give the file its whole length.
    await fh.truncate(base + offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return base + offset;
}

async function writeAll(fh: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  // A write may take less than asked for large buffers.
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30), position + done);
    done += bytesWritten;
  }
}

function readAll(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
}

/** Reads a checkpoint; a damaged or foreign file is a UserError naming it. */
export function readCheckpoint<S>(file: string): Checkpoint<S> {
  const name = path.basename(file);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new UserError(`cannot read checkpoint ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    const pre = Buffer.alloc(12);
    if (size < 12) throw new Error('too short');
    readAll(fd, pre, 0);
    if (pre.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a pris checkpoint');
    const headerLen = pre.readUInt32LE(8);
    if (12 + headerLen > size) throw new Error('truncated header');
    const header = Buffer.alloc(headerLen);
    readAll(fd, header, 12);
    const parsed = JSON.parse(header.toString('utf8')) as { state: S; arrays: ArrayEntry[] };
    const base = Math.ceil((12 + headerLen) / 8) * 8;
    const arrays: Record<string, CheckpointArray> = {};
    for (const e of parsed.arrays) {
      const a = e.type === 'f32' ? new Float32Array(e.length) : e.type === 'f64' ? new Float64Array(e.length) : new Int32Array(e.length);
      if (base + e.offset + a.byteLength > size) throw new Error(`truncated at array ${e.name}`);
      readAll(fd, bytesOf(a), base + e.offset);
      arrays[e.name] = a;
    }
    return { state: parsed.state, arrays };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: not a usable checkpoint (${(e as Error).message}); delete ${name} to start over without --resume`);
  } finally {
    closeSync(fd);
  }
}
