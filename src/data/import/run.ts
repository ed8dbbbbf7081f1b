import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { openOutput } from '../../util/output.js';
import { RowCollector } from '../collect.js';
import { DATASET_OUTPUT, FILES, writeMeta, type DatasetMeta } from '../dataset.js';
import { parseMinRating, weightFilters } from '../filters.js';
import { writeIdMap, writeInteractions } from '../interactions.js';
import { checkCatalogSize } from '../idmap.js';
import { assembleRows } from './assemble.js';
import { planSegments, readSegments } from './parallel.js';
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
  /** Threads that read large plain inputs at once (default: every core; 1 = sequential). */
  threads?: number;
}

const flagOf = (key: string): string => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

const FORMAT_OPTIONS: readonly FormatOptionName[] = ['variant', 'userCol', 'itemCol', 'weightCol', 'timestampCol', 'delimiter', 'header'];

/** The format-specific options of a request (what a worker needs to read its ranges). */
const formatOptions = (req: ImportRequest): FormatOptions =>
  Object.fromEntries(FORMAT_OPTIONS.filter((k) => req[k] !== undefined).map((k) => [k, req[k]])) as FormatOptions;

function positiveInteger(v: number | undefined, flag: string): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new UserError(`${flag} must be a positive integer (got ${v})`);
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
  const filters = weightFilters(req);
  const minRating = req.minRating === undefined ? undefined : parseMinRating(req.minRating);
  if (filters.length > 0 && !columns.weight) {
    throw new UserError(`${filters[0]!.flag.split(' ')[0]} filters on ratings/counts, and this ${format.name} import has none` +
      (format.name === 'csv' ? ' (name the column with --weight-col)' : ''));
  }
  positiveInteger(req.minUserInteractions, '--min-user-interactions');
  if (req.catalogItems !== undefined) checkCatalogSize(req.catalogItems);
  positiveInteger(req.threads, '--threads');
  using out = await openOutput({ path: req.out, kind: DATASET_OUTPUT, force: req.force, reads: inputs });

  // 1. read, with the weight filters
  const sink = new RowCollector(columns, filters);
  const segments = format.readRange ? await planSegments(inputs, req.threads ?? os.availableParallelism()) : undefined;
  const source = segments
    ? await readSegments(format, segments, { opts: formatOptions(req), filters: { minRating: req.minRating, minCount: req.minCount }, columns }, sink, req.progress ?? 'auto')
    : await format.read(inputs, req, sink);
  if (sink.seen === 0) throw new UserError(`no interactions found in ${inputs.join(', ')}`);
  const dropped: Record<string, number> = { ...sink.dropped };
  if (sink.stored === 0) {
    const why = filters.map((f) => `${f.flag} (dropped ${sink.dropped[f.name]} of ${sink.seen} rows)`).join(' and ');
    throw new UserError(`no interactions left after ${why}`);
  }

  // 2-4. duplicates, users with too few interactions, dense indices (plus the declared catalogue)
  const a = assembleRows(sink, { minUserInteractions: req.minUserInteractions, catalogItems: req.catalogItems });
  dropped.duplicates = a.duplicates;
  if (a.minUser) {
    dropped.minUserInteractions = a.minUser.droppedRows;
    dropped.usersBelowMinInteractions = a.minUser.droppedUsers;
  }
  dropped.users = a.droppedUsers;
  dropped.items = a.droppedItems;
  if (a.test && a.test.user.length === 0) throw new UserError(`the predefined test file ${inputs[1]} has no interactions left after filtering`);

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
    users: a.userIds.length,
    items: a.itemIds.length,
    interactions: a.x.user.length,
    hasWeight: columns.weight,
    hasTimestamp: columns.timestamp,
    predefinedSplit: a.test !== undefined,
    ...(a.test && { predefinedTestInteractions: a.test.user.length }),
    inputRows: sink.seen,
    itemsWithoutInteractions: a.itemIds.length - a.seenItems,
    dropped,
  };

  await out.commit(async (tmp) => {
    await writeInteractions(path.join(tmp, FILES.interactions), a.x);
    if (a.test) await writeInteractions(path.join(tmp, FILES.predefinedTest), a.test);
    await writeIdMap(path.join(tmp, FILES.users), a.userIds);
    await writeIdMap(path.join(tmp, FILES.items), a.itemIds);
    await writeMeta(tmp, meta);
  });
  return meta;
}
