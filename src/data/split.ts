import { UserError } from '../errors.js';
import { seedRng, shuffleRange } from '../kernels/rng.js';
import { openOutput } from '../util/output.js';
import { DATASET_OUTPUT, FILES, readMeta, readPart, splitFingerprint, splitPath, writeMeta, type SplitMeta, type SplitName } from './dataset.js';
import { writeInteractions, type Interactions } from './interactions.js';
import { groupByUser, takeRows } from './order.js';

/**
 * `pris data split`: the paper's per-user random split. Always starts again
 * from interactions.arrow, so re-running with another seed replaces the split.
 *
 * Each user's rows are shuffled with an RNG seeded by (seed, user index), so a
 * user's split depends only on the seed and that user's own items, not on the
 * rest of the file.
 */
export const SPLIT_RULE =
  'per user with n interactions (in random order, seeded by (seed, user index)): ' +
  'test = round(n * testFraction), at least 1 and at most n - 1 when n >= 2, none when n = 1; ' +
  'of the m rows left, valid = round(m * validFraction), at most m - 1 (so users with few rows give none); ' +
  'the rest is train. A predefined split keeps its test rows and carves valid from its train rows by the same rule.';

export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_VALID_FRACTION = 0.1;

const TRAIN = 0;
const VALID = 1;
const TEST = 2;

/**
 * Rows a user with `n` rows gives to a held-out part of fraction `f` (the rule
 * above). Test takes at least one row so that every user with two or more
 * can be evaluated; validation does not, because forcing one validation row
 * on a user with two or three training rows would take half of them away
 * (a third of CiteULike's users have three or four interactions).
 */
export function heldOutCount(n: number, f: number, atLeastOne = true): number {
  if (f <= 0 || n < 2) return 0;
  const k = Math.round(n * f);
  return Math.min(n - 1, atLeastOne ? Math.max(1, k) : k);
}

export interface SplitOptions {
  seed: number;
  testFraction?: number;
  validFraction?: number;
  /** Replace an existing split. */
  force?: boolean;
}

export interface SplitAssignment {
  /** Per row of the interactions: 0 train, 1 valid, 2 test. */
  label: Uint8Array;
  usersWithoutTest: number;
  usersWithoutValid: number;
  usersWithoutTrain: number;
}

function checkOptions(o: SplitOptions): Required<Omit<SplitOptions, 'force'>> {
  const testFraction = o.testFraction ?? DEFAULT_TEST_FRACTION;
  const validFraction = o.validFraction ?? DEFAULT_VALID_FRACTION;
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new UserError(`--seed must be a non-negative integer (got ${o.seed})`);
  for (const [flag, f] of [['--test-fraction', testFraction], ['--valid-fraction', validFraction]] as const) {
    if (!(f >= 0 && f < 1)) throw new UserError(`${flag} must be in [0, 1) (got ${f})`);
  }
  return { seed: o.seed, testFraction, validFraction };
}

/**
 * Labels every row. With `predefinedTest`, its rows are the test part (each
 * must be one of the interactions) and `testFraction` is not used.
 */
export function assignSplit(
  x: Interactions,
  nUsers: number,
  nItems: number,
  options: SplitOptions,
  predefinedTest?: Interactions,
): SplitAssignment {
  const { seed, testFraction, validFraction } = checkOptions(options);
  const { perm, start } = groupByUser(x.user, x.item, nUsers);
  const label = new Uint8Array(x.user.length);
  const key = (u: number, i: number) => u * nItems + i;
  const inTest = predefinedTest ? new Set<number>() : undefined;
  if (predefinedTest && inTest) {
    for (let r = 0; r < predefinedTest.user.length; r++) inTest.add(key(predefinedTest.user[r]!, predefinedTest.item[r]!));
  }
  let matched = 0;
  let usersWithoutTest = 0;
  let usersWithoutValid = 0;
  let usersWithoutTrain = 0;
  for (let u = 0; u < nUsers; u++) {
    const a = start[u]!;
    const b = start[u + 1]!;
    if (a === b) continue;
    const rng = seedRng(seed, u);
    let t: number;
    if (inTest) {
      // Stable partition: the user's predefined test rows first, then the train rows.
      const rows = perm.slice(a, b);
      t = 0;
      for (const r of rows) if (inTest.has(key(u, x.item[r]!))) perm[a + t++] = r;
      let k = a + t;
      for (const r of rows) if (!inTest.has(key(u, x.item[r]!))) perm[k++] = r;
      matched += t;
      shuffleRange(rng, perm, a + t, b);
    } else {
      shuffleRange(rng, perm, a, b);
      t = heldOutCount(b - a, testFraction);
    }
    const v = heldOutCount(b - a - t, validFraction, false);
    for (let k = a; k < a + t; k++) label[perm[k]!] = TEST;
    for (let k = a + t; k < a + t + v; k++) label[perm[k]!] = VALID;
    if (t === 0) usersWithoutTest++;
    if (v === 0) usersWithoutValid++;
    if (b - a - t - v === 0) usersWithoutTrain++;
  }
  if (inTest && matched !== inTest.size) {
    throw new UserError(`${inTest.size - matched} rows of ${FILES.predefinedTest} are not among the interactions; re-import the dataset`);
  }
  return { label, usersWithoutTest, usersWithoutValid, usersWithoutTrain };
}

/** The rows with one label, in the order of `x` ((user, item) order for imported data). */
export function rowsWithLabel(x: Interactions, label: Uint8Array, which: number): Interactions {
  const idx = new Int32Array(label.length);
  let m = 0;
  for (let r = 0; r < label.length; r++) if (label[r] === which) idx[m++] = r;
  return takeRows(x, idx, m);
}

/** Splits the dataset in `dir` and rewrites its split files and meta.json in one atomic step. */
export async function splitDataset(dir: string, options: SplitOptions): Promise<SplitMeta> {
  const opts = checkOptions(options);
  const meta = readMeta(dir);
  // The split files join the dataset's own: the directory is rebuilt with every other entry carried over.
  using out = await openOutput({ path: dir, flag: 'dataset', kind: DATASET_OUTPUT, update: true });
  if (meta.split && !options.force) {
    throw new UserError(`${dir} is already split (seed ${meta.split.seed}); give --force to replace the split (models trained on it will no longer match the dataset)`);
  }
  const x = readPart(dir, meta, 'interactions');
  const pre = meta.predefinedSplit ? readPart(dir, meta, 'predefinedTest') : undefined;
  const a = assignSplit(x, meta.users, meta.items, opts, pre);
  const parts: Record<SplitName, Interactions> = {
    train: rowsWithLabel(x, a.label, TRAIN),
    valid: rowsWithLabel(x, a.label, VALID),
    test: rowsWithLabel(x, a.label, TEST),
  };
  const split: SplitMeta = {
    seed: opts.seed,
    testFraction: opts.testFraction,
    validFraction: opts.validFraction,
    predefined: pre !== undefined,
    rule: SPLIT_RULE,
    counts: { train: parts.train.user.length, valid: parts.valid.user.length, test: parts.test.user.length },
    usersWithoutTest: a.usersWithoutTest,
    usersWithoutValid: a.usersWithoutValid,
    usersWithoutTrain: a.usersWithoutTrain,
  };
  split.fingerprint = splitFingerprint(meta, split, parts);
  await out.commit(
    async (tmp) => {
      for (const name of ['train', 'valid', 'test'] as const) await writeInteractions(splitPath(tmp, name), parts[name]);
      await writeMeta(tmp, { ...meta, split });
    },
    { keep: 'all' },
  );
  return split;
}
