import { Table } from 'apache-arrow';
import { UserError } from '../errors.js';
import {
  columnFloat32,
  columnInt32,
  columnInt64,
  columnUtf8,
  float32Vector,
  hasColumn,
  int32Vector,
  int64Vector,
  readTable,
  utf8Vector,
  writeTable,
} from './arrow-io.js';

/** One interaction per row, dense indices. `weight` and `timestamp` are optional columns. */
export interface Interactions {
  user: Int32Array;
  item: Int32Array;
  weight?: Float32Array;
  timestamp?: BigInt64Array;
}

export function interactionsTable(x: Interactions): Table {
  const cols: Record<string, ReturnType<typeof int32Vector>> = {
    user: int32Vector(x.user),
    item: int32Vector(x.item),
  };
  if (x.weight) cols.weight = float32Vector(x.weight);
  if (x.timestamp) cols.timestamp = int64Vector(x.timestamp);
  return new Table(cols);
}

export async function writeInteractions(file: string, x: Interactions): Promise<void> {
  await writeTable(file, interactionsTable(x));
}

export const INTERACTION_COLUMNS = ['user', 'item', 'weight', 'timestamp'];

/**
 * Reads an interactions file and checks its columns' names and types. With
 * `nUsers`/`nItems`, indices outside the id maps are an error naming the row;
 * with `only`, so is any column an interaction file does not have (a
 * recommendations table has user and item columns too).
 */
export function readInteractions(file: string, bounds?: { nUsers: number; nItems: number; only?: boolean }): Interactions {
  const t = readTable(file);
  if (bounds?.only) {
    const extra = t.schema.fields.map((f) => f.name).filter((n) => !INTERACTION_COLUMNS.includes(n));
    if (extra.length > 0) throw new UserError(`${file}: not an interactions file (unexpected columns: ${extra.join(', ')})`);
  }
  const user = columnInt32(t, 'user', file);
  const item = columnInt32(t, 'item', file);
  const out: Interactions = { user, item };
  if (hasColumn(t, 'weight')) out.weight = columnFloat32(t, 'weight', file);
  if (hasColumn(t, 'timestamp')) out.timestamp = columnInt64(t, 'timestamp', file);
  if (bounds) {
    for (let r = 0; r < user.length; r++) {
      const u = user[r]!;
      const i = item[r]!;
      if (u < 0 || u >= bounds.nUsers) throw new UserError(`${file}: row ${r}: user index ${u} outside 0..${bounds.nUsers - 1}`);
      if (i < 0 || i >= bounds.nItems) throw new UserError(`${file}: row ${r}: item index ${i} outside 0..${bounds.nItems - 1}`);
    }
  }
  return out;
}

/** Id maps: row k holds `index = k` and the raw id, so results join back to the source. */
export async function writeIdMap(file: string, ids: readonly string[]): Promise<void> {
  const index = new Int32Array(ids.length);
  for (let k = 0; k < ids.length; k++) index[k] = k;
  await writeTable(file, new Table({ index: int32Vector(index), id: utf8Vector(ids) }));
}

export function readIdMap(file: string): string[] {
  const t = readTable(file);
  const index = columnInt32(t, 'index', file);
  const id = columnUtf8(t, 'id', file);
  for (let k = 0; k < index.length; k++) {
    if (index[k] !== k) throw new UserError(`${file}: row ${k} has index ${index[k]}; id maps must list indices 0..n-1 in order`);
  }
  return id;
}
