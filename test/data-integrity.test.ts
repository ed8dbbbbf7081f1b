import t, { type Test } from 'tap';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FILES, loadDataset, readMeta, readPart, readUserIds, splitFingerprint } from '../src/data/dataset.js';
import { importDataset, type ImportRequest } from '../src/data/import/run.js';
import { writeIdMap, writeInteractions } from '../src/data/interactions.js';
import { splitDataset } from '../src/data/split.js';
import { datasetStats } from '../src/data/stats.js';
import { writeRecommendations } from '../src/eval/recs-io.js';
import { prisHere } from './helpers/cli.js';

/**
 * What a dataset directory promises and what the readers hold it to: row
 * counts and the split's fingerprint from meta.json, ids that are what the
 * bytes say, numeric formats that take only numbers, and limits refused
 * before any work.
 */

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-integrity-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A split dataset made from the LightGCN fixture, with more rows so the parts are not tiny. */
async function splitDir(t: Test, seed = 1): Promise<string> {
  const dir = tmp(t);
  const lines = Array.from({ length: 30 }, (_, u) => [u, ...Array.from({ length: 8 }, (_, k) => (u * 3 + k * 5) % 40)].join(' '));
  writeFileSync(path.join(dir, 'train.txt'), lines.join('\n') + '\n');
  const out = path.join(dir, 'ds');
  await importDataset({ format: 'lightgcn', inputs: [path.join(dir, 'train.txt')], out, progress: 'quiet' });
  await splitDataset(out, { seed });
  return out;
}

async function importFails(t: Test, req: Omit<ImportRequest, 'out'>, message: string | RegExp) {
  const dir = tmp(t);
  await t.rejects(importDataset({ progress: 'quiet', ...req, out: path.join(dir, 'out') }), { name: 'UserError', message });
}

t.test('a split file replaced by another Arrow file is refused: columns, row count, fingerprint', async (t) => {
  const ds = await splitDir(t);
  const meta = readMeta(ds);
  t.match(meta.split!.fingerprint, /^sha256:[0-9a-f]{64}$/);
  loadDataset(ds);
  const train = readPart(ds, meta, 'train');

  // A recommendations table has user and item Int32 columns too.
  const recs = { k: 2, user: Int32Array.of(0, 0), rank: Int32Array.of(1, 2), item: Int32Array.of(1, 2), score: Float32Array.of(2, 1) };
  await writeRecommendations(path.join(ds, FILES.train), recs, ['0', '1'], ['0', '1', '2']);
  t.throws(() => loadDataset(ds), { name: 'UserError', message: /train\.arrow: not an interactions file \(unexpected columns: rank, score, user_id, item_id\)/ });

  // The right columns, the wrong number of rows (the valid rows).
  copyFileSync(path.join(ds, FILES.valid), path.join(ds, FILES.train));
  t.throws(() => loadDataset(ds), { message: new RegExp(`train\\.arrow has ${meta.split!.counts.valid} rows but .*meta\\.json records ${meta.split!.counts.train}: it is not the file pris wrote`) });

  // The right columns and row count, other rows: only the fingerprint tells.
  const n = meta.split!.counts.train;
  const other = { user: new Int32Array(n), item: new Int32Array(n) };
  for (let r = 0; r < n; r++) {
    other.user[r] = train.user[r % train.user.length]!;
    other.item[r] = (train.item[r % train.item.length]! + 1) % meta.items;
  }
  await writeInteractions(path.join(ds, FILES.train), other);
  t.throws(() => loadDataset(ds), { message: /the split files do not match the fingerprint in meta\.json/ });
});

t.test('interactions.arrow and the id maps are held to meta.json as well', async (t) => {
  const ds = await splitDir(t);
  copyFileSync(path.join(ds, FILES.test), path.join(ds, FILES.interactions));
  t.throws(() => datasetStats(ds), { message: /interactions\.arrow has \d+ rows but .* records \d+/ });
  await t.rejects(splitDataset(ds, { seed: 2, force: true }), { message: /interactions\.arrow has \d+ rows/ });

  const ds2 = await splitDir(t);
  await writeIdMap(path.join(ds2, FILES.users), ['a', 'b']);
  t.throws(() => readUserIds(ds2), { message: /users\.arrow has 2 rows but .*meta\.json says 30 users/ });
  t.throws(() => loadDataset(ds2), { message: /users\.arrow has 2 rows but .*meta\.json says 30 users/ }, 'checked when loading, before any training');
});

t.test('the split fingerprint: the same seed gives the same, another seed another; it covers the rows', async (t) => {
  const a = await splitDir(t, 1);
  const b = await splitDir(t, 1);
  const c = await splitDir(t, 2);
  const fingerprint = (dir: string) => readMeta(dir).split?.fingerprint;
  t.match(fingerprint(a), /^sha256:[0-9a-f]{64}$/);
  t.equal(fingerprint(a), fingerprint(b));
  t.not(fingerprint(a), fingerprint(c));
  const meta = readMeta(a);
  const parts = { train: readPart(a, meta, 'train'), valid: readPart(a, meta, 'valid'), test: readPart(a, meta, 'test') };
  t.equal(splitFingerprint(meta, meta.split!, parts), fingerprint(a), 'recomputed from the files');
  t.not(splitFingerprint(meta, { ...meta.split!, seed: 9 }, parts), fingerprint(a), 'the parameters count too');
});

t.test('ids are what their bytes say: invalid UTF-8 fails with file:line, valid non-ASCII ids stay apart', async (t) => {
  const dir = tmp(t);
  const bad = path.join(dir, 'bad.txt');
  writeFileSync(bad, Buffer.concat([Buffer.from('u1\tSO1\t3\nu'), Buffer.from([0xff]), Buffer.from('\tSO1\t1\nu'), Buffer.from([0xfe]), Buffer.from('\tSO1\t1\n')]));
  await importFails(t, { format: 'triplets', inputs: [bad] }, `${bad}:2: user id is not valid UTF-8: "u\uFFFD\\tSO1\\t1"`);
  const badItem = path.join(dir, 'item.csv');
  writeFileSync(badItem, Buffer.concat([Buffer.from('a,"i'), Buffer.from([0xc3]), Buffer.from('"\n')]));
  await importFails(t, { format: 'csv', inputs: [badItem] }, new RegExp(`^${badItem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: not valid UTF-8`));
  const good = path.join(dir, 'good.txt');
  writeFileSync(good, 'é\tSO1\t3\ne\tSO1\t1\n\u00a0é\u00a0\tSO2\t1\n');
  const out = path.join(dir, 'ok');
  const meta = await importDataset({ format: 'triplets', inputs: [good], out, progress: 'quiet' });
  t.equal(meta.users, 2, "'é' and 'e' are two users; blanks around an id (here no-break spaces) are trimmed as before");
  t.same(readUserIds(out), ['e', 'é']);
});

t.test('numeric formats take only non-negative integer ids within Int32, and refuse binary files', async (t) => {
  const dir = tmp(t);
  const w = (name: string, content: string | Buffer) => {
    const f = path.join(dir, name);
    writeFileSync(f, content);
    return f;
  };
  const f1 = w('a.txt', '0 1 2\n1 x2 3\n');
  await importFails(t, { format: 'lightgcn', inputs: [f1] }, `${f1}:2: item id is not a non-negative integer ("x2"): "1 x2 3"`);
  const f1b = w('a2.txt', '0 1 2\n1 1.5\n');
  await importFails(t, { format: 'lightgcn', inputs: [f1b] }, `${f1b}:2: item id is not a non-negative integer ("1.5"): "1 1.5"`);
  const f2 = w('b.txt', '0 1 2\n-1 2\n');
  await importFails(t, { format: 'lightgcn', inputs: [f2] }, /b\.txt:2: user id is not a non-negative integer \("-1"\)/);
  const f3 = w('c.txt', '0 2147483648\n');
  await importFails(t, { format: 'lightgcn', inputs: [f3] }, /c\.txt:1: item id 2147483648 is beyond Int32 \(at most 2147483647\)/);
  const garbage = Buffer.alloc(4096);
  for (let k = 0; k < garbage.length; k++) garbage[k] = (k * 7919 + 13) % 251;
  const f4 = w('d.bin', garbage);
  await importFails(t, { format: 'lightgcn', inputs: [f4] }, /d\.bin:1: (user|item) id is not a non-negative integer/);
  const f5 = w('users.dat', '2 1 2\n1 y\n');
  await importFails(t, { format: 'countlist', inputs: [f5] }, /users\.dat:2: item id is not a non-negative integer \("y"\)/);
  const f6 = w('u.data', '1\t2\t5\t100\nu1\t3\t4\t101\n');
  await importFails(t, { format: 'movielens', inputs: [f6] }, /u\.data:2: user id is not a non-negative integer \("u1"\)/);
  const f7 = w('ok.txt', '0 1 2147483647\n');
  t.equal((await importDataset({ format: 'lightgcn', inputs: [f7], out: path.join(dir, 'ok'), progress: 'quiet' })).items, 2);
});

t.test('--catalog-items beyond Int32 or beyond memory is refused at once, before the input is even opened', async (t) => {
  const missing = path.join(tmp(t), 'not-there.dat');
  await importFails(t, { format: 'countlist', inputs: [missing], catalogItems: 2 ** 31 }, '--catalog-items 2147483648 is beyond Int32: pris numbers items with 32-bit integers (at most 2147483647)');
  await importFails(t, { format: 'countlist', inputs: [missing], catalogItems: 2 ** 31 - 1 }, /^--catalog-items 2147483647 needs about \d+\.\d GiB for the item ids, more than the/);
});

t.test('a model trained on one split refuses the dataset split again with another seed (evaluate, recommend)', async (t) => {
  const ds = await splitDir(t, 1);
  const model = path.join(path.dirname(ds), 'model');
  const run = ['--epochs', '2', '--dim', '4', '--threads', '1', '--seed', '1', '-q'];
  const trained = await prisHere('train', ds, '--out', model, ...run);
  t.equal(trained.code, 0, trained.err);
  t.equal((await prisHere('evaluate', model, ds)).code, 0, 'the split it was trained on');
  await splitDataset(ds, { seed: 2, force: true });
  for (const args of [['evaluate', model, ds], ['recommend', model, ds, '--users', '0']]) {
    const r = await prisHere(...args);
    t.equal(r.code, 2, args[0]!);
    t.match(r.err, /was split differently from the split the model was trained on .*fingerprint sha256:/, `${args[0]}: one line naming the fingerprints`);
  }
});
