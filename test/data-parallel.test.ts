import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { RowCollector, type Columns } from '../src/data/collect.js';
import { weightFilters } from '../src/data/filters.js';
import { FORMATS } from '../src/data/import/index.js';
import { planSegments, readSegments } from '../src/data/import/parallel.js';

/**
 * The parallel read (several workers, each a byte range) must give exactly
 * what one sequential read gives: ids in order of first appearance, rows in
 * input order, counts, and errors with the line number counted from the file's start.
 */

const COLUMNS: Columns = { weight: true, timestamp: false, predefinedTest: false };

/** A triplets text with users in blocks, song ids shared across users, a header line, CRLF here and there. */
function triplets(users: number, seed: number): string {
  let s = seed;
  const rand = (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + rand(30);
    for (let k = 0; k < n; k++) lines.push(`user${(u * 7919) % 100003}\tSO${rand(500).toString(36).toUpperCase()}\t${1 + rand(9)}${rand(10) === 0 ? '\r' : ''}`);
  }
  return lines.join('\n') + '\n';
}

async function sequential(inputs: string[], filters: { minCount?: number } = {}) {
  const sink = new RowCollector(COLUMNS, weightFilters(filters));
  const info = await FORMATS.triplets!.read(inputs, { progress: 'quiet' }, sink);
  return { info, sink };
}

async function parallel(inputs: string[], threads: number, filters: { minCount?: number } = {}) {
  const segments = await planSegments(inputs, threads, 0);
  if (!segments) throw new Error('expected a parallel plan');
  const sink = new RowCollector(COLUMNS, weightFilters(filters));
  const info = await readSegments(FORMATS.triplets!, segments, { opts: {}, filters, columns: COLUMNS }, sink, 'quiet');
  return { info, sink, segments };
}

function same(t: Test, a: RowCollector, b: RowCollector) {
  t.same(b.users.ids, a.users.ids, 'user ids in the same order of first appearance');
  t.same(b.items.ids, a.items.ids, 'item ids in the same order');
  t.equal(b.seen, a.seen);
  t.same(b.dropped, a.dropped);
  const x = a.finish();
  const y = b.finish();
  t.same(y.user, x.user, 'same user column');
  t.same(y.item, x.item, 'same item column');
  t.same(y.weight, x.weight, 'same weights');
}

t.test('segments start at line starts and cover every byte of every input, in order', async (t) => {
  const dir = t.testdir({ 'a.txt': triplets(300, 1), 'b.txt': triplets(200, 2) });
  const inputs = [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')];
  for (const threads of [2, 3, 5]) {
    const segs = (await planSegments(inputs, threads, 0))!;
    t.equal(segs.length, threads);
    const flat = segs.flat();
    for (const file of inputs) {
      const parts = flat.filter((x) => x.file === file);
      t.equal(parts[0]!.range.start, 0);
      t.ok(parts[0]!.range.first);
      for (let k = 1; k < parts.length; k++) {
        t.equal(parts[k]!.range.start, parts[k - 1]!.range.end, 'contiguous');
        t.notOk(parts[k]!.range.first);
      }
    }
  }
  t.equal(await planSegments(inputs, 1, 0), undefined, 'one thread: sequential');
  t.equal(await planSegments(inputs, 2), undefined, 'small inputs: sequential');
  writeFileSync(path.join(dir, 'c.gz'), gzipSync(triplets(10, 3)));
  t.equal(await planSegments([path.join(dir, 'c.gz')], 2, 0), undefined, 'gzip: sequential');
});

t.test('2 and 3 workers over two files give what one sequential read gives (with a header and --min-count)', async (t) => {
  const dir = t.testdir({ 'a.txt': 'user\tsong\tplay count\n' + triplets(400, 5), 'b.txt': triplets(300, 6) });
  const inputs = [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')];
  for (const filters of [{}, { minCount: 5 }]) {
    for (const threads of [2, 3]) {
      const s = await sequential(inputs, filters);
      const p = await parallel(inputs, threads, filters);
      t.same(p.info, s.info, 'the header is found by the first range only');
      same(t, s.sink, p.sink);
    }
  }
});

t.test('an error in a later range names the line counted from the start of its file; the earliest error wins', async (t) => {
  const good = triplets(400, 7).split('\n');
  const bad = [...good];
  const at = bad.length - 10;
  bad[at] = 'userX\tSOX\tmany';
  const dir = t.testdir({ 'bad.txt': bad.join('\n') });
  const file = path.join(dir, 'bad.txt');
  await t.rejects(parallel([file], 3), { name: 'UserError', message: `${file}:${at + 1}: play count is not a number ("many"): "userX\\tSOX\\tmany"` });
  await t.rejects(sequential([file]), { message: `${file}:${at + 1}: play count is not a number ("many"): "userX\\tSOX\\tmany"` });
  const twice = [...bad];
  twice[3] = 'only\ttwo';
  writeFileSync(file, twice.join('\n'));
  await t.rejects(parallel([file], 3), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: expected 3 fields`) });
});
