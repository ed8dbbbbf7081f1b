import { readFileSync, existsSync } from 'node:fs';
import {
  Table,
  Type,
  Field,
  Float32,
  FixedSizeList,
  Utf8,
  makeData,
  makeVector,
  tableFromIPC,
  tableToIPC,
  type Vector,
} from 'apache-arrow';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * Arrow IPC *file* format (the random-access "Feather v2" flavour) on disk,
 * which pyarrow (`pa.ipc.open_file` / `feather.read_table`), DuckDB and Polars
 * (`pl.read_ipc`) all open.
 */

export async function writeTable(file: string, table: Table): Promise<void> {
  await writeFileAtomic(file, tableToIPC(table, 'file'));
}

export function readTable(file: string): Table {
  if (!existsSync(file)) throw new UserError(`file not found: ${file}`);
  let t: Table;
  try {
    t = tableFromIPC(readFileSync(file));
  } catch (e) {
    throw new UserError(`${file}: not a readable Arrow IPC file (${(e as Error).message})`);
  }
  return t;
}

/** Checks that `name` exists with the expected Arrow type (`'Int32'`, `'Float32'`, `'Int64'`, `'Utf8'`). */
export function requireColumn(table: Table, name: string, expected: string, file: string): Vector {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field) {
    const have = table.schema.fields.map((f) => f.name).join(', ') || '(none)';
    throw new UserError(`${file}: missing column '${name}' (${expected}); columns present: ${have}`);
  }
  const actual = String(field.type);
  if (actual !== expected) {
    throw new UserError(`${file}: column '${name}' has type ${actual}, expected ${expected}`);
  }
  const col = table.getChild(name);
  if (!col) throw new UserError(`${file}: column '${name}' could not be read`);
  if (col.nullCount > 0) throw new UserError(`${file}: column '${name}' has ${col.nullCount} null values`);
  return col;
}

export function hasColumn(table: Table, name: string): boolean {
  return table.schema.fields.some((f) => f.name === name);
}

/** A numeric column as one contiguous typed array (copies only if chunked). */
export function columnInt32(table: Table, name: string, file: string): Int32Array {
  return requireColumn(table, name, 'Int32', file).toArray() as Int32Array;
}

export function columnFloat32(table: Table, name: string, file: string): Float32Array {
  return requireColumn(table, name, 'Float32', file).toArray() as Float32Array;
}

export function columnInt64(table: Table, name: string, file: string): BigInt64Array {
  return requireColumn(table, name, 'Int64', file).toArray() as BigInt64Array;
}

export function columnUtf8(table: Table, name: string, file: string): string[] {
  const v = requireColumn(table, name, 'Utf8', file);
  const out = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.get(i) as string;
  return out;
}

// ---- builders -------------------------------------------------------------

export const int32Vector = (a: Int32Array): Vector => makeVector(a);
export const float32Vector = (a: Float32Array): Vector => makeVector(a);
export const int64Vector = (a: BigInt64Array): Vector => makeVector(a);
/**
 * A Utf8 column built straight into offsets + bytes (the generic builder
 * costs several times the strings' size: a million ids would take hundreds
 * of MB); Int32 offsets cap a column at 2 GiB of text.
 */
export function utf8Vector(a: readonly string[]): Vector {
  let bytes = 0;
  for (const s of a) bytes += Buffer.byteLength(s, 'utf8');
  if (bytes > 0x7fffffff) throw new UserError(`a text column of ${bytes} bytes exceeds the 2 GiB an Arrow Utf8 column holds`);
  const data = Buffer.allocUnsafe(bytes);
  const valueOffsets = new Int32Array(a.length + 1);
  let at = 0;
  for (let k = 0; k < a.length; k++) {
    at += data.write(a[k]!, at, 'utf8');
    valueOffsets[k + 1] = at;
  }
  const values = new Uint8Array(data.buffer, data.byteOffset, bytes);
  return makeVector(makeData({ type: new Utf8(), length: a.length, nullCount: 0, valueOffsets, data: values }));
}

/** `n` rows of `d` float32s as a FixedSizeList<Float32>[d] column. */
export function embeddingVector(values: Float32Array, n: number, d: number): Vector {
  if (values.length !== n * d) throw new RangeError(`embedding values ${values.length} != ${n} x ${d}`);
  const child = makeData({ type: new Float32(), length: n * d, data: values });
  const type = new FixedSizeList(d, new Field('item', new Float32(), false));
  return makeVector(makeData({ type, length: n, nullCount: 0, child }));
}

/** Reads a FixedSizeList<Float32>[d] column back into one flat row-major array. */
export function columnEmbedding(table: Table, name: string, file: string): { values: Float32Array; d: number } {
  const field = table.schema.fields.find((f) => f.name === name);
  if (!field) throw new UserError(`${file}: missing column '${name}' (FixedSizeList<Float32>)`);
  if (field.type.typeId !== Type.FixedSizeList || String(field.type.children[0]?.type) !== 'Float32') {
    throw new UserError(`${file}: column '${name}' has type ${String(field.type)}, expected FixedSizeList<Float32>`);
  }
  const d = (field.type as FixedSizeList).listSize;
  const col = table.getChild(name)!;
  const values = new Float32Array(col.length * d);
  let off = 0;
  for (const chunk of col.data) {
    const child = chunk.children[0]!;
    const start = chunk.offset * d;
    values.set((child.values as Float32Array).subarray(child.offset + start, child.offset + start + chunk.length * d), off);
    off += chunk.length * d;
  }
  return { values, d };
}

export { Table };
