import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Table } from 'apache-arrow';
import { UserError } from '../errors.js';
import { columnEmbedding, columnInt32, embeddingVector, int32Vector, readTable, utf8Vector, writeTable } from '../data/arrow-io.js';
import { writeParquetTable } from '../data/parquet-io.js';
import { writeFileAtomic } from '../util/atomic.js';
import { legacyByJson, type OutputKind } from '../util/output.js';
import { toShared } from '../memory/shared.js';
import { wrapModel, type Model } from './store.js';

/**
 * A saved model directory:
 *   user_embeddings.arrow, item_embeddings.arrow   index Int32, id Utf8, embedding FixedSizeList<Float32>[d]
 *   user_embeddings.parquet, item_embeddings.parquet   the same tables as Parquet, when saved with format 'parquet'
 *                  (for other tools; pris itself loads the Arrow files)
 *   config.json    the run's full configuration (and the dataset it was trained on)
 *   metrics.json   final metrics and timings
 */
export const MODEL_FILES = {
  users: 'user_embeddings.arrow',
  items: 'item_embeddings.arrow',
  usersParquet: 'user_embeddings.parquet',
  itemsParquet: 'item_embeddings.parquet',
  config: 'config.json',
  metrics: 'metrics.json',
} as const;

/**
 * A model directory as an output (src/util/output.ts). One saved before
 * outputs carried a marker is recognised by its config.json.
 */
export const MODEL_OUTPUT: OutputKind = {
  name: 'model',
  what: 'a model',
  legacyFiles: legacyByJson(MODEL_FILES.config, (j) => j.pris === 'model', (dir) => Object.values(MODEL_FILES).filter((f) => existsSync(path.join(dir, f)))),
};

export function embeddingTable(values: Float32Array, n: number, d: number, ids: readonly string[]): Table {
  const index = new Int32Array(n);
  for (let k = 0; k < n; k++) index[k] = k;
  // Arrow builders need a plain (non-shared) buffer they can own.
  const copy = new Float32Array(values.subarray(0, n * d));
  return new Table({ index: int32Vector(index), id: utf8Vector(ids), embedding: embeddingVector(copy, n, d) });
}

/** The file formats embeddings are saved in: Arrow always (what pris loads), Parquet besides on request. */
export const EMBEDDING_FORMATS = ['arrow', 'parquet'] as const;
export type EmbeddingFormat = (typeof EMBEDDING_FORMATS)[number];

/** Writes both embedding tables (each file atomically); `format` 'parquet' adds the Parquet copies. */
export async function saveEmbeddings(
  dir: string,
  model: Model,
  userIds: readonly string[],
  itemIds: readonly string[],
  format: EmbeddingFormat = 'arrow',
): Promise<void> {
  if (userIds.length !== model.nUsers || itemIds.length !== model.nItems) {
    throw new Error(`id maps (${userIds.length}/${itemIds.length}) do not match the model (${model.nUsers}/${model.nItems})`);
  }
  const users = embeddingTable(model.user, model.nUsers, model.dim, userIds);
  const items = embeddingTable(model.item, model.nItems, model.dim, itemIds);
  await writeTable(path.join(dir, MODEL_FILES.users), users);
  await writeTable(path.join(dir, MODEL_FILES.items), items);
  if (format === 'parquet') {
    await writeParquetTable(path.join(dir, MODEL_FILES.usersParquet), users);
    await writeParquetTable(path.join(dir, MODEL_FILES.itemsParquet), items);
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

export function readJson<T>(file: string): T {
  if (!existsSync(file)) throw new UserError(`file not found: ${file}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

function readEmbeddings(file: string): { values: Float32Array; d: number; n: number; ids: string[] } {
  const t = readTable(file);
  const index = columnInt32(t, 'index', file);
  for (let k = 0; k < index.length; k++) {
    if (index[k] !== k) throw new UserError(`${file}: row ${k} has index ${index[k]}; expected rows in index order 0..n-1`);
  }
  const { values, d } = columnEmbedding(t, 'embedding', file);
  const idCol = t.getChild('id');
  const ids: string[] = [];
  if (idCol) for (let k = 0; k < idCol.length; k++) ids.push(String(idCol.get(k)));
  return { values, d, n: index.length, ids };
}

/** A model directory is there and holds both embedding tables (a UserError naming what is not). */
export function checkModelDir(dir: string): void {
  if (!existsSync(dir)) throw new UserError(`model directory not found: ${dir}`);
  for (const f of [MODEL_FILES.users, MODEL_FILES.items]) {
    if (!existsSync(path.join(dir, f))) throw new UserError(`${dir} is not a pris model: ${f} is missing`);
  }
}

export interface LoadedModel {
  model: Model;
  userIds: string[];
  itemIds: string[];
}

/** Reads a model directory's embeddings into the current arena (src/memory/shared.ts). */
export function loadModel(dir: string): LoadedModel {
  checkModelDir(dir);
  const u = readEmbeddings(path.join(dir, MODEL_FILES.users));
  const v = readEmbeddings(path.join(dir, MODEL_FILES.items));
  if (u.d !== v.d) throw new UserError(`${dir}: user embeddings have dimension ${u.d} but item embeddings ${v.d}`);
  const model = wrapModel(u.n, v.n, u.d, toShared(u.values), toShared(v.values));
  return { model, userIds: u.ids, itemIds: v.ids };
}
