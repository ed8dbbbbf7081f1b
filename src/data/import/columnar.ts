import { readFileSync } from 'node:fs';
import { Type, tableFromIPC, type Data, type Table } from 'apache-arrow';
import { UserError } from '../../errors.js';
import type { RowCollector } from '../collect.js';
import { internIdBytes, refusedId } from '../fields.js';
import type { Interner } from '../idmap.js';
import { readParquetTable } from '../parquet-io.js';
import type { Format, FormatOptions } from './format.js';

/**
 * Columnar inputs: Parquet files and Arrow IPC files or streams (Feather v2),
 * as pandas, Polars, DuckDB or Spark write them. The user and item columns
 * (--user-col / --item-col: a name or a 0-based number; default 0 and 1) may
 * be text (Utf8, LargeUtf8, Utf8View: Polars writes views) or integers of any
 * width (Int64 is what pandas and Polars write), or dictionary-encoded
 * (categoricals); --weight-col any number, --timestamp-col an integer or
 * timestamp column (its stored integer is kept). Ids follow the text
 * formats' rules (blanks trimmed, not empty, valid UTF-8): text is interned
 * straight from the column's bytes, integers from their decimal digits.
 */

const ROLES = [
  ['user', 'userCol', '--user-col', '0'],
  ['item', 'itemCol', '--item-col', '1'],
  ['weight', 'weightCol', '--weight-col', undefined],
  ['timestamp', 'timestampCol', '--timestamp-col', undefined],
] as const;

/** Column index for each role given (a name, or a 0-based number when no column has that name). */
function pickColumns(file: string, table: Table, opts: FormatOptions): Partial<Record<(typeof ROLES)[number][0], number>> {
  const names = table.schema.fields.map((f) => f.name);
  const out: Partial<Record<(typeof ROLES)[number][0], number>> = {};
  for (const [role, key, flag, fallback] of ROLES) {
    const spec = opts[key] ?? fallback;
    if (spec === undefined) continue;
    let k = names.indexOf(spec);
    if (k < 0 && /^[0-9]+$/.test(spec)) k = Number(spec);
    if (k < 0 || k >= names.length) throw new UserError(`${file}: ${flag} '${spec}' is not a column (columns: ${names.join(', ') || 'none'})`);
    out[role] = k;
  }
  for (const [role, k] of Object.entries(out)) {
    const other = Object.entries(out).find(([r, c]) => r !== role && c === k);
    if (other) throw new UserError(`${file}: the ${role} and ${other[0]} columns are the same column (${names[k]})`);
  }
  return out;
}

/** `row`: 0-based; said counted from 1, as lines are. */
const rowError = (file: string, row: number, problem: string) => new UserError(`${file}: row ${row + 1}: ${problem}`);

/** Decimal digits of an integer id, written into `scratch` (no string per row). */
function digitsOf(v: number | bigint, scratch: Uint8Array): number {
  let s = typeof v === 'bigint' ? v.toString() : Number.isSafeInteger(v) ? '' : String(v);
  if (s === '') {
    let x = v as number;
    const neg = x < 0;
    if (neg) x = -x;
    let n = 0;
    do {
      scratch[20 - ++n] = 48 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
    if (neg) scratch[20 - ++n] = 45;
    scratch.copyWithin(0, 20 - n, 20);
    return n;
  }
  for (let k = 0; k < s.length; k++) scratch[k] = s.charCodeAt(k);
  return s.length;
}

/**
 * Provisional ids of one chunk of an id column; `row0`: the chunk's first
 * row in the file, for messages.
 */
function internChunk(data: Data, interner: Interner, what: string, file: string, row0: number): Int32Array {
  const n = data.length;
  const out = new Int32Array(n);
  const check = (id: number, i: number) => {
    if (id < 0) throw rowError(file, row0 + i, refusedId(id, what));
    return id;
  };
  const nulls = data.nullCount > 0;
  const isNull = (i: number) => nulls && !data.getValid(i);
  const t = data.type;
  switch (t.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8: {
      const values = data.values as Uint8Array;
      const offsets = data.valueOffsets as Int32Array | BigInt64Array;
      for (let i = 0; i < n; i++) {
        if (isNull(i)) throw rowError(file, row0 + i, `${what} id is null`);
        out[i] = check(internIdBytes(interner, values, Number(offsets[i]!), Number(offsets[i + 1]!)), i);
      }
      return out;
    }
    case Type.Utf8View: {
      // 16-byte views: length, then the bytes inline (up to 12) or a buffer index and an offset.
      const views = data.values as Uint8Array;
      const dv = new DataView(views.buffer, views.byteOffset, views.byteLength);
      for (let i = 0; i < n; i++) {
        if (isNull(i)) throw rowError(file, row0 + i, `${what} id is null`);
        const at = i * 16;
        const len = dv.getInt32(at, true);
        const id =
          len <= 12
            ? internIdBytes(interner, views, at + 4, at + 4 + Math.max(0, len))
            : internIdBytes(interner, data.variadicBuffers[dv.getInt32(at + 8, true)]!, dv.getInt32(at + 12, true), dv.getInt32(at + 12, true) + len);
        out[i] = check(id, i);
      }
      return out;
    }
    case Type.Int: {
      const values = data.values as ArrayLike<number | bigint>;
      const scratch = new Uint8Array(24);
      for (let i = 0; i < n; i++) {
        if (isNull(i)) throw rowError(file, row0 + i, `${what} id is null`);
        out[i] = interner.internBytes(scratch, 0, digitsOf(values[i]!, scratch));
      }
      return out;
    }
    case Type.Dictionary: {
      // Each dictionary entry is interned once; rows take their entry's id.
      const dict = data.dictionary!;
      const entryIds = new Int32Array(dict.length);
      let at = 0;
      for (const chunk of dict.data) {
        entryIds.set(internChunk(chunk, interner, what, `${file} (dictionary of the ${what} column)`, at), at);
        at += chunk.length;
      }
      const codes = data.values as ArrayLike<number | bigint>;
      for (let i = 0; i < n; i++) {
        if (isNull(i)) throw rowError(file, row0 + i, `${what} id is null`);
        out[i] = entryIds[Number(codes[i]!)]!;
      }
      return out;
    }
    default:
      throw new UserError(`${file}: the ${what} column has type ${String(t)}; ids must be text or integers`);
  }
}

/** Numbers of one chunk of a weight or timestamp column. */
function numbersOfChunk(data: Data, what: string, file: string, row0: number, integer: boolean): Float64Array {
  const t = data.type;
  const numeric = t.typeId === Type.Int || (!integer && t.typeId === Type.Float) || (integer && t.typeId === Type.Timestamp);
  if (!numeric) throw new UserError(`${file}: the ${what} column has type ${String(t)}; expected ${integer ? 'integers or timestamps' : 'numbers'}`);
  const values = data.values as ArrayLike<number | bigint>;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (data.nullCount > 0 && !data.getValid(i)) throw rowError(file, row0 + i, `${what} is null`);
    const v = Number(values[i]!);
    if (!Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) throw rowError(file, row0 + i, `${what} is not ${integer ? 'an integer that fits a double' : 'a finite number'} (${String(values[i])})`);
    out[i] = v;
  }
  return out;
}

function collect(file: string, table: Table, opts: FormatOptions, sink: RowCollector): void {
  const col = pickColumns(file, table, opts);
  let row0 = 0;
  // A record batch holds one chunk of every column, all of its length.
  for (const batch of table.batches) {
    const chunk = (k: number) => batch.getChildAt(k)!.data[0]!;
    const user = internChunk(chunk(col.user!), sink.users, 'user', file, row0);
    const item = internChunk(chunk(col.item!), sink.items, 'item', file, row0);
    const weight = col.weight === undefined ? undefined : numbersOfChunk(chunk(col.weight), 'weight', file, row0, false);
    const stamp = col.timestamp === undefined ? undefined : numbersOfChunk(chunk(col.timestamp), 'timestamp', file, row0, true);
    for (let r = 0; r < batch.numRows; r++) sink.add(user[r]!, item[r]!, weight ? weight[r]! : NaN, stamp ? stamp[r]! : NaN);
    row0 += batch.numRows;
  }
}

function columnarFormat(name: string, summary: string, meaning: string, read: (file: string) => Table | Promise<Table>): Format {
  return {
    name,
    summary,
    inputs: { min: 1, max: Infinity, meaning },
    options: ['userCol', 'itemCol', 'weightCol', 'timestampCol'],
    columns: (_inputs, opts) => ({ weight: opts.weightCol !== undefined, timestamp: opts.timestampCol !== undefined, predefinedTest: false }),
    async read(inputs, opts, sink) {
      for (const file of inputs) collect(file, await read(file), opts, sink);
      return {};
    },
  };
}

function readArrowFile(file: string): Table {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return tableFromIPC(bytes);
  } catch (e) {
    throw new UserError(`${file}: not a readable Arrow IPC file or stream (${(e as Error).message})`);
  }
}

export const parquet = columnarFormat(
  'parquet',
  'Parquet file(s): --user-col, --item-col (names or 0-based numbers; default 0, 1) [--weight-col] [--timestamp-col]',
  'file.parquet (several files are concatenated)',
  readParquetTable,
);

export const arrow = columnarFormat(
  'arrow',
  'Arrow IPC file or stream (Feather v2): --user-col, --item-col (default 0, 1) [--weight-col] [--timestamp-col]',
  'file.arrow (several files are concatenated)',
  readArrowFile,
);
