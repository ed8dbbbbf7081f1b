import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * Parquet files, for tools that prefer them to Arrow IPC (pandas, Polars,
 * DuckDB, Spark): pris writes the same tables it writes as Arrow (embeddings:
 * index, id, embedding FixedSizeList<Float32>[d]; recommendations: user,
 * rank, item, score, user_id, item_id) and reads interaction tables for
 * `pris data import parquet`.
 *
 * Writing goes through parquet-wasm (the Rust arrow-rs Parquet writer in
 * WebAssembly), chosen over hyparquet-writer by scripts/bench-parquet.ts
 * (figures in docs/formats.md): both write files DuckDB reads back exactly;
 * the Arrow table goes to the writer as one IPC buffer, so the embedding
 * column stays a fixed-size list and no value becomes a JavaScript number
 * on the way. Reading uses the same library: Parquet → Arrow IPC → apache-arrow.
 *
 * The library (a 5 MB WebAssembly module) is loaded on first use, so commands
 * that never touch Parquet do not pay for it at start-up.
 */

export type ParquetCodec = 'uncompressed' | 'snappy' | 'zstd';

type ParquetWasm = typeof import('parquet-wasm');
let library: Promise<ParquetWasm> | undefined;
const parquetWasm = (): Promise<ParquetWasm> => (library ??= import('parquet-wasm'));

/** The Parquet bytes of an Arrow table (parquet-wasm). */
export async function parquetBytes(table: Table, codec: ParquetCodec = 'snappy'): Promise<Uint8Array> {
  const pw = await parquetWasm();
  const compression = { uncompressed: pw.Compression.UNCOMPRESSED, snappy: pw.Compression.SNAPPY, zstd: pw.Compression.ZSTD }[codec];
  const props = new pw.WriterPropertiesBuilder().setCompression(compression).setCreatedBy('pris').build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}

/** Writes an Arrow table as a Parquet file, atomically (a temporary, then one rename). */
export async function writeParquetTable(file: string, table: Table, codec: ParquetCodec = 'snappy'): Promise<void> {
  await writeFileAtomic(file, await parquetBytes(table, codec));
}

/** A Parquet file as an Arrow table (all row groups; apache-arrow types as arrow-rs reads them). */
export async function readParquetTable(file: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as Error).message})`);
  }
  const pw = await parquetWasm();
  let ipc: Uint8Array;
  try {
    ipc = pw.readParquet(bytes).intoIPCStream();
  } catch (e) {
    throw new UserError(`${file}: not a readable Parquet file (${String((e as Error).message ?? e)})`);
  }
  return tableFromIPC(ipc);
}

/**
 * The key-value metadata of a Parquet file, read from its footer alone (the
 * last 8 bytes give the footer's length): undefined when `file` is not
 * Parquet. Lets an output kind recognise a file pris wrote without reading it.
 */
export async function parquetFileMetadata(file: string): Promise<Map<string, string> | undefined> {
  let footer: Buffer;
  try {
    const handle = await open(file);
    try {
      const { size } = await handle.stat();
      if (size < 12) return undefined;
      const tail = Buffer.alloc(8);
      await handle.read(tail, 0, 8, size - 8);
      if (tail.toString('latin1', 4) !== 'PAR1') return undefined;
      const n = tail.readUInt32LE(0);
      if (n + 12 > size) return undefined;
      // The footer with the magic around it is all the metadata parser looks at.
      footer = Buffer.alloc(n + 12);
      footer.write('PAR1', 0, 'latin1');
      await handle.read(footer, 4, n + 8, size - n - 8);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  try {
    const pw = await parquetWasm();
    return new Map(pw.readSchema(footer).metadata());
  } catch {
    return undefined;
  }
}
