import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import pl from 'nodejs-polars';
import { groupedCsv, prisHere } from './helpers/cli.js';
import { columnEmbedding, columnUtf8, readTable } from '../src/data/arrow-io.js';
import { FILES, readItemIds, readUserIds } from '../src/data/dataset.js';
import { readInteractions } from '../src/data/interactions.js';
import { readRecommendations } from '../src/eval/recs-io.js';
import { MODEL_FILES } from '../src/model/io.js';
import { polarsArrow, polarsParquet, type ReadBack } from '../scripts/lib/other-readers.js';

/**
 * What pris writes, read by another implementation (Polars: Rust readers of
 * its own, no code shared with apache-arrow or parquet-wasm), and what Polars
 * writes, read by pris: ids and values must come through unchanged.
 */

const root = t.testdir();
const csv = path.join(root, 'x.csv');
const data = path.join(root, 'data');
const modelDir = path.join(root, 'model');

async function ok(...args: string[]) {
  const r = await prisHere(...args);
  if (r.code !== 0) throw new Error(`pris ${args.join(' ')}: ${r.err}`);
  return r;
}

t.before(async () => {
  writeFileSync(csv, groupedCsv(40, 30, 6, 3));
  await ok('data', 'import', 'csv', csv, '--header', '--out', data, '-q');
  await ok('data', 'split', data, '--seed', '1');
  await ok('train', data, '--out', modelDir, '--epochs', '1', '--dim', '8', '--threads', '1', '--seed', '1', '--format', 'parquet', '-q');
});

/** The embeddings pris wrote, as pris's own Arrow reader sees them. */
function ours(file: string) {
  const table = readTable(file);
  const { values, d } = columnEmbedding(table, 'embedding', file);
  return { ids: columnUtf8(table, 'id', file), values, d };
}

function sameEmbeddings(t: Test, got: ReadBack, want: ReturnType<typeof ours>, ids: string[], what: string) {
  t.same(got.columns.id, ids, `${what}: ids in index order`);
  t.same(got.columns.index, ids.map((_, k) => k), `${what}: index 0..n-1`);
  const rows = got.columns.embedding as number[][];
  let worst = 0;
  rows.forEach((row, r) => row.forEach((v, c) => (worst = Math.max(worst, v === want.values[r * want.d + c]! ? 0 : 1))));
  t.equal(rows.length * (rows[0]?.length ?? 0), want.values.length, `${what}: n x d values`);
  t.equal(worst, 0, `${what}: every Float32 value bit for bit`);
}

t.test('pris train --format parquet: the Parquet and Arrow embeddings as Polars reads them', async (t) => {
  for (const [side, arrowFile, parquetFile, ids] of [
    ['users', MODEL_FILES.users, MODEL_FILES.usersParquet, readUserIds(data)],
    ['items', MODEL_FILES.items, MODEL_FILES.itemsParquet, readItemIds(data)],
  ] as const) {
    const want = ours(path.join(modelDir, arrowFile));
    t.equal(want.d, 8);
    const pq = polarsParquet(path.join(modelDir, parquetFile));
    t.match(pq.types.embedding, /Float32/, 'Float32 values');
    sameEmbeddings(t, pq, want, ids, `${side} Parquet`);
    sameEmbeddings(t, polarsArrow(path.join(modelDir, arrowFile)), want, ids, `${side} Arrow`);
  }
  const plain = path.join(root, 'plain');
  await ok('train', data, '--out', plain, '--epochs', '1', '--dim', '8', '--threads', '1', '--seed', '1', '-q');
  t.notOk(existsSync(path.join(plain, MODEL_FILES.usersParquet)), 'Arrow only by default');
  t.same(ours(path.join(plain, MODEL_FILES.users)).values, ours(path.join(modelDir, MODEL_FILES.users)).values, 'the format changes no value');
});

t.test('pris recommend --format parquet: the rows of the Arrow file, as Polars reads both', async (t) => {
  const arrowOut = path.join(root, 'r.arrow');
  const parquetOut = path.join(root, 'r.parquet');
  await ok('recommend', modelDir, '--dataset', data, '--out', arrowOut, '--k', '5', '-q');
  await ok('recommend', modelDir, '--dataset', data, '--out', parquetOut, '--k', '5', '--format', 'parquet', '-q');
  const want = readRecommendations(arrowOut);
  t.equal(want.user.length, 40 * 5);
  for (const [what, got] of [['Parquet', polarsParquet(parquetOut)], ['Arrow', polarsArrow(arrowOut)]] as const) {
    t.same(got.columns.user_id, want.userId, `${what}: user ids`);
    t.same(got.columns.item_id, want.itemId, `${what}: item ids`);
    t.same(got.columns.rank, Array.from(want.rank), `${what}: ranks`);
    t.same(got.columns.item, Array.from(want.item), `${what}: item indices`);
    t.same(got.columns.score, Array.from(want.score), `${what}: scores (Float32, exact)`);
  }
  // The file is marked as pris's: --force replaces it, a Parquet file of someone else's is never replaced.
  t.equal((await prisHere('recommend', modelDir, '--dataset', data, '--out', parquetOut, '--format', 'parquet', '-q')).code, 2, 'refused without --force');
  await ok('recommend', modelDir, '--dataset', data, '--out', parquetOut, '--k', '3', '--format', 'parquet', '--force', '-q');
  t.equal(polarsParquet(parquetOut).columns.rank!.length, 40 * 3, 'replaced with --force');
  const foreign = path.join(root, 'foreign.parquet');
  pl.DataFrame({ a: [1, 2] }).writeParquet(foreign);
  const r = await prisHere('recommend', modelDir, '--dataset', data, '--out', foreign, '--format', 'parquet', '--force', '-q');
  t.equal(r.code, 2);
  t.match(r.err, /foreign\.parquet.*not .*written by pris/);
});

t.test('pris data import parquet | arrow: files Polars writes (Utf8View text ids, 64-bit integer ids) give the CSV dataset', async (t) => {
  const users = ['u2', 'u1', 'u2', 'ü3', 'a-user-id-longer-than-twelve-bytes', 'u1'];
  const items = [10n, 7n, 7n, 3n, 123456789012n, 10n];
  const rating = [4.5, 3, 5, 1, 4, 2];
  const dir = t.testdir();
  const csvIn = path.join(dir, 'r.csv');
  writeFileSync(csvIn, 'user,item,rating\n' + users.map((u, k) => `${u},${items[k]},${rating[k]}`).join('\n') + '\n');
  const df = pl.DataFrame({ user: users, item: items, rating }).withColumn(pl.col('item').cast(pl.Int64));
  df.writeParquet(path.join(dir, 'r.parquet'));
  df.writeIPC(path.join(dir, 'r.arrow'));
  const rows = (out: string) => {
    const x = readInteractions(path.join(out, FILES.interactions));
    const u = readUserIds(out);
    const i = readItemIds(out);
    return Array.from(x.user, (uu, r) => [u[uu], i[x.item[r]!], x.weight?.[r]]);
  };
  await ok('data', 'import', 'csv', csvIn, '--header', '--weight-col', 'rating', '--out', path.join(dir, 'c'), '-q');
  const want = rows(path.join(dir, 'c'));
  t.equal(want.length, 6);
  for (const format of ['parquet', 'arrow']) {
    await ok('data', 'import', format, path.join(dir, `r.${format}`), '--user-col', 'user', '--item-col', 'item', '--weight-col', 'rating', '--out', path.join(dir, format), '-q');
    t.same(rows(path.join(dir, format)), want, `${format}: the same rows, ids and weights`);
    t.same(readItemIds(path.join(dir, format)), readItemIds(path.join(dir, 'c')), `${format}: 64-bit ids as their digits`);
  }
  const written = tableFromIPC(readFileSync(path.join(dir, 'r.arrow')));
  t.equal(String(written.schema.fields[0]!.type), 'Utf8View', 'Polars wrote the user ids as views');
  t.match(String(written.schema.fields[1]!.type), /Int64/, 'and the item ids as 64-bit integers');
});

t.test('the Parquet library is loaded on first use only: no module of the CLI imports it statically', async (t) => {
  const dist = path.join(import.meta.dirname, '..', 'dist', 'src');
  const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  const users = files.filter((f) => readFileSync(path.join(dist, f), 'utf8').includes('parquet-wasm'));
  t.same(users, [path.join('data', 'parquet-io.js')], 'one module knows the library');
  const text = readFileSync(path.join(dist, 'data', 'parquet-io.js'), 'utf8');
  t.notMatch(text, /^\s*import\b[^(]*['"]parquet-wasm['"]/m, 'no static import');
  t.match(text, /import\(['"]parquet-wasm['"]\)/, 'a dynamic import');
});
