import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { osUserError, UserError } from '../errors.js';
import { loadDataset, loadModel, UnknownIds, type Dataset, type Exclusion, type PrisModel, type ScoredItem } from '../index.js';
import { encodeRecommendations, RECOMMENDATION_FORMATS, recommendationFormat } from '../api/recommendations.js';
import { openOutputFile } from '../util/output.js';
import { parseCount, parseK } from './args.js';
import { parseThreads, progressFor, THREADS_OPTION } from './evaluate.js';
import { formatTable } from './tables.js';

/**
 * `pris recommend` and `pris similar`: the library's queries on a loaded
 * model. Known users (--users), every user (--out), new users from their
 * items (--items, fold-in), similar items. Tables go to stdout (or JSON
 * with --json); an Arrow file is written through the output contract.
 */

type SplitName = 'train' | 'valid' | 'test';

/** Values of a repeatable list flag (`--users a,b --users c`): comma-separated, blanks dropped. */
function listFlag(v: unknown): string[][] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) =>
    String(x)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

/** The non-blank lines of a file the user named, trimmed; a failure names the flag and the file. */
function fileLines(flag: string, file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const os = osUserError(e);
    throw os ? new UserError(`--${flag} ${os.message}`) : e;
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) throw new UserError(`--${flag} ${file}: the file names nothing (no non-blank line)`);
  return lines;
}

/** Ids from `--NAME a,b` and `--NAME-file F` (one id per line); at least one when either is given. */
function idsFrom(a: Record<string, unknown>, name: string): string[] | undefined {
  const given = a[name] !== undefined || a[`${name}-file`] !== undefined;
  if (!given) return undefined;
  const ids = [...listFlag(a[name]).flat(), ...(a[`${name}-file`] !== undefined ? fileLines(`${name}-file`, String(a[`${name}-file`])) : [])];
  if (ids.length === 0) throw new UserError(`--${name} names no ${name.slice(0, -1)}`);
  return ids;
}

/** New users for fold-in: each `--items a,b,c` is one user, and so is each line of `--items-file` (items comma-separated). */
function newUsersFrom(a: Record<string, unknown>): string[][] | undefined {
  if (a.items === undefined && a['items-file'] === undefined) return undefined;
  const lists = [...listFlag(a.items), ...(a['items-file'] !== undefined ? fileLines('items-file', String(a['items-file'])).map((l) => listFlag(l)[0]!) : [])];
  const empty = lists.findIndex((l) => l.length === 0);
  if (empty >= 0) throw new UserError(`--items: new user ${empty + 1} has no items`);
  return lists;
}

/** An unknown id is the user's mistake in a flag: the flag goes in front of the library's message. */
async function naming<T>(flag: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof UnknownIds) {
      const hint = e.kind === 'user' ? "; for a user the model never saw, give their items with --items" : '';
      throw new UserError(`${flag}: ${e.message}${hint}`);
    }
    throw e;
  }
}

function scoreText(x: number): string {
  return x.toFixed(4);
}

/** One row per (query, rank): `query`'s label, the rank, the item and its score. */
function rankedRows(lists: { label: string; items: ScoredItem[] }[]): string[][] {
  return lists.flatMap((l) => l.items.map((x, r) => [l.label, String(r + 1), x.item, scoreText(x.score)]));
}

interface RecommendArgs {
  model: string;
  dataset?: string;
  users?: unknown;
  'users-file'?: string;
  items?: unknown;
  'items-file'?: string;
  out?: string;
  force: boolean;
  format: string;
  k: unknown;
  threads: unknown;
  'include-seen': boolean;
  exclude?: SplitName[];
  seed?: unknown;
  json: boolean;
  quiet: boolean;
}

/** What a recommend run leaves out: every known item by default; needs the dataset unless nothing is left out. */
function exclusionOf(a: RecommendArgs): Exclusion {
  if (a['include-seen'] && a.exclude?.length) throw new UserError('--include-seen and --exclude contradict each other: give one');
  if (a['include-seen']) return 'none';
  return a.exclude?.length ? [...new Set(a.exclude)] : 'known';
}

async function recommendNewUsers(a: RecommendArgs, lists: string[][], k: number): Promise<void> {
  if (a.out !== undefined) throw new UserError('--out writes the recommendations of known users; for new users (--items) the list is printed (--json for JSON)');
  if (a['include-seen'] || a.exclude?.length) throw new UserError("--include-seen and --exclude are about known users' items; a new user's own items (--items) are always left out");
  const seed = a.seed === undefined ? undefined : parseCount('seed', a.seed, 0);
  const threads = parseThreads(a.threads);
  const ds = a.dataset !== undefined ? await loadDataset(a.dataset) : undefined;
  const model = await loadModel(a.model, { ...(ds ? { dataset: ds } : {}), ...(threads ? { threads } : {}) });
  try {
    const recs = await naming('--items', () => model.recommendForItems(lists, { k, ...(seed !== undefined ? { seed } : {}) }));
    if (a.json) {
      process.stdout.write(JSON.stringify(recs, null, 2) + '\n');
      return;
    }
    process.stdout.write(formatTable(['user', 'rank', 'item', 'score'], rankedRows(recs.map((r, n) => ({ label: `new ${n + 1}`, items: r.items }))), 'lrlr'));
  } finally {
    await model.close();
  }
}

/** A dataset for known users' recommendations: needed to leave their items out. */
async function datasetFor(a: RecommendArgs, exclude: Exclusion, model: string): Promise<Dataset | undefined> {
  if (a.dataset !== undefined) return loadDataset(a.dataset);
  if (exclude === 'none') return undefined;
  throw new UserError(`give the dataset ${model} was trained on (pris recommend <model> <dataset>) to leave out the items each user already has, or --include-seen to keep them`);
}

async function recommendKnownUsers(a: RecommendArgs, users: string[] | undefined, k: number): Promise<void> {
  const exclude = exclusionOf(a);
  const threads = parseThreads(a.threads);
  if (a.seed !== undefined) throw new UserError('--seed is the seed of fold-in, for new users (--items)');
  const format = recommendationFormat(a.format);
  if (a.out === undefined && !users) {
    throw new UserError("name the users (--users a,b or --users-file F), new users' items (--items), or give --out to write every user's recommendations to a file");
  }
  // The output is checked (and locked) before anything is loaded.
  using out = a.out !== undefined ? await openOutputFile({ path: a.out, kind: format.kind, force: a.force, reads: [a.model, ...(a.dataset !== undefined ? [a.dataset] : [])] }) : undefined;
  const ds = await datasetFor(a, exclude, a.model);
  let model: PrisModel | undefined;
  try {
    model = await loadModel(a.model, { ...(ds ? { dataset: ds } : {}), ...(threads ? { threads } : {}) });
    const m = model;
    if (out) {
      const t0 = performance.now();
      const progress = progressFor('recommend', a.quiet);
      let recs;
      try {
        recs = await naming(a.users !== undefined ? '--users' : '--users-file', () => m.recommendAll({ k, exclude, ...(users ? { users } : {}), onProgress: progress.onProgress }));
      } finally {
        progress.stop();
      }
      out.write(await encodeRecommendations(format, recs, m));
      const n = users ? users.length : m.nUsers;
      const excluded = exclude === 'none' ? 'nothing excluded' : `${(exclude === 'known' ? ['train', 'valid', 'test'] : exclude).join(' + ')} items excluded`;
      process.stdout.write(
        `wrote ${recs.user.length.toLocaleString('en-US')} recommendations (${n.toLocaleString('en-US')} users, top ${k}, ${excluded}) ` +
          `to ${a.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
      return;
    }
    const recs = await naming(a.users !== undefined ? '--users' : '--users-file', () => m.recommend(users!, { k, exclude }));
    if (a.json) {
      process.stdout.write(JSON.stringify(recs, null, 2) + '\n');
      return;
    }
    process.stdout.write(formatTable(['user', 'rank', 'item', 'score'], rankedRows(recs.map((r) => ({ label: r.user, items: r.items }))), 'lrlr'));
  } finally {
    await model?.close();
  }
}

function registerRecommend(y: Argv): Argv {
  return y.command(
    'recommend <model> [dataset]',
    "top-k items for users: print them (--users, or new users' --items), or write every user's to a file (--out)",
    (c) =>
      c
        .usage(
          '$0 recommend <model> <dataset> --users u1,u2 [--k 10]          print the users\' top-k\n' +
            '$0 recommend <model> <dataset> --out recs.arrow [--k 10]       every user\'s top-k, to an Arrow file\n' +
            '$0 recommend <model> --items i1,i2,i3 [--items i4,i5]          new users (fold-in), one per --items\n\n' +
            "Known users' recommendations leave out every item the user has in the dataset (train, valid and test) " +
            'unless --include-seen (or choose the splits with --exclude): the dataset the model was trained on is then needed. ' +
            "A new user's vector is learned from their items with the item embeddings held fixed (fold-in, deterministic " +
            "for --seed), their own items left out; no dataset is needed. Ties in score: lower item index first.\n\n" +
            '--out writes one row per (user, rank): user Int32, rank Int32 (1 = best), item Int32, score Float32, ' +
            'user_id Utf8, item_id Utf8 (raw ids), users ascending (or in the order of --users); docs/metrics.md.',
        )
        .positional('model', { type: 'string', describe: 'model directory (pris train --out)' })
        .positional('dataset', { type: 'string', describe: "the dataset the model was trained on (to leave out users' known items)" })
        .option('users', { type: 'string', requiresArg: true, describe: 'known users (raw ids), comma-separated; repeatable' })
        .option('users-file', { type: 'string', requiresArg: true, describe: 'a file of known users, one id per line' })
        .option('items', { type: 'string', requiresArg: true, describe: 'a new user by their items (raw ids, comma-separated); repeat for several users' })
        .option('items-file', { type: 'string', requiresArg: true, describe: 'new users, one per line, each line their items comma-separated' })
        .option('k', { type: 'string', default: '10', describe: 'items per user' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'write the recommendations to this file (atomically) instead of printing them; without --users, every user' })
        .option('format', { choices: Object.keys(RECOMMENDATION_FORMATS), default: 'arrow', describe: 'file format of --out' })
        .option('force', { type: 'boolean', default: false, describe: 'replace an earlier pris recommendations file at --out' })
        .option('include-seen', { type: 'boolean', default: false, describe: 'keep items the user already has (no exclusion; no dataset needed)' })
        .option('exclude', {
          choices: ['train', 'valid', 'test'] as const,
          array: true,
          describe: 'splits whose items are not recommended (default: all three, every known interaction)',
        })
        .option('seed', { type: 'number', requiresArg: true, defaultDescription: "the model's training seed", describe: 'fold-in seed (--items)' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' })
        .option('threads', THREADS_OPTION)
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
        .example('$0 recommend models/gowalla data/gowalla --users 196,186', "two users' top-10, their known items left out")
        .example('$0 recommend models/gowalla data/gowalla --k 50 --out recs.arrow', "every user's top-50 to an Arrow file")
        .example('$0 recommend models/gowalla --items 50,172,181', 'a user the model never saw, from three items')
        .example('$0 recommend models/gowalla data/gowalla --exclude train --out recs.arrow', 'leave out training items only (e.g. to inspect test hits)'),
    async (argv) => {
      const a = argv as unknown as RecommendArgs;
      const k = parseK(a.k);
      const users = idsFrom(a as unknown as Record<string, unknown>, 'users');
      const lists = newUsersFrom(a as unknown as Record<string, unknown>);
      if (users && lists) throw new UserError('--users and --items ask for different things (known users, new users): give one');
      if (lists) return recommendNewUsers(a, lists, k);
      return recommendKnownUsers(a, users, k);
    },
  );
}

function registerSimilar(y: Argv): Argv {
  return y.command(
    'similar <model>',
    "each item's nearest items by cosine of the item embeddings",
    (c) =>
      c
        .usage("$0 similar <model> --items i1,i2 [--k 10] [--json]\n\nFor each item, the k items whose embeddings have the largest cosine with it (the item itself left out).")
        .positional('model', { type: 'string', describe: 'model directory (pris train --out)' })
        .option('items', { type: 'string', requiresArg: true, describe: 'items (raw ids), comma-separated; repeatable' })
        .option('items-file', { type: 'string', requiresArg: true, describe: 'a file of items, one id per line' })
        .option('k', { type: 'string', default: '10', describe: 'similar items per item' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' })
        .example('$0 similar models/ml --items 50,172', 'the ten items nearest to each'),
    async (argv) => {
      const a = argv as unknown as { model: string; k: unknown; json: boolean } & Record<string, unknown>;
      const k = parseK(a.k);
      const items = idsFrom(a, 'items');
      if (!items) throw new UserError('name the items: --items i1,i2 or --items-file F');
      const model = await loadModel(a.model);
      try {
        const sims = await naming(a.items !== undefined ? '--items' : '--items-file', () => model.similarItems(items, { k }));
        if (a.json) {
          process.stdout.write(JSON.stringify(sims, null, 2) + '\n');
          return;
        }
        process.stdout.write(formatTable(['item', 'rank', 'similar', 'score'], rankedRows(sims.map((s) => ({ label: s.item, items: s.similar }))), 'lrlr'));
      } finally {
        await model.close();
      }
    },
  );
}

/** Registers `recommend` and `similar`. */
export function registerRecommendCommands(y: Argv): Argv {
  return registerSimilar(registerRecommend(y));
}
