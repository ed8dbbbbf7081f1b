import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { buildCsr, type Csr } from './csr.js';
import { writeFileAtomic } from '../util/atomic.js';
import { legacyByJson, type OutputKind } from '../util/output.js';
import { readIdMap, readInteractions, type Interactions } from './interactions.js';
import { readTable } from './arrow-io.js';

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
  /** `sha256:<hex>` of the split's parameters and rows (splitFingerprint): models record it, and refuse a dataset re-split since; absent in splits of older versions. */
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

/** An id map, checked against the size meta.json gives (a map of another dataset is refused). */
function readIds(dir: string, which: 'users' | 'items'): string[] {
  const meta = readMeta(dir);
  const file = path.join(dir, FILES[which]);
  const ids = readIdMap(file);
  if (ids.length !== meta[which]) {
    throw new UserError(`${file} has ${ids.length} rows but ${path.join(dir, FILES.meta)} says ${meta[which]} ${which}; the dataset directory is inconsistent (re-import it)`);
  }
  return ids;
}

export function readUserIds(dir: string): string[] {
  return readIds(dir, 'users');
}

export function readItemIds(dir: string): string[] {
  return readIds(dir, 'items');
}

export function splitPath(dir: string, name: SplitName): string {
  return path.join(dir, FILES[name]);
}

export function hasSplit(dir: string): boolean {
  return (['train', 'valid', 'test'] as const).every((s) => existsSync(splitPath(dir, s)));
}

export type PartName = 'interactions' | 'predefinedTest' | SplitName;

/** The rows meta.json says a part has, if it says. */
function expectedRows(meta: DatasetMeta, name: PartName): number | undefined {
  if (name === 'interactions') return meta.interactions;
  if (name === 'predefinedTest') return meta.predefinedTestInteractions;
  return meta.split?.counts[name];
}

/**
 * One interaction file of a dataset directory, checked against meta.json:
 * columns and types (no columns an interaction file does not have), indices
 * inside the id maps, and the row count meta.json records, so a file
 * replaced by another Arrow file with the right columns is refused.
 */
export function readPart(dir: string, meta: DatasetMeta, name: PartName): Interactions {
  const file = path.join(dir, FILES[name]);
  if (!existsSync(file)) {
    if (name === 'train' || name === 'valid' || name === 'test') {
      throw new UserError(`${dir} has no ${name} split (${FILES[name]} missing); run 'pris data split ${dir} --seed 1' first`);
    }
    throw new UserError(`${dir} is missing ${FILES[name]}; re-import the dataset`);
  }
  const x = readInteractions(file, { nUsers: meta.users, nItems: meta.items, only: true });
  const want = expectedRows(meta, name);
  if (want !== undefined && x.user.length !== want) {
    throw new UserError(
      `${file} has ${x.user.length} rows but ${path.join(dir, FILES.meta)} records ${want}: it is not the file pris wrote ` +
        `(${name === 'interactions' || name === 'predefinedTest' ? 're-import the dataset' : `re-run 'pris data split ${dir}'`})`,
    );
  }
  return x;
}

/**
 * The fingerprint of a split: SHA-256 over the id-map sizes, the split's
 * parameters and every part's (user, item) rows in order. Two splits with
 * the same fingerprint hold the same rows; a model records it so that
 * evaluating against another split (another seed, a re-import) is refused.
 * Incremental (`add` each part in the order train, valid, test), so a
 * reader can check it while loading one part at a time.
 */
export class SplitHasher {
  private readonly h = createHash('sha256');
  private next = 0;

  constructor(meta: Pick<DatasetMeta, 'users' | 'items'>, split: Pick<SplitMeta, 'seed' | 'testFraction' | 'validFraction' | 'predefined'>) {
    const { seed, testFraction, validFraction, predefined } = split;
    this.h.update(JSON.stringify(['pris-split', 1, meta.users, meta.items, seed, testFraction, validFraction, predefined]));
  }

  add(name: SplitName, x: Pick<Interactions, 'user' | 'item'>): void {
    if (SPLIT_NAMES[this.next++] !== name) throw new Error(`SplitHasher: parts go in the order ${SPLIT_NAMES.join(', ')}`);
    this.h.update(`${name}:${x.user.length}`);
    this.h.update(new Uint8Array(x.user.buffer, x.user.byteOffset, x.user.byteLength));
    this.h.update(new Uint8Array(x.item.buffer, x.item.byteOffset, x.item.byteLength));
  }

  digest(): string {
    return 'sha256:' + this.h.digest('hex');
  }
}

export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;

export function splitFingerprint(meta: Pick<DatasetMeta, 'users' | 'items'>, split: Pick<SplitMeta, 'seed' | 'testFraction' | 'validFraction' | 'predefined'>, parts: Record<SplitName, Interactions>): string {
  const h = new SplitHasher(meta, split);
  for (const name of SPLIT_NAMES) h.add(name, parts[name]);
  return h.digest();
}

/** One split as a CSR in shared memory, indices checked against the id maps' sizes. */
export function loadSplitCsr(dir: string, meta: DatasetMeta, name: SplitName): Csr {
  const x = readPart(dir, meta, name);
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

/** The id maps' row counts against meta.json, without decoding the ids. */
function checkIdMapSizes(dir: string, meta: DatasetMeta): void {
  for (const which of ['users', 'items'] as const) {
    const file = path.join(dir, FILES[which]);
    const rows = readTable(file).numRows;
    if (rows !== meta[which]) {
      throw new UserError(`${file} has ${rows} rows but ${path.join(dir, FILES.meta)} says ${meta[which]} ${which}; the dataset directory is inconsistent (re-import it)`);
    }
  }
}

/**
 * Loads the three splits of a dataset directory into shared-memory CSRs,
 * each part checked as it is read (readPart), the id maps' sizes checked,
 * and the split's rows checked against the fingerprint meta.json records.
 */
export function loadDataset(dir: string): LoadedDataset {
  const meta = readMeta(dir);
  checkIdMapSizes(dir, meta);
  const hasher = meta.split?.fingerprint ? new SplitHasher(meta, meta.split) : undefined;
  const csr = {} as Record<SplitName, Csr>;
  for (const name of SPLIT_NAMES) {
    const x = readPart(dir, meta, name);
    hasher?.add(name, x);
    csr[name] = buildCsr(meta.users, meta.items, x.user, x.item);
  }
  if (hasher && hasher.digest() !== meta.split!.fingerprint) {
    throw new UserError(`${dir}: the split files do not match the fingerprint in ${FILES.meta}; they were changed after 'pris data split' (run it again)`);
  }
  return { dir, meta, nUsers: meta.users, nItems: meta.items, train: csr.train, valid: csr.valid, test: csr.test };
}
