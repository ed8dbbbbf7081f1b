/**
 * pris's output files read back by an implementation that shares no code
 * with pris's writers: Polars (Rust, its own Parquet and Arrow IPC readers,
 * through nodejs-polars). A development dependency: the Parquet benchmark and
 * the tests use it to check that other tools read what pris writes.
 */
import { readFileSync } from 'node:fs';
import pl from 'nodejs-polars';

export interface ReadBack {
  /** Each column as JavaScript values (lists as arrays of numbers, 64-bit integers as bigint). */
  columns: Record<string, unknown[]>;
  /** Each column's Polars type, as Polars prints it. */
  types: Record<string, string>;
}

function readBack(df: pl.DataFrame): ReadBack {
  const columns: Record<string, unknown[]> = {};
  const types: Record<string, string> = {};
  for (const s of df.getColumns()) {
    types[s.name] = String(s.dtype);
    columns[s.name] = s.toArray().map((v: unknown) => (v !== null && typeof v === 'object' && 'toArray' in v ? Array.from((v as { toArray(): ArrayLike<number> }).toArray()) : v));
  }
  return { columns, types };
}

/** Every column of a Parquet file, by Polars. */
export function polarsParquet(file: string): ReadBack {
  return readBack(pl.readParquet(readFileSync(file)));
}

/** Every column of an Arrow IPC file, by Polars. */
export function polarsArrow(file: string): ReadBack {
  return readBack(pl.readIPC(readFileSync(file)));
}
