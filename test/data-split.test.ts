import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FILES, loadDataset, readMeta } from '../src/data/dataset.js';
import { importDataset } from '../src/data/import/run.js';
import { readInteractions, type Interactions } from '../src/data/interactions.js';
import { assignSplit, heldOutCount, splitDataset } from '../src/data/split.js';

const FIX = path.join(import.meta.dirname, 'fixtures');

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-split-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `sizes[u]` rows for user u, items 0..sizes[u]-1. */
function usersWith(sizes: number[]): Interactions {
  const user: number[] = [];
  const item: number[] = [];
  sizes.forEach((n, u) => {
    for (let i = 0; i < n; i++) {
      user.push(u);
      item.push(i);
    }
  });
  return { user: Int32Array.from(user), item: Int32Array.from(item) };
}

function perUser(x: Interactions, label: Uint8Array, nUsers: number): number[][] {
  const c = Array.from({ length: nUsers }, () => [0, 0, 0]);
  for (let r = 0; r < label.length; r++) c[x.user[r]!]![label[r]!]!++;
  return c;
}

t.test('held-out counts: round(n f), at least 1 and never the whole user', async (t) => {
  const table = [1, 2, 3, 4, 5, 7, 8, 10, 12, 13, 100].map((n) => [n, heldOutCount(n, 0.2)]);
  t.same(table, [[1, 0], [2, 1], [3, 1], [4, 1], [5, 1], [7, 1], [8, 2], [10, 2], [12, 2], [13, 3], [100, 20]]);
  t.equal(heldOutCount(10, 0), 0, 'fraction 0: nothing held out');
  t.equal(heldOutCount(2, 0.9), 1, 'never empties the rest');
  t.same([2, 3, 4, 5, 8, 15].map((n) => heldOutCount(n, 0.1, false)), [0, 0, 0, 1, 1, 2], 'validation: round(n f), no minimum');
});

t.test('per-user counts follow the rule; small users are counted', async (t) => {
  const sizes = [10, 1, 2, 3, 5, 40];
  const x = usersWith(sizes);
  const a = assignSplit(x, sizes.length, 40, { seed: 7 });
  // [train, valid, test] per user
  t.same(perUser(x, a.label, sizes.length), [
    [7, 1, 2], // 10: test 2; 8 left: valid round(0.8) = 1
    [1, 0, 0], // 1: no test, no valid
    [1, 0, 1], // 2: test 1; 1 left: no valid
    [2, 0, 1], // 3: test 1; 2 left: valid round(0.2) = 0
    [4, 0, 1], // 5: test 1; 4 left: valid round(0.4) = 0
    [29, 3, 8], // 40: test 8; 32 left: valid round(3.2) = 3
  ]);
  t.same([a.usersWithoutTest, a.usersWithoutValid, a.usersWithoutTrain], [1, 4, 0]);
});

t.test('fractions are flags; parts are disjoint and cover every row', async (t) => {
  const sizes = Array.from({ length: 200 }, (_, u) => 5 + (u % 30));
  const x = usersWith(sizes);
  const a = assignSplit(x, sizes.length, 40, { seed: 3, testFraction: 0.3, validFraction: 0.25 });
  const counts = [0, 0, 0];
  for (const l of a.label) counts[l]!++;
  t.equal(counts[0]! + counts[1]! + counts[2]!, x.user.length, 'each row has exactly one label');
  const n = x.user.length;
  t.ok(Math.abs(counts[2]! / n - 0.3) < 0.02, `test share ${counts[2]! / n}`);
  t.ok(Math.abs(counts[1]! / (n - counts[2]!) - 0.25) < 0.03, `valid share of train ${counts[1]! / (n - counts[2]!)}`);
  t.throws(() => assignSplit(x, sizes.length, 40, { seed: 3, testFraction: 1 }), { message: /--test-fraction must be in \[0, 1\)/ });
  t.throws(() => assignSplit(x, sizes.length, 40, { seed: -1 }), { message: /--seed must be a non-negative integer/ });
});

t.test('same seed, same split; another seed, another split', async (t) => {
  const sizes = Array.from({ length: 50 }, () => 10);
  const x = usersWith(sizes);
  const a = assignSplit(x, 50, 10, { seed: 1 }).label;
  const b = assignSplit(x, 50, 10, { seed: 1 }).label;
  const c = assignSplit(x, 50, 10, { seed: 2 }).label;
  t.same(Array.from(a), Array.from(b));
  t.notSame(Array.from(a), Array.from(c));
  t.same(perUser(x, a, 50), perUser(x, c, 50), 'counts depend on n only, not on the seed');
  // A user's split depends on the seed and that user only: removing user 0 changes nobody else.
  const rest = usersWith(sizes.slice(1));
  const d = assignSplit({ user: rest.user.map((u) => u + 1), item: rest.item }, 50, 10, { seed: 1 }).label;
  t.same(Array.from(d), Array.from(a.subarray(10)));
});

t.test('splitDataset on an imported dataset: files, meta, union = interactions, idempotent', async (t) => {
  const dir = path.join(tmp(t), 'syn');
  await importDataset({ format: 'movielens', inputs: [path.join(FIX, 'movielens-u.data')], out: dir, progress: 'quiet' });
  const s1 = await splitDataset(dir, { seed: 5 });
  const all = readInteractions(path.join(dir, FILES.interactions));
  const parts = (['train', 'valid', 'test'] as const).map((p) => readInteractions(path.join(dir, FILES[p])));
  const key = (x: Interactions, r: number) => `${x.user[r]}:${x.item[r]}:${x.weight![r]}:${x.timestamp![r]}`;
  const union = parts.flatMap((p) => Array.from(p.user, (_, r) => key(p, r))).sort();
  t.same(union, Array.from(all.user, (_, r) => key(all, r)).sort(), 'weights and timestamps travel with their rows');
  t.same(s1.counts, { train: 3, valid: 0, test: 2 });
  t.same(readMeta(dir).split, s1);
  const files1 = readdirSync(dir).sort();
  t.same(files1, ['.pris-output.json', 'interactions.arrow', 'items.arrow', 'meta.json', 'test.arrow', 'train.arrow', 'users.arrow', 'valid.arrow']);
  await t.rejects(splitDataset(dir, { seed: 6 }), { message: /is already split \(seed 5\); give --force/ });
  await splitDataset(dir, { seed: 6, force: true });
  await splitDataset(dir, { seed: 5, force: true });
  t.same(readMeta(dir).split, s1, 're-running starts again from interactions.arrow');
  t.same(readdirSync(dir).sort(), files1, 'no temporaries left');
  const loaded = loadDataset(dir);
  t.equal(loaded.train.indptr[loaded.nUsers], 3, 'the trainer loads it');
});

t.test('a predefined split keeps its test rows; valid comes from its train rows', async (t) => {
  const dir = path.join(tmp(t), 'lg');
  await importDataset({
    format: 'lightgcn',
    inputs: [path.join(FIX, 'lightgcn-train.txt'), path.join(FIX, 'lightgcn-test.txt')],
    out: dir,
    progress: 'quiet',
  });
  const s = await splitDataset(dir, { seed: 1, testFraction: 0.5, validFraction: 0.3 });
  const test = readInteractions(path.join(dir, FILES.test));
  t.same([Array.from(test.user), Array.from(test.item)], [[0, 1, 1, 2], [4, 2, 3, 5]], 'test = test.txt, testFraction unused');
  // train parts at valid 0.3: user 0 {1,2,3} -> round(0.9) = 1 valid; user 1 {0} -> none; user 2 {0,1,3,4} -> round(1.2) = 1
  t.same(s.counts, { train: 6, valid: 2, test: 4 });
  t.match(s, { predefined: true, usersWithoutTest: 0, usersWithoutValid: 1 });
  const valid = readInteractions(path.join(dir, FILES.valid));
  t.same(Array.from(valid.user), [0, 2]);
  t.ok([1, 2, 3].includes(valid.item[0]!) && [0, 1, 3, 4].includes(valid.item[1]!), 'valid rows come from train.txt');
});
