import t from 'tap';
import { buildCsr, itemCounts, nnz, unionCsr } from '../src/data/csr.js';
import { isShared } from '../src/memory/shared.js';

t.test('buildCsr groups by user with sorted items, in shared memory', async (t) => {
  const user = new Int32Array([2, 0, 2, 0, 1, 2]);
  const item = new Int32Array([5, 3, 1, 0, 4, 3]);
  const c = buildCsr(4, 6, user, item);
  t.same(Array.from(c.indptr), [0, 2, 3, 6, 6]);
  t.same(Array.from(c.indices), [0, 3, 4, 1, 3, 5]);
  t.equal(nnz(c), 6);
  t.ok(isShared(c.indptr) && isShared(c.indices));
  t.same(Array.from(itemCounts(c)), [1, 1, 0, 2, 1, 1]);
});

t.test('unionCsr merges rows', async (t) => {
  const a = buildCsr(2, 4, new Int32Array([0, 1]), new Int32Array([3, 0]));
  const b = buildCsr(2, 4, new Int32Array([0, 0]), new Int32Array([1, 2]));
  const u = unionCsr([a, b]);
  t.same(Array.from(u.indptr), [0, 3, 4]);
  t.same(Array.from(u.indices), [1, 2, 3, 0]);
});
