import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { importDataset } from '../src/data/import/run.js';
import { splitDataset } from '../src/data/split.js';
import { datasetStats, formatDensity, formatPercent, formatStats, partStats, topItemCount } from '../src/data/stats.js';

const FIX = path.join(import.meta.dirname, 'fixtures');

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-stats-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('top 5% of items: ceil in integer arithmetic', async (t) => {
  t.same([1, 7, 20, 21, 40000, 25975, 40981, 40988].map(topItemCount), [1, 1, 1, 2, 2000, 1299, 2050, 2050]);
});

t.test('Table-1 figures of a set of rows', async (t) => {
  // 3 users x 4 items (+ 16 items nobody has: 20 items, top 5% = 1 item)
  const user = new Int32Array([0, 0, 0, 1, 1, 2]);
  const item = new Int32Array([0, 1, 2, 0, 3, 0]);
  const s = partStats(user, item, 4, 20);
  t.same(s, { users: 3, items: 4, interactions: 6, density: 6 / 80, concentration: 3 / 6 });
});

t.test('formats: the paper notation', async (t) => {
  t.equal(formatDensity(134860 / (7947 * 25975)), '6.53e-04');
  t.equal(formatDensity(0.25), '2.50e-01');
  t.equal(formatDensity(1.5e-12), '1.50e-12');
  t.equal(formatPercent(0.31558), '31.6%');
});

t.test('dataset stats, before and after a split', async (t) => {
  const dir = path.join(tmp(t), 'cl');
  await importDataset({ format: 'countlist', inputs: [path.join(FIX, 'countlist-users.dat')], catalogItems: 7, out: dir, progress: 'quiet' });
  let s = datasetStats(dir);
  // rows: user0 {0,2,5}, user1 {5}, user2 {0,2}; items 0,2,5 twice each; 7-item catalogue, top 1 item.
  t.same(s.all, { users: 3, items: 7, interactions: 6, density: 6 / 21, concentration: 2 / 6, usersWithInteractions: 3, itemsWithInteractions: 3 });
  t.equal(s.topItems, 1);
  t.equal(s.split, undefined);
  t.match(formatStats(s), /all\s+3\s+7\s+6\s+2\.86e-01\s+33\.3%/);
  t.match(formatStats(s), /not split yet/);

  await splitDataset(dir, { seed: 1, validFraction: 0.5 });
  s = datasetStats(dir);
  // user0 (3): 1 test, round(2 x 0.5) = 1 valid, 1 train; user1 (1): train only; user2 (2): 1 test, 1 train
  t.same(s.split!.parts.test.interactions, 2);
  t.same(s.split!.parts.valid.interactions, 1);
  t.same(s.split!.parts.train.interactions, 3);
  t.same([s.split!.parts.test.users, s.split!.parts.valid.users, s.split!.parts.train.users], [2, 1, 3]);
  t.equal(s.split!.parts.test.density, 2 / 21, 'density over the whole map');
  t.match(s.split, { seed: 1, usersWithoutTest: 1, usersWithoutValid: 2 });
  t.match(formatStats(s), /users without test: 1, without valid: 2/);
});
