import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { buildCsr, type Csr } from './csr.js';
import { writeFileAtomic } from '../util/atomic.js';
import { legacyByJson, type OutputKind } from '../util/output.js';
import { readIdMap, readInteractions } from './interactions.js';

/**
 * A dataset directory (see docs/formats.md):
 *   meta.json            what was imported, how, and the counts
 *   users.arrow          id map: index Int32, id Utf8
 *   items.arrow          id map: index Int32, id Utf8
 *   interactions.arrow   every interaction kept by the import
 *   predefined_test.arrow  only when the source came already split (e.g. LightGCN train/test)
 *   train.arrow, valid.arrow, test.arrow   written by `pris data split`
 */
export const FILES = {
  meta: 'meta.json',
  users: 'users.arrow',
  items: 'items.arrow',
  interactions: 'interactions.arrow',
  predefinedTest: 'predefined_test.arrow',
  train: 'train.arrow',
  valid: 'valid.arrow',
  test: 'test.arrow',
} as const;

/**
 * A dataset directory as an output (src/util/output.ts). One imported before
 * outputs carried a marker is recognised by its meta.json.
 */
export const DATASET_OUTPUT: OutputKind = {
  name: 'dataset',
  what: 'a dataset',
  legacyFiles: legacyByJson(FILES.meta, (j) => j.kind === 'pris-dataset', (dir) => Object.values(FILES).filter((f) => existsSync(path.join(dir, f)))),
};

export type SplitName = 'train' | 'valid' | 'test';

export interface RatingFilter {
  op: '>' | '>=';
  value: number;
}

export interface SplitMeta {
  seed: number;
  testFraction: number;
  validFraction: number;
  predefined: boolean;
  rule: string;
  counts: { train: number; valid: number; test: number };
  usersWithoutTest: number;
  usersWithoutValid: number;
  /** Users with no train rows (possible only with a predefined split). */
  usersWithoutTrain?: number;
  /** A hash of the split's content: models record it, and refuse a dataset re-split since. */
  fingerprint?: string;
}

export interface DatasetMeta {
  kind: 'pris-dataset';
  version: 1;
  source: { format: string; inputs: string[]; variant?: string; header?: boolean };
  filters: {
    minRating?: RatingFilter;
    minCount?: number;
    minUserInteractions?: number;
    catalogItems?: number;
  };
  users: number;
  items: number;
  interactions: number;
  hasWeight: boolean;
  hasTimestamp: boolean;
  predefinedSplit: boolean;
  /** Rows in predefined_test.arrow (with predefinedSplit). */
  predefinedTestInteractions?: number;
  /** Rows read from the inputs, before any filter. */
  inputRows?: number;
  /** Items in the map with no interaction (catalogue entries from --catalog-items). */
  itemsWithoutInteractions?: number;
  /** What each filter removed, in rows unless the key says otherwise (docs/formats.md). */
  dropped: Record<string, number>;
  split?: SplitMeta;
}

export function assertDatasetDir(dir: string): void {
  if (!existsSync(dir)) throw new UserError(`dataset directory not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new UserError(`not a directory: ${dir}`);
  if (!existsSync(path.join(dir, FILES.meta))) {
    throw new UserError(`${dir} is not a pris dataset (no ${FILES.meta}); create one with 'pris data import'`);
  }
}

export function readMeta(dir: string): DatasetMeta {
  assertDatasetDir(dir);
  const file = path.join(dir, FILES.meta);
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as DatasetMeta;
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (meta.kind !== 'pris-dataset' || !Number.isInteger(meta.users) || !Number.isInteger(meta.items)) {
    throw new UserError(`${file}: not a pris dataset description (needs kind, users, items)`);
  }
  return meta;
}

/** meta.json is small and read by people too: indented, keys in a fixed order. */
export async function writeMeta(dir: string, meta: DatasetMeta): Promise<void> {
  await writeFileAtomic(path.join(dir, FILES.meta), JSON.stringify(meta, null, 2) + '\n');
}

export function readUserIds(dir: string): string[] {
  return readIdMap(path.join(dir, FILES.users));
}

export function readItemIds(dir: string): string[] {
  return readIdMap(path.join(dir, FILES.items));
}

export function splitPath(dir: string, name: SplitName): string {
  return path.join(dir, FILES[name]);
}

export function hasSplit(dir: string): boolean {
  return (['train', 'valid', 'test'] as const).every((s) => existsSync(splitPath(dir, s)));
}

/** One split as a CSR in shared memory, indices checked against the id maps' sizes. */
export function loadSplitCsr(dir: string, meta: DatasetMeta, name: SplitName): Csr {
  const file = splitPath(dir, name);
  if (!existsSync(file)) {
    throw new UserError(`${dir} has no ${name} split (${FILES[name]} missing); run 'pris data split ${dir} --seed 1' first`);
  }
  const x = readInteractions(file, { nUsers: meta.users, nItems: meta.items });
  return buildCsr(meta.users, meta.items, x.user, x.item);
}

export interface LoadedDataset {
  dir: string;
  meta: DatasetMeta;
  nUsers: number;
  nItems: number;
  train: Csr;
  valid: Csr;
  test: Csr;
}

/** Loads the three splits of a dataset directory into shared-memory CSRs. */
export function loadDataset(dir: string): LoadedDataset {
  const meta = readMeta(dir);
  return {
    dir,
    meta,
    nUsers: meta.users,
    nItems: meta.items,
    train: loadSplitCsr(dir, meta, 'train'),
    valid: loadSplitCsr(dir, meta, 'valid'),
    test: loadSplitCsr(dir, meta, 'test'),
  };
}
