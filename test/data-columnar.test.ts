import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Dictionary, Float64, Int32, LargeUtf8, Table, Utf8, Utf8View, makeData, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import { FILES, readItemIds, readUserIds } from '../src/data/dataset.js';
import { importDataset, type ImportRequest } from '../src/data/import/run.js';
import { readInteractions } from '../src/data/interactions.js';
import { parquetBytes, readParquetTable } from '../src/data/parquet-io.js';

/**
 * `pris data import parquet | arrow`: columnar files as other tools write
 * them (text ids as Utf8, LargeUtf8 or Utf8View, integer ids as Int64,
 * categoricals), read into the same dataset a CSV of the same rows gives.
 */

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-columnar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const USERS = ['u2', 'u1', 'u2', 'ü3', 'u1', 'a-much-longer-user-id-than-twelve-bytes'];
const ITEMS = [10, 7, 7, 3, 7, 123456789012];
const RATINGS = [4.5, 3, 5, 1, 2, 4];
const STAMPS = [100n, 200n, 300n, 400n, 500n, 600n];

/** A Utf8View column built as a view writer lays it out (inline up to 12 bytes, else in a data buffer). */
function utf8View(strings: string[]): Vector {
  const views = new Uint8Array(16 * strings.length);
  const dv = new DataView(views.buffer);
  const data: number[] = [];
  strings.forEach((s, i) => {
    const b = Buffer.from(s, 'utf8');
    dv.setInt32(i * 16, b.length, true);
    if (b.length <= 12) views.set(b, i * 16 + 4);
    else {
      views.set(b.subarray(0, 4), i * 16 + 4);
      dv.setInt32(i * 16 + 8, 0, true);
      dv.setInt32(i * 16 + 12, data.length, true);
      data.push(...b);
    }
  });
  return makeVector(makeData({ type: new Utf8View(), length: strings.length, nullCount: 0, views, variadicBuffers: [Uint8Array.from(data)] }));
}

function table(userColumn: Vector): Table {
  return new Table({
    user_id: userColumn,
    item_id: makeVector(BigInt64Array.from(ITEMS, (x) => BigInt(x))),
    rating: vectorFromArray(RATINGS, new Float64()),
    ts: makeVector(BigInt64Array.from(STAMPS)),
  });
}

async function run(t: Test, req: Omit<ImportRequest, 'out'>) {
  const out = path.join(tmp(t), 'ds');
  const meta = await importDataset({ progress: 'quiet', ...req, out });
  const x = readInteractions(path.join(out, FILES.interactions));
  const users = readUserIds(out);
  const items = readItemIds(out);
  const rows = Array.from(x.user, (u, r) => [users[u], items[x.item[r]!], x.weight?.[r], x.timestamp === undefined ? undefined : Number(x.timestamp[r])]);
  return { meta, rows, out };
}

const COLS = { userCol: 'user_id', itemCol: 'item_id', weightCol: 'rating', timestampCol: 'ts' };

t.test('Arrow IPC with Utf8, LargeUtf8, Utf8View or dictionary user ids and Int64 item ids: the dataset a CSV gives', async (t) => {
  const dir = tmp(t);
  const csv = path.join(dir, 'r.csv');
  writeFileSync(csv, 'user_id,item_id,rating,ts\n' + USERS.map((u, k) => `${u},${ITEMS[k]},${RATINGS[k]},${STAMPS[k]}`).join('\n') + '\n');
  const want = await run(t, { format: 'csv', inputs: [csv], header: true, ...COLS });
  t.equal(want.meta.users, 4);
  t.equal(want.meta.dropped.duplicates, 1, '(u1, 7) twice');
  const dict = makeVector(makeData({ type: new Dictionary(new Utf8(), new Int32()), length: USERS.length, nullCount: 0, data: Int32Array.from(USERS, (u) => [...new Set(USERS)].indexOf(u)), dictionary: vectorFromArray([...new Set(USERS)], new Utf8()) }));
  const columns: [string, Vector][] = [
    ['Utf8', vectorFromArray(USERS, new Utf8())],
    ['LargeUtf8', vectorFromArray(USERS, new LargeUtf8())],
    ['Utf8View', utf8View(USERS)],
    ['Dictionary<Utf8>', dict],
  ];
  for (const [name, col] of columns) {
    for (const kind of ['file', 'stream'] as const) {
      const file = path.join(dir, `${name}-${kind}.arrow`);
      const tbl = table(col);
      t.equal(String(tbl.schema.fields[0]!.type).replace(/<.*>/, ''), name.replace(/<.*>/, ''), `the file really has ${name}`);
      writeFileSync(file, tableToIPC(tbl, kind));
      const got = await run(t, { format: 'arrow', inputs: [file], ...COLS });
      t.same(got.rows, want.rows, `${name} (${kind}): same rows`);
      t.same(readUserIds(got.out), readUserIds(want.out));
      t.same(readItemIds(got.out), readItemIds(want.out), 'Int64 item ids as their decimal text, numeric order');
    }
  }
});

t.test('Parquet as arrow-rs writes it (parquet-wasm, Polars): text and Int64 ids read back', async (t) => {
  const dir = tmp(t);
  const csv = path.join(dir, 'r.csv');
  writeFileSync(csv, 'user_id,item_id,rating,ts\n' + USERS.map((u, k) => `${u},${ITEMS[k]},${RATINGS[k]},${STAMPS[k]}`).join('\n') + '\n');
  const want = await run(t, { format: 'csv', inputs: [csv], header: true, ...COLS });
  for (const [name, col] of [['LargeUtf8', vectorFromArray(USERS, new LargeUtf8())], ['Utf8View', utf8View(USERS)]] as const) {
    const file = path.join(dir, `${name}.parquet`);
    writeFileSync(file, await parquetBytes(table(col)));
    t.match(String((await readParquetTable(file)).schema.fields[0]!.type), /Utf8/, `${name} written, text read back`);
    const got = await run(t, { format: 'parquet', inputs: [file], ...COLS });
    t.same(got.rows, want.rows, `${name} Parquet`);
  }
  const byNumber = await run(t, { format: 'parquet', inputs: [path.join(dir, 'LargeUtf8.parquet')] });
  t.same(byNumber.rows.map((r) => r.slice(0, 2)), want.rows.map((r) => r.slice(0, 2)), 'default columns 0 and 1');
});

t.test('columnar mistakes: missing column, null id, unusable types, not a file of the format', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'x.arrow');
  writeFileSync(file, tableToIPC(table(vectorFromArray(USERS, new Utf8()))));
  const fails = (req: Omit<ImportRequest, 'out'>, message: RegExp) =>
    t.rejects(importDataset({ progress: 'quiet', ...req, out: path.join(dir, 'o') }), { name: 'UserError', message });
  await fails({ format: 'arrow', inputs: [file], userCol: 'who' }, /x\.arrow: --user-col 'who' is not a column \(columns: user_id, item_id, rating, ts\)/);
  await fails({ format: 'arrow', inputs: [file], userCol: 'rating', itemCol: 'item_id' }, /x\.arrow: the user column has type Float64; ids must be text or integers/);
  await fails({ format: 'arrow', inputs: [file], userCol: 'item_id', itemCol: 'ts', weightCol: 'user_id' }, /x\.arrow: the weight column has type Utf8; expected numbers/);
  const withNull = path.join(dir, 'null.arrow');
  writeFileSync(withNull, tableToIPC(new Table({ u: vectorFromArray(['a', null, 'c'], new Utf8()), i: vectorFromArray([1, 2, 3], new Int32()) })));
  await fails({ format: 'arrow', inputs: [withNull] }, /null\.arrow: row 2: user id is null/);
  const emptyId = path.join(dir, 'empty.arrow');
  writeFileSync(emptyId, tableToIPC(new Table({ u: vectorFromArray(['a', '  '], new Utf8()), i: makeVector(BigInt64Array.of(1n, 2n)) }), 'file'));
  await fails({ format: 'arrow', inputs: [emptyId] }, /empty\.arrow: row 2: empty user id/);
  const badUtf8 = path.join(dir, 'utf8.arrow');
  const bytes = Buffer.concat([Buffer.from('okú'), Buffer.from([0x75, 0xff])]);
  const ids = makeVector(makeData({ type: new Utf8(), length: 2, nullCount: 0, valueOffsets: Int32Array.of(0, 4, 6), data: bytes }));
  writeFileSync(badUtf8, tableToIPC(new Table({ u: ids, i: makeVector(BigInt64Array.of(1n, 2n)) }), 'file'));
  await fails({ format: 'arrow', inputs: [badUtf8] }, /utf8\.arrow: row 2: user id is not valid UTF-8/);
  const notArrow = path.join(dir, 'n.arrow');
  writeFileSync(notArrow, 'user,item\n1,2\n');
  await fails({ format: 'arrow', inputs: [notArrow] }, /n\.arrow: not a readable Arrow IPC file or stream/);
  await fails({ format: 'parquet', inputs: [notArrow] }, /n\.arrow: not a readable Parquet file/);
});
