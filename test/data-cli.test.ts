import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Table, Float32, vectorFromArray } from 'apache-arrow';
import { writeTable, int32Vector } from '../src/data/arrow-io.js';
import { MARKER, openOutput } from '../src/util/output.js';

/**
 * The compiled CLI as a user runs it (`npm test` builds first): exit codes,
 * messages with file:line and the offending text, no stack traces, and no
 * output left behind by a failed import.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const FIX = path.join(import.meta.dirname, 'fixtures');
const fx = (name: string) => path.join(FIX, name);

if (!existsSync(CLI)) throw new Error(`${CLI} missing: run 'npm run build' before this test`);

// Subtests are independent (own temp dirs) and mostly wait on child processes.
t.jobs = 4;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously, so subtests can overlap (each run is mostly Node start-up). */
function pris(...args: string[]): Promise<Run> {
  // Without tap's loaders (NODE_OPTIONS): the CLI as a user runs it, and twice as fast to start.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A failed command: exit 2, one clean message, nothing written next to `out`. */
function failsCleanly(t: Test, r: Run, message: RegExp, out?: string) {
  t.equal(r.code, 2, 'exit code 2');
  t.match(r.stderr, message);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.notMatch(r.stderr, /internal error/);
  if (out) {
    t.notOk(existsSync(out), 'no output directory');
    t.same(readdirSync(path.dirname(out)).filter((n) => n.includes('tmp')), [], 'no temporaries');
  }
}

t.test('import, split, stats end to end', async (t) => {
  const out = path.join(tmp(t), 'lg');
  let r = await pris('data', 'import', 'lightgcn', fx('lightgcn-train.txt'), fx('lightgcn-test.txt'), '--out', out);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /imported 12 interactions: 3 users, 6 items \(predefined test: 4\)/);
  r = await pris('data', 'split', out, '--seed', '3', '--valid-fraction', '0.3');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /train 6, valid 2, test 4\nusers without test: 0, without valid: 1/);
  r = await pris('data', 'stats', out, '--json');
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  // items 0..5 with 2, 2, 2, 3, 2, 1 users: top ceil(5% of 6) = 1 item holds 3 of 12.
  t.same(s.all, { users: 3, items: 6, interactions: 12, density: 12 / 18, concentration: 0.25, usersWithInteractions: 3, itemsWithInteractions: 6 });
  t.same(s.split.parts.test, { users: 3, items: 4, interactions: 4, density: 4 / 18, concentration: 0.25 });
  r = await pris('data', 'stats', out);
  t.match(r.stdout, /all\s+3\s+6\s+12\s+6\.67e-01\s+25\.0%/);
  t.match(r.stdout, /test\s+3\s+4\s+4\s+2\.22e-01\s+25\.0%/);
});

t.test('a non-numeric value: file:line, the text, exit 2', async (t) => {
  const out = path.join(tmp(t), 'o');
  const r = await pris('data', 'import', 'movielens', fx('bad-number.tsv'), '--out', out);
  failsCleanly(t, r, /bad-number\.tsv:2: rating is not a number \("four"\): "2\\t11\\tfour\\t101"/, out);
});

t.test('a wrong column count: file:line, the text, exit 2', async (t) => {
  const out = path.join(tmp(t), 'o');
  const r = await pris('data', 'import', 'movielens', fx('bad-columns.tsv'), '--out', out);
  failsCleanly(t, r, /bad-columns\.tsv:2: expected 4 fields \(user, item, rating, timestamp\), found 3: "2\\t11\\t5"/, out);
  const r2 = await pris('data', 'import', 'triplets', fx('movielens-u.data'), '--out', out);
  failsCleanly(t, r2, /movielens-u\.data:1: expected 3 fields/, out);
});

t.test('a CiteULike count that disagrees with its line', async (t) => {
  const out = path.join(tmp(t), 'o');
  const r = await pris('data', 'import', 'countlist', fx('bad-count.dat'), '--out', out);
  failsCleanly(t, r, /bad-count\.dat:2: item count is 3 but 2 items follow: "3 1 2"/, out);
});

t.test('long offending lines are cut to 200 characters', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'long.csv');
  writeFileSync(file, `u,i,1\nu,${'x'.repeat(1000)},oops\n`);
  const out = path.join(dir, 'o');
  const r = await pris('data', 'import', 'csv', file, '--weight-col', '2', '--out', out);
  failsCleanly(t, r, /long\.csv:2: weight is not a number/, out);
  const shown = /: "(u,x+)…"/.exec(r.stderr);
  t.equal(shown?.[1]?.length, 200);
});

t.test('a filter that empties the data is named', async (t) => {
  const out = path.join(tmp(t), 'o');
  const r = await pris('data', 'import', 'movielens', fx('movielens-u.data'), '--min-rating', '>5', '--out', out);
  failsCleanly(t, r, /no interactions left after --min-rating '>5' \(dropped 6 of 6 rows\)/, out);
  const r2 = await pris('data', 'import', 'lightgcn', fx('lightgcn-train.txt'), '--min-user-interactions', '9', '--out', out);
  failsCleanly(t, r2, /no interactions left after --min-user-interactions 9/, out);
});

t.test('a missing input names the path', async (t) => {
  const out = path.join(tmp(t), 'o');
  const missing = path.join(FIX, 'does-not-exist.txt');
  failsCleanly(t, await pris('data', 'import', 'lightgcn', missing, '--out', out), new RegExp(`file not found: ${missing.replace(/[.]/g, '\\.')}`), out);
  failsCleanly(t, await pris('data', 'stats', path.join(FIX, 'no-dataset')), /dataset directory not found: .*no-dataset/);
});

t.test('an Arrow file with a missing or mistyped column names the column', async (t) => {
  const dir = path.join(tmp(t), 'ds');
  t.equal((await pris('data', 'import', 'lightgcn', fx('lightgcn-train.txt'), '--out', dir)).code, 0);
  const file = path.join(dir, 'interactions.arrow');
  await writeTable(file, new Table({ user: int32Vector(new Int32Array([0, 1])) }));
  failsCleanly(t, await pris('data', 'split', dir, '--seed', '1'), /interactions\.arrow: missing column 'item' \(Int32\); columns present: user/);
  await writeTable(file, new Table({ user: vectorFromArray([0, 1], new Float32()), item: int32Vector(new Int32Array([0, 1])) }));
  failsCleanly(t, await pris('data', 'stats', dir), /interactions\.arrow: column 'user' has type Float32, expected Int32/);
  t.notOk(existsSync(path.join(dir, 'train.arrow')), 'the failed split wrote nothing');
});

t.test('bad flags are user errors too', async (t) => {
  const out = path.join(tmp(t), 'o');
  failsCleanly(t, await pris('data', 'import', 'movielens', fx('movielens-u.data'), '--min-rating', '4', '--out', out), /explicit comparison/, out);
  failsCleanly(t, await pris('data', 'import', 'nosuch', 'x', '--out', out), /Invalid values/, out);
  failsCleanly(t, await pris('data', 'split', out), /dataset directory not found/);
});

t.test('a failed directory write leaves the old directory, or none, and no temporaries', async (t) => {
  const dir = tmp(t);
  const target = path.join(dir, 'ds');
  const boom = async (tmpDir: string) => {
    writeFileSync(path.join(tmpDir, 'a.arrow'), 'half');
    throw new Error('interrupted');
  };
  const kind = { name: 'dataset', what: 'a dataset' };
  await t.rejects(openOutput({ path: target, kind }).then((o) => o.commit(boom).finally(() => o.close())), { message: 'interrupted' });
  t.same(readdirSync(dir), [], 'nothing at all');
  mkdirSync(target);
  writeFileSync(path.join(target, MARKER), JSON.stringify({ pris_output: 'dataset', files: ['meta.json'] }));
  writeFileSync(path.join(target, 'meta.json'), 'old');
  await t.rejects(openOutput({ path: target, kind, update: true }).then((o) => o.commit(boom, { keep: 'all' }).finally(() => o.close())), { message: 'interrupted' });
  t.same(readdirSync(dir), ['ds']);
  t.same(readdirSync(target).sort(), [MARKER, 'meta.json'], 'old content untouched');
});
