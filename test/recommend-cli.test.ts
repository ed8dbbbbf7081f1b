import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { groupedCsv, pris, prisHere } from './helpers/cli.js';
import { loadDataset, readItemIds, readUserIds, type SplitName } from '../src/data/dataset.js';
import { saveEmbeddings } from '../src/model/io.js';
import { createModel, type Model } from '../src/model/store.js';
import { readRecommendations } from '../src/eval/recs-io.js';
import { loadModel } from '../src/index.js';

/**
 * `pris recommend` (known users printed, every user or some to a file, new
 * users by fold-in) and `pris similar`, checked against brute force over the
 * saved embeddings: every score a plain dot product (or cosine), every list
 * sorted by hand.
 */

const root = t.testdir();
const csv = path.join(root, 'x.csv');
const data = path.join(root, 'data');
const modelDir = path.join(root, 'model');
let model: Model;
let users: string[];
let items: string[];

t.before(async () => {
  writeFileSync(csv, groupedCsv(40, 30, 6, 3));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', data, '-q'], ['data', 'split', data, '--seed', '1']]) {
    const r = await prisHere(...args);
    if (r.code !== 0) throw new Error(r.err);
  }
  users = readUserIds(data);
  items = readItemIds(data);
  model = createModel(users.length, items.length, 8, { kind: 'normal', std: 0.5, seed: 3 });
  await saveEmbeddings(modelDir, model, users, items);
});

const dot = (a: Float32Array, i: number, b: Float32Array, j: number, d: number) => {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
  return s;
};

/** The top-k of `score` over items not in `skip`, best first, ties to the lower index. */
function topK(score: (j: number) => number, skip: Set<number>, k: number): { item: string; score: number }[] {
  const cands = items.map((_, j) => j).filter((j) => !skip.has(j));
  cands.sort((a, b) => score(b) - score(a) || a - b);
  return cands.slice(0, k).map((j) => ({ item: items[j]!, score: score(j) }));
}

function known(u: number, splits: SplitName[]): Set<number> {
  const ds = loadDataset(data);
  const out = new Set<number>();
  for (const s of splits) for (let q = ds[s].indptr[u]!; q < ds[s].indptr[u + 1]!; q++) out.add(ds[s].indices[q]!);
  return out;
}

function expectedFor(user: string, k: number, splits: SplitName[]) {
  const u = users.indexOf(user);
  return topK((j) => dot(model.user, u, model.item, j, model.dim), known(u, splits), k);
}

/** The printed table's rows, header checked. */
function tableRows(t: Test, out: string, header: string[]): string[][] {
  const lines = out.trimEnd().split('\n');
  t.same(lines[0]!.split(/\s+/), header, 'header');
  return lines.slice(1).map((l) => l.trim().split(/\s{2,}/));
}

function sameList(t: Test, got: { item: string; score: number }[], want: { item: string; score: number }[], what: string) {
  t.same(got.map((x) => x.item), want.map((x) => x.item), `${what}: items`);
  t.ok(got.every((x, r) => Math.abs(x.score - want[r]!.score) < 1e-4), `${what}: scores`);
}

t.test('known users: a table, every known item left out, users in the order asked', async (t) => {
  const r = await prisHere('recommend', modelDir, data, '--users', `${users[5]},${users[2]}`, '--k', '4');
  t.equal(r.code, 0, r.err);
  const rows = tableRows(t, r.out, ['user', 'rank', 'item', 'score']);
  t.equal(rows.length, 8);
  for (const [n, user] of [users[5]!, users[2]!].entries()) {
    const mine = rows.slice(n * 4, n * 4 + 4);
    t.ok(mine.every((row) => row[0] === user), `rows ${n * 4 + 1}-${n * 4 + 4} are ${user}'s`);
    t.same(mine.map((row) => row[1]), ['1', '2', '3', '4'], 'ranks');
    sameList(t, mine.map((row) => ({ item: row[2]!, score: Number(row[3]) })), expectedFor(user, 4, ['train', 'valid', 'test']), user);
  }
  // --exclude train: only the training items are left out; --users repeated and from a file add up.
  const file = path.join(root, 'users.txt');
  writeFileSync(file, `${users[7]}\r\n\n  ${users[9]}  \n`);
  const ex = await prisHere('recommend', modelDir, data, '--users', users[1]!, '--users-file', file, '--exclude', 'train', '--k', '3', '--json');
  t.equal(ex.code, 0, ex.err);
  const json = JSON.parse(ex.out) as { user: string; items: { item: string; score: number }[] }[];
  t.same(json.map((x) => x.user), [users[1], users[7], users[9]]);
  for (const x of json) sameList(t, x.items, expectedFor(x.user, 3, ['train']), `${x.user} --exclude train`);
});

t.test('--include-seen needs no dataset and ranks every item', async (t) => {
  const r = await prisHere('recommend', modelDir, '--users', users[3]!, '--include-seen', '--k', '5', '--json');
  t.equal(r.code, 0, r.err);
  sameList(t, JSON.parse(r.out)[0].items, expectedFor(users[3]!, 5, []), 'nothing left out');
});

t.test('--out: every user, or the users named, to an Arrow file', async (t) => {
  const all = path.join(root, 'all.arrow');
  const r = await prisHere('recommend', modelDir, data, '--out', all, '--k', '3', '-q');
  t.equal(r.code, 0, r.err);
  t.match(r.out, new RegExp(`wrote ${users.length * 3} recommendations \\(${users.length} users, top 3, train \\+ valid \\+ test items excluded\\)`));
  const rows = readRecommendations(all);
  t.equal(rows.user.length, users.length * 3);
  const u = 11;
  sameList(t, [0, 1, 2].map((r) => ({ item: rows.itemId[u * 3 + r]!, score: rows.score[u * 3 + r]! })), expectedFor(users[u]!, 3, ['train', 'valid', 'test']), 'user 11 in the file');

  const some = path.join(root, 'some.arrow');
  const s = await prisHere('recommend', modelDir, data, '--users', `${users[9]},${users[4]}`, '--out', some, '--k', '2', '-q');
  t.equal(s.code, 0, s.err);
  const two = readRecommendations(some);
  t.same(two.userId, [users[9], users[9], users[4], users[4]], 'the users named, in their order');
  t.same(Array.from(two.user), [9, 9, 4, 4]);
});

t.test('new users by fold-in: the library\'s lists, their own items left out, no dataset needed', async (t) => {
  const a = [items[0]!, items[1]!, items[2]!];
  const b = [items[20]!, items[21]!];
  const r = await prisHere('recommend', modelDir, '--items', a.join(','), '--items', b.join(','), '--k', '4', '--seed', '3');
  t.equal(r.code, 0, r.err);
  const rows = tableRows(t, r.out, ['user', 'rank', 'item', 'score']);
  t.same(rows.map((row) => row[0]), ['new 1', 'new 1', 'new 1', 'new 1', 'new 2', 'new 2', 'new 2', 'new 2']);
  const m = await loadModel(modelDir);
  t.teardown(() => m.close());
  const want = await m.recommendForItems([a, b], { k: 4, seed: 3 });
  for (const n of [0, 1]) {
    const got = rows.slice(n * 4, n * 4 + 4).map((row) => ({ item: row[2]!, score: Number(row[3]) }));
    sameList(t, got, want[n]!.items, `new user ${n + 1}`);
    t.ok(got.every((x) => ![a, b][n]!.includes(x.item)), 'their own items left out');
  }
  // The same users from a file, as JSON.
  const file = path.join(root, 'new.txt');
  writeFileSync(file, `${a.join(',')}\n${b.join(', ')}\n`);
  const j = await prisHere('recommend', modelDir, data, '--items-file', file, '--k', '4', '--seed', '3', '--json');
  t.equal(j.code, 0, j.err);
  const parsed = JSON.parse(j.out);
  t.same(parsed.map((x: { from: string[] }) => x.from), [a, b]);
  t.same(parsed.map((x: { items: unknown }) => x.items), want.map((x) => x.items));
});

t.test('similar: the nearest items by cosine, the item itself left out', async (t) => {
  const d = model.dim;
  const norm = (j: number) => Math.sqrt(dot(model.item, j, model.item, j, d));
  const r = await prisHere('similar', modelDir, '--items', `${items[4]},${items[13]}`, '--k', '5');
  t.equal(r.code, 0, r.err);
  const rows = tableRows(t, r.out, ['item', 'rank', 'similar', 'score']);
  t.equal(rows.length, 10);
  for (const [n, j] of [4, 13].entries()) {
    const want = topK((x) => dot(model.item, j, model.item, x, d) / (norm(j) * norm(x)), new Set([j]), 5);
    sameList(t, rows.slice(n * 5, n * 5 + 5).map((row) => ({ item: row[2]!, score: Number(row[3]) })), want, `items like ${items[j]}`);
  }
  const file = path.join(root, 'items.txt');
  writeFileSync(file, `${items[4]}\n`);
  const j = await prisHere('similar', modelDir, '--items-file', file, '--k', '5', '--json');
  t.equal(j.code, 0, j.err);
  t.same(JSON.parse(j.out)[0].similar.map((x: { item: string }) => x.item), rows.slice(0, 5).map((row) => row[2]));
});

t.test('mistakes: one line naming the ids, the flag or the file; exit 2; nothing written', async (t) => {
  const out = path.join(root, 'never.arrow');
  const cases: [string[], RegExp][] = [
    [['recommend', modelDir, data, '--users', `${users[0]},nobody,ghost`], /^pris: --users: unknown users 'nobody', 'ghost' \(not among the model's 40 users\); for a user the model never saw, give their items with --items\n$/],
    [['recommend', modelDir, data, '--users', 'nobody', '--out', out], /--users: unknown user 'nobody'/],
    [['recommend', modelDir, '--items', `${items[0]},nothing`, '--items', 'zilch'], /^pris: --items: unknown items 'nothing', 'zilch' \(not among the model's 30 items\)\n$/],
    [['similar', modelDir, '--items', 'nothing'], /^pris: --items: unknown item 'nothing'/],
    [['similar', modelDir], /name the items: --items/],
    [['recommend', modelDir, '--users', users[0]!], /give the dataset .*model was trained on .* or --include-seen/],
    [['recommend', modelDir, data], /name the users/],
    [['recommend', modelDir, data, '--users', users[0]!, '--items', items[0]!], /--users and --items ask for different things/],
    [['recommend', modelDir, '--items', items[0]!, '--out', out], /--out writes the recommendations of known users/],
    [['recommend', modelDir, '--items', items[0]!, '--include-seen'], /a new user's own items \(--items\) are always left out/],
    [['recommend', modelDir, data, '--users', users[0]!, '--seed', '2'], /--seed is the seed of fold-in/],
    [['recommend', modelDir, data, '--users-file', path.join(root, 'missing.txt')], /^pris: --users-file .*missing\.txt: no such file or directory \(ENOENT, open\)\n$/],
    [['recommend', modelDir, data, '--users', ' , '], /--users names no user/],
    [['recommend', modelDir, data, '--users', users[0]!, '--k', '0'], /--k must be a positive integer/],
    [['recommend', modelDir, data, '--users', users[0]!, '--threads', '0'], /--threads must be an integer >= 1/],
  ];
  writeFileSync(path.join(root, 'blank.txt'), '\n  \n');
  cases.push([['similar', modelDir, '--items-file', path.join(root, 'blank.txt')], /--items-file .*blank\.txt: the file names nothing/]);
  for (const [args, message] of cases) {
    const r = await prisHere(...args);
    t.equal(r.code, 2, `exit 2: ${args.slice(2).join(' ')}`);
    t.match(r.err, message, `message: ${args.slice(2).join(' ')}`);
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  t.throws(() => readRecommendations(out), 'nothing written');
  // The exit code reaches the shell.
  const r = pris(['similar', modelDir, '--items', 'nothing']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^pris: --items: unknown item 'nothing'/);
});
