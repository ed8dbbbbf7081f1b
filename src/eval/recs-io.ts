import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';
import { RecordBatchReader, Table, Utf8, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { columnFloat32, columnInt32, columnUtf8, float32Vector, int32Vector, readTable, writeTable } from '../data/arrow-io.js';
import { parquetBytes, parquetFileMetadata } from '../data/parquet-io.js';
import type { OutputKind } from '../util/output.js';
import type { Recommendations } from './recommend.js';

/**
 * Recommendations on disk (Arrow IPC file, written atomically):
 *   user Int32, rank Int32 (1-based), item Int32, score Float32,
 *   user_id Utf8, item_id Utf8 (the raw ids from the dataset's id maps)
 * one row per (user, rank), users ascending. The schema's metadata says
 * `pris_output: recommendations`, so a later `pris recommend --force` knows
 * the file is one it may replace.
 */

const KIND_KEY = 'pris_output';

const encoder = new TextEncoder();

/**
 * A Utf8 column of `ids[index[r]]`, built straight into offsets + bytes: each
 * distinct id is encoded once, where a generic builder would re-encode 50
 * copies of every user id.
 */
function utf8ByIndex(index: Int32Array, ids: readonly string[]) {
  const encoded = new Array<Uint8Array | undefined>(ids.length);
  const enc = (i: number): Uint8Array => (encoded[i] ??= encoder.encode(ids[i]!));
  let bytes = 0;
  for (let r = 0; r < index.length; r++) bytes += enc(index[r]!).length;
  if (bytes > 0x7fffffff) throw new UserError('recommendation ids exceed 2 GB; write fewer users or a smaller --k');
  const offsets = new Int32Array(index.length + 1);
  const data = new Uint8Array(bytes);
  let at = 0;
  for (let r = 0; r < index.length; r++) {
    const b = enc(index[r]!);
    data.set(b, at);
    at += b.length;
    offsets[r + 1] = at;
  }
  return makeVector(makeData({ type: new Utf8(), length: index.length, nullCount: 0, valueOffsets: offsets, data }));
}

export function recommendationsTable(recs: Recommendations, userIds: readonly string[], itemIds: readonly string[]): Table {
  const t = new Table({
    user: int32Vector(recs.user),
    rank: int32Vector(recs.rank),
    item: int32Vector(recs.item),
    score: float32Vector(recs.score),
    user_id: utf8ByIndex(recs.user, userIds),
    item_id: utf8ByIndex(recs.item, itemIds),
  });
  t.schema.metadata.set(KIND_KEY, RECOMMENDATIONS_OUTPUT.name);
  return t;
}

/** The Arrow IPC file's bytes. */
export function recommendationsFile(recs: Recommendations, userIds: readonly string[], itemIds: readonly string[]): Uint8Array {
  return tableToIPC(recommendationsTable(recs, userIds, itemIds), 'file');
}

export async function writeRecommendations(file: string, recs: Recommendations, userIds: readonly string[], itemIds: readonly string[]): Promise<void> {
  await writeTable(file, recommendationsTable(recs, userIds, itemIds));
}

/** The `pris_output` of an Arrow IPC file's schema, read from its footer alone (not the whole file). */
async function arrowOutputKind(file: string): Promise<string | undefined> {
  const handle = await fs.open(file);
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    return reader.isFile() ? reader.schema.metadata.get(KIND_KEY) : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/** `pris recommend --out` as an output (src/util/output.ts): an Arrow file marked in its schema. */
export const RECOMMENDATIONS_OUTPUT: OutputKind = {
  name: 'recommendations',
  what: 'a recommendations file',
  identify: async (file) => (await arrowOutputKind(file)) === 'recommendations',
};

/** The same table as Parquet; the schema's `pris_output` lands in the file's key-value metadata. */
export function recommendationsParquet(recs: Recommendations, userIds: readonly string[], itemIds: readonly string[]): Promise<Uint8Array> {
  return parquetBytes(recommendationsTable(recs, userIds, itemIds));
}

/** `pris recommend --format parquet --out`: a Parquet file marked in its footer's metadata. */
export const RECOMMENDATIONS_PARQUET_OUTPUT: OutputKind = {
  name: 'recommendations',
  what: 'a recommendations file',
  identify: async (file) => (await parquetFileMetadata(file))?.get(KIND_KEY) === 'recommendations',
};

export interface RecommendationRows {
  user: Int32Array;
  rank: Int32Array;
  item: Int32Array;
  score: Float32Array;
  userId: string[];
  itemId: string[];
}

export function readRecommendations(file: string): RecommendationRows {
  const t = readTable(file);
  return {
    user: columnInt32(t, 'user', file),
    rank: columnInt32(t, 'rank', file),
    item: columnInt32(t, 'item', file),
    score: columnFloat32(t, 'score', file),
    userId: columnUtf8(t, 'user_id', file),
    itemId: columnUtf8(t, 'item_id', file),
  };
}
