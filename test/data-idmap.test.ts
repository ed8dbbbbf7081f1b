import t from 'tap';
import { completeCatalog, compareIntegerIds, denseOrder, Interner, isIntegerId, rankIds } from '../src/data/idmap.js';
import { foldDuplicates, parseMinRating, ratingFilter, countFilter, type Rows } from '../src/data/filters.js';
import { groupByUser } from '../src/data/order.js';

t.test('integer ids sort numerically, anything else as strings', async (t) => {
  t.ok(isIntegerId('0') && isIntegerId('17') && isIntegerId('-3') && isIntegerId('123456789012345678901234567890'));
  t.notOk(isIntegerId('007') || isIntegerId('-0') || isIntegerId('+1') || isIntegerId(' 1') || isIntegerId('1.0') || isIntegerId(''));
  t.same(denseOrder(['10', '9', '-1', '0', '-20', '100000000000000000000', '2']), {
    ids: ['-20', '-1', '0', '2', '9', '10', '100000000000000000000'],
    numeric: true,
  });
  t.same(denseOrder(['10', '9', 'a', 'B']), { ids: ['10', '9', 'B', 'a'], numeric: false });
  t.same(denseOrder(['007', '10', '8']).ids, ['007', '10', '8'], 'a zero-padded id makes the set strings');
  t.equal(compareIntegerIds('-5', '-12'), 1);
});

t.test('Interner numbers ids by first appearance', async (t) => {
  const n = new Interner();
  t.same(['b', 'a', 'b', 'c'].map((s) => n.intern(s)), [0, 1, 0, 2]);
  t.same(n.ids, ['b', 'a', 'c']);
});

t.test('catalogue completion adds the smallest missing non-negative integers', async (t) => {
  t.same(completeCatalog(['5', '0', '2'], 6, 3), { ids: ['5', '0', '2', '1', '3', '4'], added: 3 });
  t.same(completeCatalog(['1', '2', '3'], 3, 3), { ids: ['1', '2', '3'], added: 0 });
  t.same(completeCatalog(['1', '2'], 4, 2).ids, ['1', '2', '0', '3']);
  t.throws(() => completeCatalog(['1', '2', '3'], 2, 3), { message: /--catalog-items 2 is smaller than the 3 distinct items/ });
  t.throws(() => completeCatalog(['1', '2'], 2, 3), { message: /smaller than the 3/ }, 'counted against the raw distinct items, before filters');
  t.same(completeCatalog(['1', '2'], 3, 3).ids, ['1', '2', '0'], 'a filtered-out item id comes back as a catalogue entry');
  t.throws(() => completeCatalog(['a', 'b'], 3, 2), { message: /not all integers/ });
});

t.test('--min-rating needs an explicit comparison', async (t) => {
  t.same(parseMinRating('>4'), { op: '>', value: 4 });
  t.same(parseMinRating('>= 3.5'), { op: '>=', value: 3.5 });
  t.same(parseMinRating('≥4'), { op: '>=', value: 4 });
  for (const bad of ['4', '<4', '=4', '>', '>four']) t.throws(() => parseMinRating(bad), { message: /explicit comparison/ });
  const gt = ratingFilter({ op: '>', value: 4 });
  const ge = ratingFilter({ op: '>=', value: 4 });
  t.same([3, 4, 4.5, 5].map(gt.keep), [false, false, true, true]);
  t.same([3, 4, 4.5, 5].map(ge.keep), [false, true, true, true]);
  t.same([4, 5, 6].map(countFilter(5).keep), [false, true, true]);
});

t.test('groupByUser orders rows by user then item, stable for equal pairs', async (t) => {
  const user = new Int32Array([2, 0, 2, 0, 1, 2, 0]);
  const item = new Int32Array([5, 3, 1, 0, 4, 1, 3]);
  const g = groupByUser(user, item, 4);
  t.same(Array.from(g.start), [0, 3, 4, 7, 7]);
  t.same(Array.from(g.perm), [3, 1, 6, 4, 2, 5, 0]);
});

/** Folds `rows` the way the import does, and returns the kept rows as plain arrays. */
function fold(rows: Rows, nUsers: number, min = 0) {
  const f = foldDuplicates(rows, groupByUser(rows.user, rows.item, nUsers), min);
  const idx = Array.from(f.keep.subarray(0, f.m));
  const col = (c: ArrayLike<number> | undefined) => (c ? idx.map((r) => c[r]!) : undefined);
  return { f, user: col(rows.user), item: col(rows.item), weight: col(rows.weight), timestamp: col(rows.timestamp), test: col(rows.test) };
}

t.test('duplicates fold into one row: largest weight, latest timestamp, train wins over test', async (t) => {
  const rows = {
    user: new Int32Array([1, 0, 1, 1, 0]),
    item: new Int32Array([2, 0, 2, 2, 1]),
    weight: new Float32Array([3, 1, 5, 4, 2]),
    timestamp: new Float64Array([30, 10, 10, 50, 20]),
    test: new Uint8Array([1, 0, 0, 1, 1]),
  };
  const r = fold(rows, 2);
  t.equal(r.f.duplicates, 2);
  t.same(r.user, [0, 0, 1]);
  t.same(r.item, [0, 1, 2]);
  t.same(r.weight, [1, 2, 5]);
  t.same(r.timestamp, [10, 20, 50]);
  t.same(r.test, [0, 1, 0]);
});

t.test('--min-user-interactions drops users below the threshold, counted after duplicates', async (t) => {
  const rows = { user: new Int32Array([0, 0, 1, 2, 2, 2, 1]), item: new Int32Array([0, 1, 0, 0, 1, 2, 0]) };
  const r = fold(rows, 3, 2);
  t.same({ droppedRows: r.f.droppedRows, droppedUsers: r.f.droppedUsers, duplicates: r.f.duplicates }, { droppedRows: 1, droppedUsers: 1, duplicates: 1 });
  t.same(r.user, [0, 0, 2, 2, 2]);
  t.equal(fold(rows, 3, 1).f.droppedRows, 0);
});

t.test('groupByUser with keys orders rows by ranked ids; rankIds follows the id rule', async (t) => {
  t.same(Array.from(rankIds(['b', 'a', 'c'], false)), [1, 0, 2]);
  t.same(Array.from(rankIds(['10', '9', '-1'], true)), [2, 1, 0]);
  const user = new Int32Array([0, 1, 0, 1]);
  const item = new Int32Array([0, 1, 1, 0]);
  const g = groupByUser(user, item, 2, { user: new Int32Array([1, 0]), item: new Int32Array([1, 0]) });
  t.same(Array.from(g.perm), [1, 3, 2, 0], 'user 1 first (rank 0), each user by item rank (item 1 first)');
});
