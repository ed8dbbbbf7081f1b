import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { groupedCsv } from './helpers/cli.js';
import { main } from '../src/cli.js';

/**
 * The output contract through the CLI as a user meets it (issue 8): `--out ""`,
 * replacing a directory that holds a user's files, `recommend --out` onto a
 * dataset's file, errors found only at save time, repeated flags, OS errors,
 * two writers of one output, SIGINT/SIGTERM/SIGHUP, and a writer killed with
 * SIGKILL. Each case failed on the code before the contract.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} missing: run 'npm run build' before this test`);

t.jobs = 3;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_OPTIONS; // the CLI as a user runs it, without tap's loaders
  return e;
}

/** Children still running: killed when the file's tests end, whatever failed. */
const children = new Set<ChildProcess>();
t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('close', () => children.delete(child));
  return child;
}

function start(args: string[], cwd = ROOT): { child: ChildProcess; done: Promise<Run> } {
  const child = track(spawn(process.execPath, [CLI, ...args], { env: env(), cwd }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

const pris = (args: string[], cwd?: string): Promise<Run> => start(args, cwd).done;

/** The CLI's main in this process (no start-up cost): its exit code and what it printed to stderr. */
async function inProcess(args: string[]): Promise<Run> {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, signal: null, stdout: '', stderr };
  } finally {
    process.stderr.write = write;
  }
}

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-outcli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Exit 2 and one line of message: no stack trace, no "internal error". */
function userError(t: Test, r: Run, message: RegExp): void {
  t.equal(r.code, 2, `exit 2 (${r.stderr.trim()})`);
  t.match(r.stderr, message);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.notMatch(r.stderr, /internal error|\n\s+at /);
}

/** Hidden temporaries or locks pris left in `dir` (new and old names). */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => /\.pris-(tmp|old|lock)|\.tmp-\d+/.test(n));
}

let shared: Promise<{ dir: string; ds: string; model: string }> | undefined;

/** One small split dataset and a model trained on it, made once for the whole file (each test copies what it changes). */
function fixtures(): Promise<{ dir: string; ds: string; model: string }> {
  shared ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pris-outcli-shared-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'raw.csv'), groupedCsv(60, 40, 8, 4));
    const ds = path.join(dir, 'ds');
    const model = path.join(dir, 'model');
    for (const args of [
      ['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '-q'],
      ['data', 'split', ds, '--seed', '1'],
      ['train', ds, '--out', model, ...TRAIN],
    ]) {
      const r = await pris(args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
    return { dir, ds, model };
  })();
  return shared;
}

/** Copies of the shared raw CSV, dataset and model into `dir`. */
async function dataset(dir: string): Promise<{ ds: string; model: string; raw: string }> {
  const f = await fixtures();
  for (const name of ['raw.csv', 'ds', 'model']) cpSync(path.join(f.dir, name), path.join(dir, name), { recursive: true });
  return { ds: path.join(dir, 'ds'), model: path.join(dir, 'model'), raw: path.join(dir, 'raw.csv') };
}

const TRAIN = ['--epochs', '1', '--dim', '8', '--threads', '1', '--eval-every', '0', '-q'];

t.test('--out "" (an unset variable) is refused and the working directory is untouched', async (t) => {
  const dir = tmp(t);
  const { ds } = await dataset(dir);
  const work = path.join(dir, 'work');
  mkdirSync(work);
  writeFileSync(path.join(work, 'precious.txt'), 'mine');
  copyFileSync(path.join(dir, 'raw.csv'), path.join(work, 'raw.csv'));
  userError(t, await pris(['data', 'import', 'csv', 'raw.csv', '--header', '--out', '', '-q'], work), /^pris: --out is empty \(an unset variable\?\)/);
  // The same checks in this process (whose working directory is the repository).
  userError(t, await inProcess(['train', ds, '--out', '', ...TRAIN]), /^pris: --out is empty/);
  userError(t, await inProcess(['train', ds, '--out', '.', ...TRAIN]), /^pris: --out \. is the working directory/);
  t.same(readdirSync(work).sort(), ['precious.txt', 'raw.csv']);
  t.equal(readFileSync(path.join(work, 'precious.txt'), 'utf8'), 'mine');
});

t.test('replacing an output never deletes a file pris did not write', async (t) => {
  const dir = tmp(t);
  const { ds, model } = await dataset(dir);
  // Re-importing from a raw file kept in the dataset directory.
  copyFileSync(path.join(dir, 'raw.csv'), path.join(ds, 'raw.csv'));
  userError(t, await pris(['data', 'import', 'csv', path.join(ds, 'raw.csv'), '--header', '--out', ds, '--force', '-q']), /holds .*raw\.csv, which this command reads/);
  userError(t, await inProcess(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '--force', '-q']), /holds files pris did not write: raw\.csv; move them out first/);
  t.ok(existsSync(path.join(ds, 'raw.csv')), 'the raw input is still there');
  rmSync(path.join(ds, 'raw.csv'));
  userError(t, await inProcess(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '-q']), /already holds a dataset written by pris; give --force to replace it/);
  // Retraining into a model directory with recommendations saved beside the model.
  let r = await pris(['recommend', model, ds, '--out', path.join(dir, 'recs.arrow'), '--k', '3', '-q']);
  t.equal(r.code, 0, r.stderr);
  copyFileSync(path.join(dir, 'recs.arrow'), path.join(model, 'recs.arrow'));
  userError(t, await inProcess(['train', ds, '--out', model, '--force', ...TRAIN]), /--out .*model holds files pris did not write: recs\.arrow/);
  t.ok(existsSync(path.join(model, 'recs.arrow')), 'the recommendations are still there');
  rmSync(path.join(model, 'recs.arrow'));
  r = await pris(['train', ds, '--out', model, '--force', ...TRAIN]);
  t.equal(r.code, 0, r.stderr);
  t.same(leftovers(dir), []);
});

t.test('recommend --out never overwrites a file pris did not write as recommendations', async (t) => {
  const dir = tmp(t);
  const { ds, model } = await dataset(dir);
  const train = readFileSync(path.join(ds, 'train.arrow'));
  userError(t, await pris(['recommend', model, ds, '--out', path.join(ds, 'train.arrow'), '-q']), /is inside .*ds, which this command reads/);
  userError(t, await inProcess(['recommend', model, ds, '--out', path.join(ds, 'train.arrow'), '--force', '-q']), /is inside .*ds, which this command reads/);
  t.same(readFileSync(path.join(ds, 'train.arrow')), train, "the dataset's train.arrow is untouched");
  // Outside the dataset: an Arrow file pris wrote as something else.
  copyFileSync(path.join(ds, 'train.arrow'), path.join(dir, 'copy.arrow'));
  userError(t, await inProcess(['recommend', model, ds, '--out', path.join(dir, 'copy.arrow'), '--force', '-q']), /exists and is not a recommendations file written by pris; refusing to overwrite it/);
  const recs = path.join(dir, 'recs.arrow');
  t.equal((await pris(['recommend', model, ds, '--out', recs, '--k', '3', '-q'])).code, 0);
  userError(t, await inProcess(['recommend', model, ds, '--out', recs, '-q']), /already holds a recommendations file written by pris; give --force/);
  const again = await pris(['recommend', model, ds, '--out', recs, '--k', '4', '--force', '-q']);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /wrote 240 recommendations \(60 users, top 4/, 'replaced with --force');
});

t.test('what used to fail only at save time fails before the first epoch', async (t) => {
  const dir = tmp(t);
  const { ds } = await fixtures();
  writeFileSync(path.join(dir, 'file'), 'x');
  const slow = ['--epochs', '1000', '--dim', '8', '--threads', '1', '--eval-every', '0'];
  // An output under a regular file (EACCES cannot be provoked as root; ENOTDIR can).
  let r = await inProcess(['train', ds, '--out', path.join(dir, 'file', 'sub', 'model'), ...slow]);
  userError(t, r, /^pris: --out .*file\/sub\/model: cannot write in .*file\/sub: a part of the path is not a directory \(ENOTDIR/);
  t.notMatch(r.stderr + r.stdout, /epoch/, 'not one epoch ran');
  r = await inProcess(['train', ds, '--out', '/proc/pris-model', ...slow]);
  userError(t, r, /^pris: --out \/proc\/pris-model: cannot write in \/proc: /);
  // A flag given twice: refused at parse time (every command: in-process below).
  r = await pris(['train', ds, '--out', path.join(dir, 'm'), '--out', path.join(dir, 'n'), ...slow]);
  userError(t, r, /^pris: --out was given 2 times \('.*m', '.*n'\); give it once/);
  t.notOk(existsSync(path.join(dir, 'm')) || existsSync(path.join(dir, 'n')));
});

t.test('a flag given twice is refused at parse time, for every command; flags meant to repeat still do', async (t) => {
  const dir = tmp(t);
  const { ds, dir: shared } = await fixtures();
  const m = path.join(dir, 'm');
  const raw = path.join(shared, 'raw.csv');
  const twice: [string[], RegExp][] = [
    [['train', ds, '-o', m, '--out', m], /^pris: --out was given 2 times \('.*m', '.*m'\); give it once\n$/],
    [['train', ds, '--out', m, '--dim', '8', '--factors', '16'], /--dim was given 2 times \('8', '16'\)/],
    [['train', ds, '--out', m, '--sampler', 'uniform', '--sampler', 'popularity'], /--sampler was given 2 times/],
    [['data', 'import', 'csv', raw, '--out', m, '--out', path.join(dir, 'n')], /--out was given 2 times/],
    [['data', 'import', 'csv', raw, '--out', m, '--delimiter', ',', '--delimiter', ';'], /--delimiter was given 2 times/],
    [['data', 'split', ds, '--seed', '1', '--seed', '2'], /--seed was given 2 times/],
    [['evaluate', m, ds, '--split', 'test', '--split', 'valid'], /--split was given 2 times/],
    [['recommend', m, ds, '--out', 'a.arrow', '--out', 'b.arrow'], /--out was given 2 times/],
    [['baseline', 'popularity', ds, '--threads', '1', '--threads', '2'], /--threads was given 2 times/],
  ];
  for (const [args, message] of twice) userError(t, await inProcess(args), message);
  t.notOk(existsSync(m));
  const r = await pris(['baseline', 'popularity', ds, '--k', '5', '--k', '10', '--threads', '1', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.same(Object.keys(JSON.parse(r.stdout).metrics).filter((k) => k.startsWith('ndcg')), ['ndcg@5', 'ndcg@10']);
});

t.test('OS errors on inputs and outputs are one line naming the path', async (t) => {
  const dir = tmp(t);
  const { ds } = await dataset(dir);
  writeFileSync(path.join(dir, 'file'), 'x');
  const elsewhere = tmp(t);
  userError(t, await inProcess(['data', 'import', 'csv', dir, '--out', path.join(elsewhere, 'o')]), new RegExp(dir));
  userError(t, await inProcess(['data', 'import', 'csv', path.join(dir, 'file', 'raw.csv'), '--out', path.join(elsewhere, 'o')]), /file\/raw\.csv/);
  userError(t, await inProcess(['evaluate', path.join(dir, 'file', 'model'), ds]), /file\/model/);
  userError(t, await inProcess(['train', path.join(dir, 'file'), '--out', path.join(elsewhere, 'o'), ...TRAIN]), /file/);
  // A dataset whose file is a directory (EISDIR).
  rmSync(path.join(ds, 'valid.arrow'));
  mkdirSync(path.join(ds, 'valid.arrow'));
  userError(t, await inProcess(['train', ds, '--out', path.join(elsewhere, 'o'), ...TRAIN]), /valid\.arrow/);
  t.same(readdirSync(elsewhere), []);
});

/** Runs `script` in a private mount namespace (a mount there vanishes with it); undefined where that is not allowed. */
function inMountNamespace(script: string): Run | undefined {
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return undefined;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', env: env() });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

t.test('a full disk during the write and a read-only file system before it: one line, nothing left', async (t) => {
  const dir = tmp(t);
  const mnt = path.join(dir, 'mnt');
  mkdirSync(mnt);
  const raw = path.join(ROOT, 'data', 'synthetic', 'interactions.csv');
  const cli = `"${process.execPath}" "${CLI}"`;
  const full = inMountNamespace(
    `mount -t tmpfs -o size=256k tmpfs "${mnt}" && ${cli} data import csv "${raw}" --header --out "${mnt}/ds" -q; echo "exit $?"; ls -a "${mnt}"`,
  );
  if (!full) {
    t.comment('skipped: unshare -m is not permitted here (needs CAP_SYS_ADMIN)');
    return;
  }
  t.equal(full.stderr, `pris: --out ${mnt}/ds: writing failed: no space left on the device (ENOSPC, write)\n`);
  t.equal(full.stdout, 'exit 2\n.\n..\n', 'exit 2, and the file system holds nothing');
  const ro = inMountNamespace(`mount -t tmpfs -o size=256k,ro tmpfs "${mnt}" && ${cli} data import csv "${raw}" --header --out "${mnt}/ds" -q; echo "exit $?"`);
  t.match(ro!.stderr, new RegExp(`^pris: --out ${mnt}/ds: cannot write in ${mnt}: read-only file system \\(EROFS`));
  t.equal(ro!.stdout, 'exit 2\n');
});

/** Resolves once `dir` holds an entry matching `re` (polled: for entries that stay a while), or rejects after `ms`. */
async function appears(dir: string, re: RegExp, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = existsSync(dir) ? readdirSync(dir).find((n) => re.test(n)) : undefined;
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no ${re} in ${dir} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a live writer keeps a second writer of the same output out; SIGTERM and SIGINT leave no temporary and no lock', async (t) => {
  const dir = tmp(t);
  const { ds } = await fixtures();
  const model = path.join(dir, 'model');
  const forever = ['--epochs', '100000', '--dim', '8', '--threads', '1', '--eval-every', '0', '-q'];
  // Without checkpoints (SIGTERM), then with one every epoch (SIGINT).
  for (const [signal, code, every] of [['SIGTERM', 143, '0'], ['SIGINT', 130, '1']] as const) {
    const first = start(['train', ds, '--out', model, '--checkpoint-every', every, ...forever]);
    await appears(dir, /^\.model\.pris-lock$/);
    if (every === '1') await appears(model, /^checkpoint\.pris$/);
    const second = await inProcess(['train', ds, '--out', model, '--force', ...TRAIN]);
    userError(t, second, new RegExp(`^pris: --out .*model is being written by another pris process \\(pid ${first.child.pid}, since .*: cli\\.js train `));
    first.child.kill(signal);
    const hung = setTimeout(() => first.child.kill('SIGKILL'), 60_000);
    const r = await first.done;
    clearTimeout(hung);
    t.equal(r.code, code, `${signal}: exit ${code} (${r.stderr.trim()})`);
    if (every === '0') {
      t.same(readdirSync(dir), [], `${signal}: no lock, no temporary, no model`);
    } else {
      t.same(readdirSync(dir), ['model'], `${signal}: no lock, no temporary beside the model`);
      t.same(readdirSync(model).sort(), ['.pris-output.json', 'checkpoint.pris'], `${signal}: the checkpoint and its marker, nothing else`);
      userError(t, await inProcess(['train', ds, '--out', model, ...TRAIN]), /holds the checkpoint of an interrupted run: continue it with --resume, or give --force to start over/);
      const again = await pris(['train', ds, '--out', model, '--force', ...TRAIN]);
      t.equal(again.code, 0, again.stderr);
      t.same(readdirSync(model).sort(), ['.pris-output.json', 'config.json', 'item_embeddings.arrow', 'metrics.json', 'user_embeddings.arrow'], '--force: a fresh model');
    }
  }
});

/**
 * A process that writes an output the way an import does (file after file
 * into the temporary directory, each through writeFileAtomic), forever, and
 * says READY once it is under way: a signal then always lands mid-write.
 * It lets the event loop turn between files, as reading or training does
 * (a signal is handled only then).
 */
const WRITER = `
  import { openOutput } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'output.js'))};
  import { writeFileAtomic } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'atomic.js'))};
  const out = await openOutput({ path: process.argv[1], kind: { name: 'dataset', what: 'a dataset' } });
  await out.commit(async (dir) => {
    for (let i = 0; ; i++) {
      await writeFileAtomic(dir + '/part' + (i % 8) + '.arrow', new Uint8Array(4096));
      if (i === 50) process.stdout.write('READY\\n');
      await new Promise((r) => setImmediate(r));
    }
  });
`;

/** Starts the WRITER on `out` and resolves when it is mid-write. */
async function writing(out: string): Promise<ChildProcess> {
  const child = track(spawn(process.execPath, ['--input-type=module', '-e', WRITER, out], { env: env() }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => String(d).includes('READY') && resolve());
    child.on('error', reject);
    child.on('close', (c) => reject(new Error(`writer exited early (${c})`)));
  });
  return child;
}

t.test('SIGTERM, SIGINT and SIGHUP in the middle of a write: exit 128+n, no temporary, no lock, no output', async (t) => {
  const dir = tmp(t);
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const) {
    const child = await writing(path.join(dir, 'ds'));
    const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    child.kill(signal);
    const hung = setTimeout(() => child.kill('SIGKILL'), 20_000);
    t.equal(await exit, code, `${signal}: exit ${code}`);
    clearTimeout(hung);
    t.same(readdirSync(dir), [], `${signal}: nothing left`);
  }
});

/** Replaces an output of many files (so removing the old one takes a while); READY when the new one is built, just before the swap. */
const REPLACER = `
  import { writeFileSync } from 'node:fs';
  import { openOutput } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'output.js'))};
  const out = await openOutput({ path: process.argv[1], kind: { name: 'dataset', what: 'a dataset' }, force: true });
  await out.commit(async (dir) => {
    writeFileSync(dir + '/meta.json', 'new');
    process.stdout.write('READY\\n');
    await new Promise((r) => setTimeout(r, 15));
  });
  process.stdout.write('DONE\\n');
`;

t.test('SIGTERM while an output is replaced: the old output or the new one, and nothing else', async (t) => {
  const dir = tmp(t);
  const ds = path.join(dir, 'ds');
  const names = Array.from({ length: 1000 }, (_, k) => `f${k}`);
  for (const delay of [0, 10, 25]) {
    rmSync(ds, { recursive: true, force: true });
    mkdirSync(ds);
    for (const n of names) writeFileSync(path.join(ds, n), 'x');
    writeFileSync(path.join(ds, 'meta.json'), 'old');
    writeFileSync(path.join(ds, '.pris-output.json'), JSON.stringify({ pris_output: 'dataset', version: 1, files: [...names, 'meta.json'], complete: true }));
    const child = track(spawn(process.execPath, ['--input-type=module', '-e', REPLACER, ds], { env: env() }));
    let said = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => (said += d) && said.includes('READY') && resolve());
      child.on('error', reject);
    });
    const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGTERM');
    const code = await exit;
    const meta = readFileSync(path.join(ds, 'meta.json'), 'utf8');
    // Once it has finished, the process may be past its handlers (exit 0, or killed on its way out).
    t.ok(code === 143 || (meta === 'new' && said.includes('DONE')), `after ${delay} ms: exit 143, or the job had finished: ${code}`);
    t.same(readdirSync(dir), ['ds'], `after ${delay} ms: no temporary, no old copy, no lock`);
    t.ok(meta === 'new' ? readdirSync(ds).length === 2 : readdirSync(ds).length === names.length + 2, `after ${delay} ms: the ${meta} output, whole`);
  }
});

t.test('what a writer killed with SIGKILL left is removed by the next run', async (t) => {
  const dir = tmp(t);
  const out = path.join(dir, 'ds');
  const child = await writing(out);
  const closed = new Promise((resolve) => child.on('close', resolve));
  child.kill('SIGKILL');
  await closed;
  t.match(leftovers(dir).sort(), [/^\.ds\.pris-lock$/, /^\.ds\.pris-tmp-\d+-[0-9a-z]+-\d+$/], 'SIGKILL leaves its lock and its temporary directory');
  writeFileSync(path.join(dir, 'raw.csv'), groupedCsv(60, 40, 8, 4));
  const r = await pris(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', out, '-q']);
  t.equal(r.code, 0, r.stderr);
  t.same(readdirSync(dir).sort(), ['ds', 'raw.csv'], 'the next run removed them');
});
