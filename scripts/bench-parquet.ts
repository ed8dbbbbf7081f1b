/**
 * Which library writes pris's Parquet files: parquet-wasm (arrow-rs in
 * WebAssembly) against hyparquet-writer (pure JavaScript), on a model's
 * embedding tables as pris saves them (--model DIR, e.g. one trained on
 * gowalla: 29,858 users and 40,981 items, d = 32, string ids; without it,
 * random tables of that shape) and a gowalla-sized recommendations table (k =
 * 50), in interleaved rounds in one process. Every file is read back by Polars
 * and compared with what was written, value for value. Prints a Markdown
 * table (recorded in docs/formats.md). parquet-wasm is loaded before the first
 * round (pris loads it on first use; that one-off cost is reported apart).
 *
 *   npm run build && node dist/scripts/bench-parquet.js [--model DIR] [--rounds 7] [--codec snappy|uncompressed]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Type, type FixedSizeList, type Table } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseCount } from '../src/cli/args.js';
import { UserError } from '../src/errors.js';
import { nextGaussian, nextInt, seedRng } from '../src/kernels/rng.js';
import { embeddingTable, MODEL_FILES } from '../src/model/io.js';
import { readTable } from '../src/data/arrow-io.js';
import { recommendationsTable } from '../src/eval/recs-io.js';
import { parquetBytes } from '../src/data/parquet-io.js';
import { polarsParquet } from './lib/other-readers.js';
import { runScript, scriptArgs } from './lib/script.js';

const USAGE = 'usage: node dist/scripts/bench-parquet.js [--model DIR] [--rounds 7] [--codec snappy|uncompressed]';

/**
 * The same file by hyparquet-writer (pure JavaScript): each column is handed
 * over as JavaScript values (the embedding as one array of d numbers per row).
 */
function parquetBytesHyparquet(table: Table, codec: 'uncompressed' | 'snappy' = 'snappy'): Uint8Array {
  const columnData: { name: string; data: never }[] = [];
  const schema: Record<string, unknown>[] = [{ name: 'root', num_children: table.schema.fields.length }];
  for (const field of table.schema.fields) {
    const col = table.getChild(field.name)!;
    const t = field.type;
    if (t.typeId === Type.FixedSizeList) {
      const d = (t as FixedSizeList).listSize;
      const flat = col.data.length === 1 ? (col.data[0]!.children[0]!.values as Float32Array) : Float32Array.from(col.toArray() as ArrayLike<number>);
      const rows = new Array<number[]>(col.length);
      for (let r = 0; r < col.length; r++) rows[r] = Array.from(flat.subarray(r * d, r * d + d));
      columnData.push({ name: field.name, data: rows as never });
      schema.push(
        { name: field.name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
      );
    } else if (t.typeId === Type.Utf8) {
      columnData.push({ name: field.name, data: col.toArray() as never });
      schema.push({ name: field.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    } else if (t.typeId === Type.Int && (t as { bitWidth: number }).bitWidth === 32) {
      columnData.push({ name: field.name, data: col.toArray() as never });
      schema.push({ name: field.name, type: 'INT32', repetition_type: 'REQUIRED' });
    } else if (t.typeId === Type.Float) {
      columnData.push({ name: field.name, data: col.toArray() as never });
      schema.push({ name: field.name, type: 'FLOAT', repetition_type: 'REQUIRED' });
    } else {
      throw new Error(`parquetBytesHyparquet: column ${field.name} of type ${String(t)} not supported`);
    }
  }
  const codecName = codec === 'snappy' ? 'SNAPPY' : 'UNCOMPRESSED';
  return new Uint8Array(parquetWriteBuffer({ columnData, schema: schema as never, codec: codecName }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function embeddings(n: number, d: number, seed: number): Table {
  const rng = seedRng(seed);
  const values = new Float32Array(n * d);
  for (let k = 0; k < values.length; k++) values[k] = 0.1 * nextGaussian(rng);
  return embeddingTable(values, n, d, Array.from({ length: n }, (_, k) => String(k)));
}

function recommendations(nUsers: number, nItems: number, k: number): Table {
  const rng = seedRng(3);
  const n = nUsers * k;
  const recs = { k, user: new Int32Array(n), rank: new Int32Array(n), item: new Int32Array(n), score: new Float32Array(n) };
  for (let r = 0; r < n; r++) {
    recs.user[r] = Math.floor(r / k);
    recs.rank[r] = (r % k) + 1;
    recs.item[r] = nextInt(rng, nItems);
    recs.score[r] = 5 - (r % k) * 0.01;
  }
  return recommendationsTable(recs, Array.from({ length: nUsers }, (_, u) => String(u)), Array.from({ length: nItems }, (_, i) => String(i)));
}

/** The table's columns as plain JavaScript values, in the shape Polars returns them. */
function expected(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  // A fixed-size list row comes out of apache-arrow as a Vector.
  const plain = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'toArray' in v ? Array.from((v as { toArray(): ArrayLike<number> }).toArray()) : v);
  for (const f of table.schema.fields) out[f.name] = Array.from(table.getChild(f.name)!, plain);
  return out;
}

function sameValues(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => sameValues(x, b[k]));
  if (typeof a === 'number' && typeof b === 'number') return Math.fround(a) === Math.fround(b);
  return a === b;
}

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, { options: { model: { type: 'string' }, rounds: { type: 'string', default: '7' }, codec: { type: 'string', default: 'snappy' } } });
  const rounds = parseCount('rounds', values.rounds);
  const codec = values.codec;
  if (codec !== 'snappy' && codec !== 'uncompressed') throw new UserError(`--codec must be snappy or uncompressed (got '${codec}')`);
  const model = values.model;
  const saved = (file: string): [string, Table] => {
    const table = readTable(path.join(model!, file));
    const d = (table.schema.fields.find((f) => f.name === 'embedding')?.type as FixedSizeList | undefined)?.listSize ?? 0;
    return [`${file.split('_')[0]} embeddings ${table.numRows.toLocaleString('en-US')} x ${d} (${path.basename(path.resolve(model!))})`, table];
  };
  const tables: [string, Table][] = [
    ...(model !== undefined
      ? [saved(MODEL_FILES.users), saved(MODEL_FILES.items)]
      : [['user embeddings 29,858 x 32 (random)', embeddings(29_858, 32, 1)] as [string, Table], ['item embeddings 40,981 x 32 (random)', embeddings(40_981, 32, 2)] as [string, Table]]),
    ['recommendations 29,858 x 50', recommendations(29_858, 40_981, 50)],
  ];
  const writers: [string, (t: Table) => Uint8Array | Promise<Uint8Array>][] = [
    ['parquet-wasm', (t) => parquetBytes(t, codec)],
    ['hyparquet-writer', (t) => parquetBytesHyparquet(t, codec)],
  ];
  const loadStart = process.hrtime.bigint();
  await parquetBytes(tables[2]![1].slice(0, 1), codec);
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pris-bench-parquet-'));
  const ms = new Map<string, number[]>();
  const sizes = new Map<string, number>();
  const readBack = new Map<string, string>();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [tname, table] of tables) {
        for (const [wname, write] of r % 2 === 0 ? writers : [...writers].reverse()) {
          const file = path.join(dir, `${wname}-${tname.split(' ')[0]}.parquet`);
          const started = process.hrtime.bigint();
          writeFileSync(file, await write(table));
          const key = `${tname}|${wname}`;
          (ms.get(key) ?? ms.set(key, []).get(key)!).push(Number(process.hrtime.bigint() - started) / 1e6);
          if (r === 0) {
            sizes.set(key, statSync(file).size);
            const got = polarsParquet(file);
            const want = expected(table);
            const bad = Object.keys(want).filter((c) => !sameValues(got.columns[c], want[c]));
            readBack.set(key, bad.length === 0 ? `exact (${Object.entries(got.types).map(([c, t]) => `${c} ${t}`).join(', ')})` : `DIFFERS in ${bad.join(', ')}`);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    `${rounds} interleaved rounds (the writers alternate which goes first), codec ${codec}, one process; ` +
      `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, load average ${os.loadavg()[0]!.toFixed(2)} at the end. ` +
      `Loading parquet-wasm (once per process, on first use): ${loadMs.toFixed(0)} ms.`,
    '',
    '| table | writer | ms (median) | ms (all rounds) | x parquet-wasm | bytes | read back by Polars |',
    '|---|---|---:|---|---:|---:|---|',
  ];
  for (const [tname] of tables) {
    const base = median(ms.get(`${tname}|parquet-wasm`)!);
    for (const [wname] of writers) {
      const key = `${tname}|${wname}`;
      const xs = ms.get(key)!;
      lines.push(
        `| ${tname} | ${wname} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(median(xs) / base).toFixed(2)} | ` +
          `${sizes.get(key)!.toLocaleString('en-US')} | ${readBack.get(key)} |`,
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

runScript('bench-parquet', main);
