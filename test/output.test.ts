import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { osUserError, UserError } from '../src/errors.js';
import { OWNER, writeFileAtomicSync, writerAlive } from '../src/util/atomic.js';
import { MARKER, openOutput, openOutputFile, type OutputKind } from '../src/util/output.js';
import { DATASET_OUTPUT, FILES } from '../src/data/dataset.js';
import { writeInteractions } from '../src/data/interactions.js';
import { recommendationsFile, RECOMMENDATIONS_OUTPUT } from '../src/eval/recs-io.js';

/**
 * The output contract (src/util/output.ts, docs/reliability.md) in this
 * process: where an output may go, what it may replace, locks, the
 * temporaries of dead writers, checkpoints written into a live output.
 * The same rules seen through the CLI, and signals: output-cli.test.ts.
 */

const MODEL: OutputKind = { name: 'model', what: 'a model' };

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-out-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A pid that was just in use and is not any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** A directory output written and committed with `files` (name -> content). */
async function made(dir: string, kind: OutputKind, files: Record<string, string>, force = false): Promise<void> {
  using out = await openOutput({ path: dir, kind, force });
  await out.commit(async (d) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(d, name), text);
  });
}

async function refused(t: Test, p: Promise<unknown>, message: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(e instanceof UserError, `a UserError (${e instanceof Error ? e.message : String(e)})`);
  t.match((e as Error | undefined)?.message ?? '', message);
}

t.test('dangerous places are refused before anything is created', async (t) => {
  const dir = tmp(t);
  const input = path.join(dir, 'in', 'data.csv');
  mkdirSync(path.dirname(input));
  writeFileSync(input, 'u,i\n');
  const dataset = path.join(dir, 'ds');
  mkdirSync(dataset);
  const before = readdirSync(dir).sort();
  const reads = [input, dataset];
  const cases: [string, RegExp][] = [
    ['', /^--out is empty \(an unset variable\?\)/],
    ['  ', /^--out is empty/],
    ['.', /is the working directory/],
    [process.cwd(), /is the working directory/],
    [path.dirname(process.cwd()), /holds the working directory/],
    ['/', /is the root directory/],
    [homedir(), /is your home directory|holds the working directory/],
    [input, /is also an input of this command/],
    [path.dirname(input), /holds .*data\.csv, which this command reads/],
    [path.join(dataset, 'model'), /is inside .*ds, which this command reads/],
    [path.join(dataset, 'sub', 'model'), /is inside .*ds, which this command reads/],
  ];
  for (const [p, message] of cases) {
    await refused(t, openOutput({ path: p, kind: MODEL, force: true, reads }), message);
    await refused(t, openOutputFile({ path: p, kind: RECOMMENDATIONS_OUTPUT, force: true, reads }), message);
  }
  // Through a symbolic link too: the real paths are compared.
  symlinkSync(dataset, path.join(dir, 'link'));
  await refused(t, openOutput({ path: path.join(dir, 'link', 'model'), kind: MODEL, reads }), /is inside .*ds, which this command reads/);
  await refused(t, openOutput({ path: path.join(dir, 'link'), kind: MODEL, force: true }), /is a symbolic link/);
  rmSync(path.join(dir, 'link'));
  t.same(readdirSync(dir).sort(), before, 'nothing created (no lock, no directory)');
  t.same(readdirSync(dataset), []);
});

t.test('what an existing directory output may be replaced by', async (t) => {
  const dir = tmp(t);
  // A plain directory with a user's files: never.
  const plain = path.join(dir, 'plain');
  mkdirSync(plain);
  writeFileSync(path.join(plain, 'notes.txt'), 'mine');
  await refused(t, openOutput({ path: plain, kind: MODEL, force: true }), /is a directory pris did not write \(it holds notes\.txt\); refusing to replace it/);
  t.equal(readFileSync(path.join(plain, 'notes.txt'), 'utf8'), 'mine');
  // A file where a directory goes: never.
  writeFileSync(path.join(dir, 'afile'), 'mine');
  await refused(t, openOutput({ path: path.join(dir, 'afile'), kind: MODEL, force: true }), /exists and is not a directory/);
  // An empty directory holds nothing to lose.
  mkdirSync(path.join(dir, 'empty'));
  await made(path.join(dir, 'empty'), MODEL, { 'config.json': '{}' });
  t.same(readdirSync(path.join(dir, 'empty')).sort(), [MARKER, 'config.json']);
  // pris's output of another kind: never.
  const model = path.join(dir, 'model');
  await made(model, MODEL, { 'config.json': '1', 'item_embeddings.arrow': 'x' });
  await refused(t, openOutput({ path: model, kind: DATASET_OUTPUT, force: true }), /holds a pris model, not a dataset/);
  // The same kind: only with --force.
  await refused(t, openOutput({ path: model, kind: MODEL }), /already holds a model written by pris; give --force to replace it/);
  // A file pris did not write inside it: refused and named, even with --force.
  writeFileSync(path.join(model, 'recs.arrow'), 'user file');
  writeFileSync(path.join(model, 'notes.md'), 'user file');
  await refused(t, openOutput({ path: model, kind: MODEL, force: true }), /holds files pris did not write: notes\.md, recs\.arrow; move them out first/);
  t.equal(readFileSync(path.join(model, 'recs.arrow'), 'utf8'), 'user file');
  rmSync(path.join(model, 'recs.arrow'));
  rmSync(path.join(model, 'notes.md'));
  // With --force and only pris's files: replaced whole (the old model's extra file is gone).
  await made(model, MODEL, { 'config.json': '2' }, true);
  t.same(readdirSync(model).sort(), [MARKER, 'config.json']);
  t.same(JSON.parse(readFileSync(path.join(model, MARKER), 'utf8')), { pris_output: 'model', version: 1, files: ['config.json'], complete: true });
  t.same(readdirSync(dir).sort(), ['afile', 'empty', 'model', 'plain'], 'no temporaries, no locks');
});

t.test('a file that appears in the output during the run is carried over, never deleted', async (t) => {
  const model = path.join(tmp(t), 'model');
  await made(model, MODEL, { 'config.json': '1' });
  using out = await openOutput({ path: model, kind: MODEL, force: true });
  writeFileSync(path.join(model, 'recs.arrow'), 'saved while training');
  await out.commit(async (d) => writeFileSync(path.join(d, 'config.json'), '2'));
  t.equal(readFileSync(path.join(model, 'recs.arrow'), 'utf8'), 'saved while training');
  t.same(JSON.parse(readFileSync(path.join(model, MARKER), 'utf8')).files, ['config.json'], 'and it is still not one of pris\'s files');
});

t.test('a dataset imported before markers is recognised by its meta.json; update mode keeps every entry', async (t) => {
  const ds = path.join(tmp(t), 'ds');
  mkdirSync(ds);
  writeFileSync(path.join(ds, FILES.meta), JSON.stringify({ kind: 'pris-dataset', users: 1, items: 1 }));
  writeFileSync(path.join(ds, FILES.interactions), 'x');
  writeFileSync(path.join(ds, 'raw.csv'), 'the user\'s raw file');
  await refused(t, openOutput({ path: ds, kind: DATASET_OUTPUT, force: true }), /holds files pris did not write: raw\.csv/);
  using out = await openOutput({ path: ds, kind: DATASET_OUTPUT, update: true });
  await out.commit(async (d) => writeFileSync(path.join(d, FILES.train), 't'), { keep: 'all' });
  t.same(readdirSync(ds).sort(), [MARKER, FILES.interactions, FILES.meta, 'raw.csv', FILES.train].sort());
  t.same(JSON.parse(readFileSync(path.join(ds, MARKER), 'utf8')).files, [FILES.interactions, FILES.meta, FILES.train]);
  await refused(t, openOutput({ path: path.join(tmp(t)), kind: DATASET_OUTPUT, update: true }), /is not a dataset written by pris/);
});

t.test('file outputs: only a pris file of the same kind, and only with --force', async (t) => {
  const dir = tmp(t);
  const recs = { k: 1, user: new Int32Array([0]), rank: new Int32Array([1]), item: new Int32Array([0]), score: new Float32Array([1]) };
  const bytes = recommendationsFile(recs, ['u'], ['i']);
  // A dataset's train.arrow is an Arrow file pris wrote, but not recommendations.
  const train = path.join(dir, 'train.arrow');
  await writeInteractions(train, { user: new Int32Array([0]), item: new Int32Array([0]) });
  const trainBytes = readFileSync(train);
  await refused(t, openOutputFile({ path: train, kind: RECOMMENDATIONS_OUTPUT, force: true }), /exists and is not a recommendations file written by pris; refusing to overwrite it/);
  t.same(readFileSync(train), trainBytes, 'untouched');
  writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  await refused(t, openOutputFile({ path: path.join(dir, 'notes.txt'), kind: RECOMMENDATIONS_OUTPUT, force: true }), /is not a recommendations file written by pris/);
  await refused(t, openOutputFile({ path: dir, kind: RECOMMENDATIONS_OUTPUT, force: true }), /is a directory; name a file to write/);
  await refused(t, openOutputFile({ path: '/dev/null', kind: RECOMMENDATIONS_OUTPUT, force: true }), /exists and is not a regular file/);
  const file = path.join(dir, 'out', 'recs.arrow');
  (await openOutputFile({ path: file, kind: RECOMMENDATIONS_OUTPUT })).write(bytes);
  await refused(t, openOutputFile({ path: file, kind: RECOMMENDATIONS_OUTPUT }), /already holds a recommendations file written by pris; give --force/);
  (await openOutputFile({ path: file, kind: RECOMMENDATIONS_OUTPUT, force: true })).write(bytes);
  t.same(readFileSync(file), Buffer.from(bytes));
  t.same(readdirSync(path.join(dir, 'out')), ['recs.arrow'], 'no temporary, no lock left');
});

t.test('an unwritable place is one line naming it, before any work, and leaves nothing', async (t) => {
  const dir = tmp(t);
  writeFileSync(path.join(dir, 'file'), 'x');
  await refused(t, openOutput({ path: path.join(dir, 'file', 'model'), kind: MODEL }), /^--out .*file\/model: .*file is not a directory$/);
  await refused(t, openOutput({ path: path.join(dir, 'file', 'a', 'model'), kind: MODEL }), /cannot write in .*file\/a: a part of the path is not a directory \(ENOTDIR/);
  // /proc and /sys refuse new entries even to root.
  await refused(t, openOutput({ path: '/proc/pris-test-output', kind: MODEL }), /^--out \/proc\/pris-test-output: cannot write in \/proc: /);
  await refused(t, openOutputFile({ path: '/sys/pris-test-output/recs.arrow', kind: RECOMMENDATIONS_OUTPUT }), /^--out \/sys\/pris-test-output\/recs\.arrow: cannot write in \/sys\/pris-test-output: /);
  // Parents created for an output that is then refused are removed again.
  await refused(t, openOutputFile({ path: path.join(dir, 'new', 'deep', 'file'), kind: RECOMMENDATIONS_OUTPUT, reads: [path.join(dir, 'new', 'deep', 'file')] }), /also an input/);
  writeFileSync(path.join(dir, 'plain.txt'), 'mine');
  await refused(t, openOutputFile({ path: path.join(dir, 'made', 'sub', '..', '..', 'plain.txt'), kind: RECOMMENDATIONS_OUTPUT }), /not a recommendations file/);
  t.same(readdirSync(dir).sort(), ['file', 'plain.txt']);
});

t.test('a live writer\'s lock refuses a second writer; a dead writer\'s lock is taken over', async (t) => {
  const dir = tmp(t);
  const model = path.join(dir, 'model');
  const first = await openOutput({ path: model, kind: MODEL });
  await refused(t, openOutput({ path: model, kind: MODEL, force: true }), new RegExp(`is being written by another pris process \\(pid ${process.pid}, since `));
  await refused(t, openOutputFile({ path: model, kind: RECOMMENDATIONS_OUTPUT }), /is being written by another pris process/);
  first.close();
  first.close(); // idempotent
  t.notOk(existsSync(path.join(dir, '.model.pris-lock')), 'released');
  // A lock left by a process that is gone (SIGKILL): taken over.
  writeFileSync(path.join(dir, '.model.pris-lock'), JSON.stringify({ pid: deadPid(), stamp: 'x', started: 'then', command: 'pris train' }));
  await made(model, MODEL, { 'config.json': '1' });
  // A lock whose pid is alive but names another process (the pid was reused): taken over too.
  writeFileSync(path.join(dir, '.model.pris-lock'), JSON.stringify({ pid: process.pid, stamp: OWNER.stamp + 'x', started: 'then', command: 'pris train' }));
  await made(model, MODEL, { 'config.json': '2' }, true);
  t.same(readdirSync(dir), ['model']);
});

t.test('writerAlive: a pid that is gone, one reused by another process, one running', async (t) => {
  t.notOk(writerAlive(deadPid(), 'x'));
  t.ok(writerAlive(process.pid, OWNER.stamp));
  t.ok(writerAlive(process.pid), 'without a stamp, the pid decides');
  if (existsSync(`/proc/${process.pid}/stat`)) t.notOk(writerAlive(process.pid, OWNER.stamp + '0'), 'same pid, another start: not the writer');
});

t.test('what dead writers left is removed by the next writer; a live writer\'s temporaries are not', async (t) => {
  const dir = tmp(t);
  const dead = deadPid();
  const big = Buffer.alloc(1 << 20);
  const left = [
    `.ds.pris-tmp-${dead}-abc123-1`, // a directory being built
    `.recs.arrow.pris-tmp-${dead}-abc123-7`, // another output's file in the same folder
    `.ds.tmp-${dead}-lq2x5k`, // the names pris used before stamps
    `.kept.tmp-${dead}-lq2x5k-old`, // a replaced output on its way out (the new one is in place)
  ];
  mkdirSync(path.join(dir, 'kept'));
  for (const name of left) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'interactions.arrow'), big);
  }
  const live = `.other.pris-tmp-${process.pid}-${OWNER.stamp}-99`;
  writeFileSync(path.join(dir, live), 'in progress');
  writeFileSync(path.join(dir, 'user.txt'), 'mine');
  await made(path.join(dir, 'ds'), DATASET_OUTPUT, { [FILES.meta]: '{}' });
  t.same(readdirSync(dir).sort(), [live, 'ds', 'kept', 'user.txt'].sort());
  // Temporaries inside an output (a checkpoint being written) go too.
  const inner = `.checkpoint.bin.pris-tmp-${dead}-abc123-3`;
  writeFileSync(path.join(dir, 'ds', inner), big);
  await made(path.join(dir, 'ds'), DATASET_OUTPUT, { [FILES.meta]: '{}' }, true);
  t.notOk(existsSync(path.join(dir, 'ds', inner)));
});

t.test('a writer that died between the two renames of a replacement: the earlier output comes back', async (t) => {
  const dir = tmp(t);
  const ds = path.join(dir, 'ds');
  await made(ds, DATASET_OUTPUT, { [FILES.meta]: 'old' });
  const dead = deadPid();
  const { renameSync } = await import('node:fs');
  renameSync(ds, path.join(dir, `.ds.pris-old-${dead}-abc123-2`));
  mkdirSync(path.join(dir, `.ds.pris-tmp-${dead}-abc123-1`));
  await refused(t, openOutput({ path: ds, kind: DATASET_OUTPUT }), /already holds a dataset written by pris/);
  t.equal(readFileSync(path.join(ds, FILES.meta), 'utf8'), 'old');
  t.same(readdirSync(dir), ['ds']);
});

t.test('checkpoints: files written into the live output over the run', async (t) => {
  const dir = tmp(t);
  const model = path.join(dir, 'model');
  {
    using out = await openOutput({ path: model, kind: MODEL });
    t.notOk(out.has('checkpoint.bin'));
    out.writeFile('checkpoint.bin', new Uint8Array([1, 2, 3]));
    t.ok(out.has('checkpoint.bin'));
    t.same(JSON.parse(readFileSync(path.join(model, MARKER), 'utf8')), { pris_output: 'model', version: 1, files: ['checkpoint.bin'], complete: false });
    // the process stops here (an interrupt, a crash): the checkpoint stays
  }
  await refused(t, openOutput({ path: model, kind: MODEL }), /already holds a model written by pris \(from a run that did not finish\); give --force/);
  // --resume (the trainer passes force) finds it, goes on, and the final model replaces it.
  using out = await openOutput({ path: model, kind: MODEL, force: true });
  t.ok(out.has('checkpoint.bin'));
  t.same(readFileSync(path.join(out.path, 'checkpoint.bin')), Buffer.from([1, 2, 3]));
  out.writeFile('checkpoint.bin', new Uint8Array([4]));
  out.writeFileWith('checkpoint.bin', (tmp) => writeFileSync(tmp, new Uint8Array([5])));
  t.same(readFileSync(path.join(model, 'checkpoint.bin')), Buffer.from([5]));
  await out.writeDir('checkpoint.d', async (d) => writeFileSync(path.join(d, 'state.json'), '{}'));
  await out.commit(async (d) => writeFileSync(path.join(d, 'config.json'), '{}'), { keep: ['checkpoint.d'] });
  t.same(readdirSync(model).sort(), [MARKER, 'checkpoint.d', 'config.json']);
  t.same(JSON.parse(readFileSync(path.join(model, MARKER), 'utf8')).complete, true);
  // Still open after the commit: the test metrics go into the new directory.
  out.writeFile('metrics.json', '{}');
  t.same(JSON.parse(readFileSync(path.join(model, MARKER), 'utf8')), { pris_output: 'model', version: 1, files: ['checkpoint.d', 'config.json', 'metrics.json'], complete: true });
  out.close();
  t.throws(() => out.writeFile('x', ''), /closed/);
  t.notOk(existsSync(path.join(dir, '.model.pris-lock')));
});

t.test('an output written file by file: the earlier output\'s files stay until finish() drops what was not rewritten', async (t) => {
  const dir = tmp(t);
  const study = path.join(dir, 'study');
  await made(study, MODEL, { 'table.md': 'old', 'old-plot.svg': 'old' });
  using out = await openOutput({ path: study, kind: MODEL, force: true });
  mkdirSync(out.claim('models'));
  out.writeFile('table.md', 'new');
  t.equal(readFileSync(path.join(study, 'old-plot.svg'), 'utf8'), 'old', 'still there mid-run');
  out.remove('models');
  out.finish();
  t.same(readdirSync(study).sort(), [MARKER, 'table.md']);
  t.same(JSON.parse(readFileSync(path.join(study, MARKER), 'utf8')).files, ['table.md']);
});

t.test('an OS error on a path is a one-line UserError; anything else is not', async (t) => {
  const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/data/model/item_embeddings.arrow' });
  t.equal(osUserError(e)?.message, '/data/model/item_embeddings.arrow: no space left on the device (ENOSPC, write)');
  const r = Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'rename', path: '/a', dest: '/b' });
  t.equal(osUserError(r)?.message, '/a -> /b: read-only file system (EROFS, rename)');
  t.equal(osUserError(new TypeError('x is undefined')), undefined);
  t.equal(osUserError(Object.assign(new Error('no path'), { code: 'ENOENT' })), undefined);
  const dir = tmp(t);
  writeFileSync(path.join(dir, 'file'), 'x');
  let err: unknown;
  try {
    writeFileAtomicSync(path.join(dir, 'file', 'x.json'), '{}');
  } catch (e) {
    err = e;
  }
  t.match(osUserError(err)?.message, /file: (already exists \(EEXIST, mkdir\)|a part of the path is not a directory \(ENOTDIR)/);
  t.equal(statSync(path.join(dir, 'file')).isFile(), true);
});
