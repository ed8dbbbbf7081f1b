import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FILES, readMeta } from '../src/data/dataset.js';
import { readIdMap, readInteractions, writeInteractions, writeIdMap } from '../src/data/interactions.js';
import { readTable } from '../src/data/arrow-io.js';
import { importDataset, type ImportRequest } from '../src/data/import/run.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const fx = (name: string) => path.join(FIX, name);

async function run(t: Test, req: Omit<ImportRequest, 'out'>) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'pris-import-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const out = path.join(tmp, 'ds');
  const meta = await importDataset({ progress: 'quiet', ...req, out });
  const x = readInteractions(path.join(out, FILES.interactions), { nUsers: meta.users, nItems: meta.items });
  const users = readIdMap(path.join(out, FILES.users));
  const items = readIdMap(path.join(out, FILES.items));
  t.same(readMeta(out), meta, 'meta.json holds what the import returned');
  t.equal(users.length, meta.users);
  t.equal(items.length, meta.items);
  t.equal(x.user.length, meta.interactions);
  /** Rows as raw-id tuples, to compare against the source by hand. */
  const raw = Array.from(x.user, (u, r) => {
    const row: (string | number)[] = [users[u]!, items[x.item[r]!]!];
    if (x.weight) row.push(x.weight[r]!);
    if (x.timestamp) row.push(Number(x.timestamp[r]!));
    return row;
  });
  return { out, meta, x, users, items, raw };
}

function sortedByUserItem(x: { user: Int32Array; item: Int32Array }): boolean {
  for (let r = 1; r < x.user.length; r++) {
    if (x.user[r - 1]! > x.user[r]! || (x.user[r - 1] === x.user[r] && x.item[r - 1]! >= x.item[r]!)) return false;
  }
  return true;
}

t.test('lightgcn train + test keeps the predefined split', async (t) => {
  const r = await run(t, { format: 'lightgcn', inputs: [fx('lightgcn-train.txt'), fx('lightgcn-test.txt')] });
  t.same(r.users, ['0', '1', '2'], '0-based integer ids map to themselves');
  t.same(r.items, ['0', '1', '2', '3', '4', '5']);
  t.same(r.raw, [
    ['0', '1'], ['0', '2'], ['0', '3'], ['0', '4'],
    ['1', '0'], ['1', '2'], ['1', '3'],
    ['2', '0'], ['2', '1'], ['2', '3'], ['2', '4'], ['2', '5'],
  ]);
  t.ok(sortedByUserItem(r.x));
  t.equal(r.x.weight, undefined);
  t.match(r.meta, { predefinedSplit: true, predefinedTestInteractions: 4, hasWeight: false, hasTimestamp: false, inputRows: 12 });
  const test = readInteractions(path.join(r.out, FILES.predefinedTest));
  t.same([Array.from(test.user), Array.from(test.item)], [[0, 1, 1, 2], [4, 2, 3, 5]]);
  t.same(readdirSync(r.out).sort(), ['.pris-output.json', 'interactions.arrow', 'items.arrow', 'meta.json', 'predefined_test.arrow', 'users.arrow']);
});

t.test('lightgcn with one file has no predefined split', async (t) => {
  const r = await run(t, { format: 'lightgcn', inputs: [fx('lightgcn-train.txt')] });
  t.equal(r.meta.predefinedSplit, false);
  t.equal(r.meta.interactions, 8);
  t.notOk(existsSync(path.join(r.out, FILES.predefinedTest)));
});

t.test('countlist: line k is user k; --catalog-items completes the integer catalogue', async (t) => {
  const r = await run(t, { format: 'countlist', inputs: [fx('countlist-users.dat')] });
  t.same(r.users, ['0', '1', '2'], "user 3 ('0' items) has no interactions and no index");
  t.same(r.items, ['0', '2', '5']);
  t.same(r.raw, [['0', '0'], ['0', '2'], ['0', '5'], ['1', '5'], ['2', '0'], ['2', '2']]);
  const c = await run(t, { format: 'countlist', inputs: [fx('countlist-users.dat')], catalogItems: 7 });
  t.same(c.items, ['0', '1', '2', '3', '4', '5', '6']);
  t.same(Array.from(c.x.item), [0, 2, 5, 5, 0, 2], 'catalogue ids keep their own index');
  t.match(c.meta, { items: 7, itemsWithoutInteractions: 4, filters: { catalogItems: 7 } });
  await t.rejects(run(t, { format: 'countlist', inputs: [fx('countlist-users.dat')], catalogItems: 2 }), {
    message: '--catalog-items 2 is smaller than the 3 distinct items in the input',
  });
});

t.test('movielens u.data: ratings, timestamps, duplicates collapsed', async (t) => {
  const r = await run(t, { format: 'movielens', inputs: [fx('movielens-u.data')] });
  t.same(r.users, ['22', '186', '196'], 'numeric order, not string order');
  t.same(r.items, ['242', '302', '377']);
  t.same(r.raw, [
    ['22', '302', 5, 878887200],
    ['22', '377', 1, 878887116],
    ['186', '302', 3, 891717742],
    ['196', '242', 4, 881250949],
    ['196', '302', 5, 881251000],
  ]);
  t.match(r.meta, { source: { variant: 'tsv', header: false }, hasWeight: true, hasTimestamp: true, dropped: { duplicates: 1 } });
});

t.test('movielens filters apply in order: rating, duplicates, min user interactions', async (t) => {
  const gt = await run(t, { format: 'movielens', inputs: [fx('movielens-u.data')], minRating: '>4' });
  t.same(gt.raw.map((x) => x.slice(0, 2)), [['22', '302'], ['196', '302']]);
  t.match(gt.meta.dropped, { minRating: 4, duplicates: 0, users: 1, items: 2 });
  const ge = await run(t, { format: 'movielens', inputs: [fx('movielens-u.data')], minRating: '>=3', minUserInteractions: 2 });
  // rating >= 3 drops (22, 377); (196, 242) x2 collapse; then user 186 (1 item) and user 22 (1 item) go.
  t.same(ge.raw.map((x) => x.slice(0, 2)), [['196', '242'], ['196', '302']]);
  t.match(ge.meta.dropped, { minRating: 1, duplicates: 1, minUserInteractions: 2, usersBelowMinInteractions: 2, users: 2, items: 1 });
  t.same(ge.meta.filters, { minRating: { op: '>=', value: 3 }, minUserInteractions: 2 });
  await t.rejects(run(t, { format: 'movielens', inputs: [fx('movielens-u.data')], minRating: '>5' }), {
    message: "no interactions left after --min-rating '>5' (dropped 6 of 6 rows)",
  });
  await t.rejects(run(t, { format: 'movielens', inputs: [fx('movielens-u.data')], minUserInteractions: 4 }), {
    message: /^no interactions left after --min-user-interactions 4/,
  });
});

t.test('movielens ratings.dat (::) and ratings.csv (header) are detected; --variant forces', async (t) => {
  const dat = await run(t, { format: 'movielens', inputs: [fx('movielens-ratings.dat')] });
  t.same(dat.raw, [['1', '661', 3, 978302109], ['1', '1193', 5, 978300760], ['2', '1193', 4, 978298413]]);
  t.equal(dat.meta.source.variant, 'dat');
  const csv = await run(t, { format: 'movielens', inputs: [fx('movielens-ratings.csv')] });
  t.same(csv.raw, [['1', '31', 2.5, 1260759144], ['1', '1029', 3, 1260759179], ['2', '31', 4.5, 1260759185]]);
  t.match(csv.meta.source, { variant: 'csv', header: true });
  await t.rejects(run(t, { format: 'movielens', inputs: [fx('movielens-ratings.dat')], variant: 'csv' }), {
    message: /movielens-ratings\.dat:1: expected 4 fields/,
  });
});

t.test('.gz inputs read transparently', async (t) => {
  const dir = t.testdir();
  const gz = path.join(dir, 'u.data.gz');
  writeFileSync(gz, gzipSync(readFileSync(fx('movielens-u.data'))));
  const plain = await run(t, { format: 'movielens', inputs: [fx('movielens-u.data')] });
  const zipped = await run(t, { format: 'movielens', inputs: [gz] });
  t.same(zipped.raw, plain.raw);
  const tr = path.join(dir, 'train.txt.gz');
  writeFileSync(tr, gzipSync(readFileSync(fx('lightgcn-train.txt'))));
  t.equal((await run(t, { format: 'lightgcn', inputs: [tr, fx('lightgcn-test.txt')] })).meta.interactions, 12);
});

t.test('triplets: string ids sort as strings, count → weight, --min-count', async (t) => {
  const r = await run(t, { format: 'triplets', inputs: [fx('triplets.txt')] });
  t.same(r.users, ['85c1f87fea955d09b4bec2e36aee110927aedf9a', 'b80344d063b5ccb3212f76538f3d9e43d87dca9e']);
  t.same(r.raw, [
    ['85c1f87fea955d09b4bec2e36aee110927aedf9a', 'SOAKIMP12A8C130995', 5],
    ['b80344d063b5ccb3212f76538f3d9e43d87dca9e', 'SOAKIMP12A8C130995', 1],
    ['b80344d063b5ccb3212f76538f3d9e43d87dca9e', 'SOAPDEY12A81C210A9', 7],
  ]);
  const f = await run(t, { format: 'triplets', inputs: [fx('triplets.txt')], minCount: 5 });
  t.equal(f.meta.interactions, 2);
  t.match(f.meta, { filters: { minCount: 5 }, dropped: { minCount: 1 } });
});

t.test('lastfm: CRLF and the header line', async (t) => {
  const r = await run(t, { format: 'lastfm', inputs: [fx('lastfm-user_artists.dat')] });
  t.same(r.raw, [['2', '51', 13883], ['2', '52', 4], ['3', '51', 228]]);
  t.equal(r.meta.source.header, true);
});

t.test('csv: named columns, quoted fields, a delimiter other than comma', async (t) => {
  const r = await run(t, {
    format: 'csv',
    inputs: [fx('generic.csv')],
    header: true,
    delimiter: ';',
    userCol: 'who',
    itemCol: 'item',
    weightCol: 'score',
    timestampCol: 'when',
  });
  t.same(r.users, ['alice', 'bob "b"']);
  t.same(r.items, ['i,1', 'i1', 'i2']);
  t.same(r.raw, [['alice', 'i,1', 4.5, 1000], ['alice', 'i1', 2, 999], ['bob "b"', 'i2', 3, 1001]]);
  const byNumber = await run(t, { format: 'csv', inputs: [fx('generic.csv')], header: true, delimiter: ';', userCol: '1', itemCol: '0' });
  t.same(byNumber.raw, [['alice', 'i,1'], ['alice', 'i1'], ['bob "b"', 'i2']]);
  t.equal(byNumber.x.weight, undefined);
  await t.rejects(run(t, { format: 'csv', inputs: [fx('generic.csv')], header: true, delimiter: ';', userCol: 'nobody' }), {
    message: /--user-col 'nobody' is not a column of the header \(item, who, score, when\)/,
  });
  await t.rejects(run(t, { format: 'csv', inputs: [fx('generic.csv')], delimiter: ';', weightCol: 'score' }), {
    message: /add --header/,
  });
});

t.test('options that do not apply are refused before reading', async (t) => {
  await t.rejects(run(t, { format: 'countlist', inputs: [fx('countlist-users.dat')], minRating: '>4' }), {
    message: /--min-rating filters on ratings\/counts, and this countlist import has none/,
  });
  await t.rejects(run(t, { format: 'lightgcn', inputs: [fx('lightgcn-train.txt')], userCol: '0' }), {
    message: '--user-col applies to the csv, parquet, arrow format(s), not lightgcn',
  });
  await t.rejects(run(t, { format: 'countlist', inputs: [fx('countlist-users.dat'), fx('countlist-users.dat')] }), {
    message: /countlist takes users\.dat; got 2/,
  });
  await t.rejects(run(t, { format: 'nope', inputs: [] }), { message: /unknown format 'nope'/ });
});

t.test('an import refuses to replace a directory that is not a dataset, and replaces a dataset', async (t) => {
  const dir = t.testdir({ notmine: { 'keep.txt': 'precious' } });
  await t.rejects(importDataset({ format: 'lightgcn', inputs: [fx('lightgcn-train.txt')], out: path.join(dir, 'notmine'), progress: 'quiet' }), {
    message: /is a directory pris did not write \(it holds keep\.txt\); refusing to replace it/,
  });
  t.equal(readFileSync(path.join(dir, 'notmine', 'keep.txt'), 'utf8'), 'precious');
  const out = path.join(dir, 'ds');
  await importDataset({ format: 'lightgcn', inputs: [fx('lightgcn-train.txt'), fx('lightgcn-test.txt')], out, progress: 'quiet' });
  await t.rejects(importDataset({ format: 'lightgcn', inputs: [fx('lightgcn-train.txt')], out, progress: 'quiet' }), { message: /give --force to replace it/ });
  await importDataset({ format: 'lightgcn', inputs: [fx('lightgcn-train.txt')], out, progress: 'quiet', force: true });
  t.notOk(existsSync(path.join(out, FILES.predefinedTest)), 'files of the old dataset are gone');
  t.same(readdirSync(dir).sort(), ['ds', 'notmine'], 'no temporaries left');
});

t.test('Arrow round trip: column names and types of every file', async (t) => {
  const r = await run(t, { format: 'movielens', inputs: [fx('movielens-u.data')] });
  const types = (f: string) => readTable(path.join(r.out, f)).schema.fields.map((x) => `${x.name}:${String(x.type)}`);
  t.same(types(FILES.interactions), ['user:Int32', 'item:Int32', 'weight:Float32', 'timestamp:Int64']);
  t.same(types(FILES.users), ['index:Int32', 'id:Utf8']);
  t.same(types(FILES.items), ['index:Int32', 'id:Utf8']);
  const dir = t.testdir();
  const x = {
    user: new Int32Array([0, 1, 1]),
    item: new Int32Array([2, 0, 1]),
    weight: new Float32Array([0.5, 1, 4]),
    timestamp: new BigInt64Array([1n, -2n, 9007199254740993n]),
  };
  await writeInteractions(path.join(dir, 'x.arrow'), x);
  t.same(readInteractions(path.join(dir, 'x.arrow')), x);
  await writeIdMap(path.join(dir, 'ids.arrow'), ['a', 'é', '']);
  t.same(readIdMap(path.join(dir, 'ids.arrow')), ['a', 'é', '']);
});

t.test('header detection: a damaged first data line is an error, not a header', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-header-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'u.data');
  writeFileSync(file, '1\t2\tfive\t100\n1\t3\t4\t101\n');
  await t.rejects(importDataset({ format: 'movielens', inputs: [file], out: path.join(dir, 'o'), progress: 'quiet' }), {
    message: /u\.data:1: rating is not a number/,
  });
});
