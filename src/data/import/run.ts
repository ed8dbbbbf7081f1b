import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { openOutput } from '../../util/output.js';
import { RowCollector } from '../collect.js';
import { DATASET_OUTPUT, FILES, writeMeta, type DatasetMeta } from '../dataset.js';
import {
  collapseDuplicates,
  countFilter,
  filterMinUserInteractions,
  parseMinRating,
  ratingFilter,
  type Rows,
  type WeightFilter,
} from '../filters.js';
import { completeCatalog, denseOrder, type Interner } from '../idmap.js';
import { writeIdMap, writeInteractions, type Interactions } from '../interactions.js';
import { groupByUser, takeRows } from '../order.js';
import type { FormatOptionName, FormatOptions } from './format.js';
import { FORMATS, FORMAT_NAMES } from './index.js';

/**
 * `pris data import`: read a raw file, filter (order in filters.ts), assign
 * dense indices (idmap.ts), and write the dataset directory in one atomic step.
 * Everything is parsed and checked before the first byte is written, so a bad
 * line leaves nothing behind.
 */
export interface ImportRequest extends FormatOptions {
  format: string;
  inputs: string[];
  out: string;
  minRating?: string;
  minCount?: number;
  minUserInteractions?: number;
  catalogItems?: number;
  /** Replace an earlier pris dataset at `out`. */
  force?: boolean;
}

const flagOf = (key: string): string => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

const FORMAT_OPTIONS: readonly FormatOptionName[] = ['variant', 'userCol', 'itemCol', 'weightCol', 'timestampCol', 'delimiter', 'header'];

function positiveInteger(v: number | undefined, flag: string): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new UserError(`${flag} must be a positive integer (got ${v})`);
}

/** Provisional → final index (-1: not kept), and the final id list. */
function finalIndices(interner: Interner, ids: readonly string[]): Int32Array {
  const index = new Map<string, number>();
  ids.forEach((id, k) => index.set(id, k));
  const map = new Int32Array(interner.size);
  interner.ids.forEach((id, k) => (map[k] = index.get(id) ?? -1));
  return map;
}

function keptIds(interner: Interner, column: Int32Array): string[] {
  const seen = new Uint8Array(interner.size);
  for (let r = 0; r < column.length; r++) seen[column[r]!] = 1;
  return interner.ids.filter((_, k) => seen[k] === 1);
}

const countMissing = (map: Int32Array): number => map.reduce((n, v) => n + (v < 0 ? 1 : 0), 0);

function toInteractions(rows: Rows): Interactions {
  const x: Interactions = { user: rows.user, item: rows.item };
  if (rows.weight) x.weight = rows.weight;
  if (rows.timestamp) x.timestamp = BigInt64Array.from(rows.timestamp, (v) => BigInt(v));
  return x;
}

export async function importDataset(req: ImportRequest): Promise<DatasetMeta> {
  const format = FORMATS[req.format];
  if (!format) throw new UserError(`unknown format '${req.format}'; one of: ${FORMAT_NAMES.join(', ')}`);
  const { inputs } = req;
  if (inputs.length < format.inputs.min || inputs.length > format.inputs.max) {
    throw new UserError(`format ${format.name} takes ${format.inputs.meaning}; got ${inputs.length} input file(s)`);
  }
  for (const key of FORMAT_OPTIONS) {
    if (req[key] !== undefined && !format.options.includes(key)) {
      const takers = FORMAT_NAMES.filter((n) => FORMATS[n]!.options.includes(key));
      throw new UserError(`${flagOf(key)} applies to the ${takers.join(', ')} format(s), not ${format.name}`);
    }
  }
  const columns = format.columns(inputs, req);
  const filters: WeightFilter[] = [];
  const minRating = req.minRating === undefined ? undefined : parseMinRating(req.minRating);
  if (minRating) filters.push(ratingFilter(minRating));
  if (req.minCount !== undefined) filters.push(countFilter(req.minCount));
  if (filters.length > 0 && !columns.weight) {
    throw new UserError(`${filters[0]!.flag.split(' ')[0]} filters on ratings/counts, and this ${format.name} import has none` +
      (format.name === 'csv' ? ' (name the column with --weight-col)' : ''));
  }
  positiveInteger(req.minUserInteractions, '--min-user-interactions');
  positiveInteger(req.catalogItems, '--catalog-items');
  using out = await openOutput({ path: req.out, kind: DATASET_OUTPUT, force: req.force, reads: inputs });

  // 1. read, with the weight filters
  const sink = new RowCollector(columns, filters);
  const source = await format.read(inputs, req, sink);
  if (sink.seen === 0) throw new UserError(`no interactions found in ${inputs.join(', ')}`);
  let rows = sink.finish();
  const dropped: Record<string, number> = { ...sink.dropped };
  if (rows.user.length === 0) {
    const why = filters.map((f) => `${f.flag} (dropped ${sink.dropped[f.name]} of ${sink.seen} rows)`).join(' and ');
    throw new UserError(`no interactions left after ${why}`);
  }

  // 2. duplicates
  const dedup = collapseDuplicates(rows, sink.users.size);
  rows = dedup.rows;
  dropped.duplicates = dedup.dropped;

  // 3. users with too few interactions
  if (req.minUserInteractions !== undefined) {
    const f = filterMinUserInteractions(rows, sink.users.size, req.minUserInteractions);
    dropped.minUserInteractions = f.droppedRows;
    dropped.usersBelowMinInteractions = f.droppedUsers;
    if (f.rows.user.length === 0) {
      throw new UserError(`no interactions left after --min-user-interactions ${req.minUserInteractions} (all ${f.droppedUsers} users have fewer)`);
    }
    rows = f.rows;
  }

  // 4. dense indices for what is left (plus the declared catalogue)
  const userIds = denseOrder(keptIds(sink.users, rows.user)).ids;
  const seenItems = keptIds(sink.items, rows.item);
  const catalog = req.catalogItems === undefined ? undefined : completeCatalog(seenItems, req.catalogItems, sink.items.size);
  const itemIds = denseOrder(catalog ? catalog.ids : seenItems).ids;
  const userMap = finalIndices(sink.users, userIds);
  const itemMap = finalIndices(sink.items, itemIds);
  dropped.users = countMissing(userMap);
  dropped.items = countMissing(itemMap);
  for (let r = 0; r < rows.user.length; r++) {
    rows.user[r] = userMap[rows.user[r]!]!;
    rows.item[r] = itemMap[rows.item[r]!]!;
  }
  rows = takeRows(rows, groupByUser(rows.user, rows.item, userIds.length).perm);

  let testRows: Rows | undefined;
  if (rows.test) {
    const idx = new Int32Array(rows.user.length);
    let m = 0;
    for (let r = 0; r < rows.user.length; r++) if (rows.test[r] === 1) idx[m++] = r;
    if (m === 0) throw new UserError(`the predefined test file ${inputs[1]} has no interactions left after filtering`);
    const { test: _flag, ...cols } = rows;
    testRows = takeRows(cols, idx, m);
    delete rows.test;
  }

  const meta: DatasetMeta = {
    kind: 'pris-dataset',
    version: 1,
    source: { format: format.name, inputs: [...inputs], ...source },
    filters: {
      ...(minRating && { minRating }),
      ...(req.minCount !== undefined && { minCount: req.minCount }),
      ...(req.minUserInteractions !== undefined && { minUserInteractions: req.minUserInteractions }),
      ...(req.catalogItems !== undefined && { catalogItems: req.catalogItems }),
    },
    users: userIds.length,
    items: itemIds.length,
    interactions: rows.user.length,
    hasWeight: columns.weight,
    hasTimestamp: columns.timestamp,
    predefinedSplit: testRows !== undefined,
    ...(testRows && { predefinedTestInteractions: testRows.user.length }),
    inputRows: sink.seen,
    itemsWithoutInteractions: itemIds.length - seenItems.length,
    dropped,
  };

  await out.commit(async (tmp) => {
    await writeInteractions(path.join(tmp, FILES.interactions), toInteractions(rows));
    if (testRows) await writeInteractions(path.join(tmp, FILES.predefinedTest), toInteractions(testRows));
    await writeIdMap(path.join(tmp, FILES.users), userIds);
    await writeIdMap(path.join(tmp, FILES.items), itemIds);
    await writeMeta(tmp, meta);
  });
  return meta;
}
