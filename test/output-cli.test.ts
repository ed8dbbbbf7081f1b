import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

function start(args: string[], cwd = ROOT): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: env(), cwd });
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

/** A small split dataset at `dir/ds` and its raw CSV at `dir/raw.csv`. */
async function dataset(t: Test, dir: string, users = 60): Promise<string> {
  writeFileSync(path.join(dir, 'raw.csv'), groupedCsv(users, 40, 8, 4));
  const ds = path.join(dir, 'ds');
  let r = await pris(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '-q']);
  t.equal(r.code, 0, r.stderr);
  r = await pris(['data', 'split', ds, '--seed', '1']);
  t.equal(r.code, 0, r.stderr);
  return ds;
}

const TRAIN = ['--epochs', '1', '--dim', '8', '--threads', '1', '--eval-every', '0', '-q'];

t.test('--out "" (an unset variable) is refused and the working directory is untouched', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir);
  const work = path.join(dir, 'work');
  mkdirSync(work);
  writeFileSync(path.join(work, 'precious.txt'), 'mine');
  copyFileSync(path.join(dir, 'raw.csv'), path.join(work, 'raw.csv'));
  userError(t, await pris(['data', 'import', 'csv', 'raw.csv', '--header', '--out', '', '-q'], work), /^pris: --out is empty \(an unset variable\?\)/);
  userError(t, await pris(['train', ds, '--out', '', ...TRAIN], work), /^pris: --out is empty/);
  userError(t, await pris(['train', ds, '--out', '.', ...TRAIN], work), /^pris: --out \. is the working directory/);
  userError(t, await pris(['data', 'import', 'csv', 'raw.csv', '--header', '--out', '..', '-q'], work), /holds the working directory/);
  t.same(readdirSync(work).sort(), ['precious.txt', 'raw.csv']);
  t.equal(readFileSync(path.join(work, 'precious.txt'), 'utf8'), 'mine');
});

t.test('replacing an output never deletes a file pris did not write', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir);
  // Re-importing from a raw file kept in the dataset directory.
  copyFileSync(path.join(dir, 'raw.csv'), path.join(ds, 'raw.csv'));
  userError(t, await pris(['data', 'import', 'csv', path.join(ds, 'raw.csv'), '--header', '--out', ds, '--force', '-q']), /holds .*raw\.csv, which this command reads/);
  userError(t, await pris(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '--force', '-q']), /holds files pris did not write: raw\.csv; move them out first/);
  t.ok(existsSync(path.join(ds, 'raw.csv')), 'the raw input is still there');
  rmSync(path.join(ds, 'raw.csv'));
  userError(t, await pris(['data', 'import', 'csv', path.join(dir, 'raw.csv'), '--header', '--out', ds, '-q']), /already holds a dataset written by pris; give --force to replace it/);
  // Retraining into a model directory with recommendations saved beside the model.
  const model = path.join(dir, 'model');
  let r = await pris(['train', ds, '--out', model, ...TRAIN]);
  t.equal(r.code, 0, r.stderr);
  r = await pris(['recommend', model, ds, '--out', path.join(dir, 'recs.arrow'), '--k', '3', '-q']);
  t.equal(r.code, 0, r.stderr);
  copyFileSync(path.join(dir, 'recs.arrow'), path.join(model, 'recs.arrow'));
  userError(t, await pris(['train', ds, '--out', model, '--force', ...TRAIN]), /--out .*model holds files pris did not write: recs\.arrow/);
  t.ok(existsSync(path.join(model, 'recs.arrow')), 'the recommendations are still there');
  rmSync(path.join(model, 'recs.arrow'));
  r = await pris(['train', ds, '--out', model, '--force', ...TRAIN]);
  t.equal(r.code, 0, r.stderr);
  t.same(leftovers(dir), []);
});

t.test('recommend --out never overwrites a file pris did not write as recommendations', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir);
  const model = path.join(dir, 'model');
  t.equal((await pris(['train', ds, '--out', model, ...TRAIN])).code, 0);
  const train = readFileSync(path.join(ds, 'train.arrow'));
  userError(t, await pris(['recommend', model, ds, '--out', path.join(ds, 'train.arrow'), '-q']), /is inside .*ds, which this command reads/);
  t.same(readFileSync(path.join(ds, 'train.arrow')), train, "the dataset's train.arrow is untouched");
  // Outside the dataset: an Arrow file pris wrote as something else.
  copyFileSync(path.join(ds, 'train.arrow'), path.join(dir, 'copy.arrow'));
  userError(t, await pris(['recommend', model, ds, '--out', path.join(dir, 'copy.arrow'), '--force', '-q']), /exists and is not a recommendations file written by pris; refusing to overwrite it/);
  const recs = path.join(dir, 'recs.arrow');
  t.equal((await pris(['recommend', model, ds, '--out', recs, '-q'])).code, 0);
  userError(t, await pris(['recommend', model, ds, '--out', recs, '-q']), /already holds a recommendations file written by pris; give --force/);
  t.equal((await pris(['recommend', model, ds, '--out', recs, '--force', '-q'])).code, 0);
});

t.test('what used to fail only at save time fails before the first epoch', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir);
  writeFileSync(path.join(dir, 'file'), 'x');
  const slow = ['--epochs', '1000', '--dim', '8', '--threads', '1', '--eval-every', '0'];
  // An output under a regular file (EACCES cannot be provoked as root; ENOTDIR can).
  let r = await pris(['train', ds, '--out', path.join(dir, 'file', 'sub', 'model'), ...slow]);
  userError(t, r, /^pris: --out .*file\/sub\/model: cannot write in .*file\/sub: a part of the path is not a directory \(ENOTDIR/);
  t.notMatch(r.stderr + r.stdout, /epoch/, 'not one epoch ran');
  r = await pris(['train', ds, '--out', '/proc/pris-model', ...slow]);
  userError(t, r, /^pris: --out \/proc\/pris-model: cannot write in \/proc: /);
  // A flag given twice: refused at parse time (every command: in-process below).
  r = await pris(['train', ds, '--out', path.join(dir, 'm'), '--out', path.join(dir, 'n'), ...slow]);
  userError(t, r, /^pris: --out was given 2 times \('.*m', '.*n'\); give it once/);
  t.notOk(existsSync(path.join(dir, 'm')) || existsSync(path.join(dir, 'n')));
});

t.test('a flag given twice is refused at parse time, for every command; flags meant to repeat still do', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir);
  const m = path.join(dir, 'm');
  const raw = path.join(dir, 'raw.csv');
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
  const ds = await dataset(t, dir);
  writeFileSync(path.join(dir, 'file'), 'x');
  const elsewhere = tmp(t);
  userError(t, await pris(['data', 'import', 'csv', dir, '--out', path.join(elsewhere, 'o')]), new RegExp(dir));
  userError(t, await pris(['data', 'import', 'csv', path.join(dir, 'file', 'raw.csv'), '--out', path.join(elsewhere, 'o')]), /file\/raw\.csv/);
  userError(t, await pris(['evaluate', path.join(dir, 'file', 'model'), ds]), /file\/model/);
  userError(t, await pris(['train', path.join(dir, 'file'), '--out', path.join(elsewhere, 'o'), ...TRAIN]), /file/);
  // A dataset whose file is a directory (EISDIR).
  rmSync(path.join(ds, 'valid.arrow'));
  mkdirSync(path.join(ds, 'valid.arrow'));
  userError(t, await pris(['train', ds, '--out', path.join(elsewhere, 'o'), ...TRAIN]), /valid\.arrow/);
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
    const hit = readdirSync(dir).find((n) => re.test(n));
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no ${re} in ${dir} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a live writer keeps a second writer of the same output out; SIGTERM and SIGINT leave nothing behind', async (t) => {
  const dir = tmp(t);
  const ds = await dataset(t, dir, 400);
  const model = path.join(dir, 'model');
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const first = start(['train', ds, '--out', model, '--epochs', '100000', '--dim', '8', '--threads', '1', '--eval-every', '0', '-q']);
    await appears(dir, /^\.model\.pris-lock$/);
    const second = await pris(['train', ds, '--out', model, '--force', ...TRAIN]);
    userError(t, second, /^pris: --out .*model is being written by another pris process \(pid \d+, since .*: cli\.js train /);
    first.child.kill(signal);
    const r = await first.done;
    t.equal(r.code, code, `${signal}: exit ${code}`);
    t.same(readdirSync(dir).sort(), ['ds', 'raw.csv'], `${signal}: no lock, no temporary, no model`);
  }
});

/**
 * A process that writes an output the way an import does (file after file
 * into the temporary directory, each through writeFileAtomic), forever, and
 * says READY once it is under way: a signal then always lands mid-write.
 */
const WRITER = `
  import { openOutput } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'output.js'))};
  import { writeFileAtomic } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'atomic.js'))};
  const out = await openOutput({ path: process.argv[1], kind: { name: 'dataset', what: 'a dataset' } });
  await out.commit(async (dir) => {
    for (let i = 0; ; i++) {
      await writeFileAtomic(dir + '/part' + (i % 8) + '.arrow', new Uint8Array(4096));
      if (i === 50) process.stdout.write('READY\\n');
    }
  });
`;

/** Starts the WRITER on `out` and resolves when it is mid-write. */
async function writing(out: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, out], { env: env() });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => String(d).includes('READY') && resolve());
    child.on('error', reject);
    child.on('close', (c) => reject(new Error(`writer exited early (${c})`)));
  });
  return child;
}

t.test('SIGTERM, SIGINT and SIGHUP in the middle of a write: exit 128+n, no temporary, no lock, no output', async (t) => {
  const dir = tmp(t);
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129], ['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const child = await writing(path.join(dir, 'ds'));
    const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    child.kill(signal);
    t.equal(await exit, code, `${signal}: exit ${code}`);
    t.same(readdirSync(dir), [], `${signal}: nothing left`);
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
