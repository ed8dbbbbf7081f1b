import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { groupedCsv, pris, prisHere } from './helpers/cli.js';
import { evaluate, fit, loadDataset } from '../src/index.js';
import { loadModel as readModelDir } from '../src/model/io.js';
import { sampleUsersWithItems, usersWithItems } from '../src/eval/plan.js';
import { buildCsr } from '../src/data/csr.js';
import { DEFAULTS, resolveTrainConfig } from '../src/train/options.js';
import { runTrainJob } from '../src/api/train-job.js';

/**
 * Sampled evaluation: which users a sample holds, validation on the default
 * sample during training, `--test-users` in pris train and pris evaluate, and
 * an interrupt during the test evaluation keeping the saved model.
 */

const work = mkdtempSync(path.join(tmpdir(), 'pris-sample-'));
const dsDir = path.join(work, 'ds');

t.before(() => {
  const csv = path.join(work, 'x.csv');
  writeFileSync(csv, groupedCsv(400, 200, 12, 5));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', dsDir, '-q'], ['data', 'split', dsDir, '--seed', '1']]) {
    const r = pris(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});

t.test('a sample: users with items only, sorted, all of them up to its size, the same for the same seed', async (t) => {
  // User u has u % 3 items: users 0, 3, 6, ... have none.
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 3000; u++) for (let k = 0; k < u % 3; k++) (users.push(u), items.push(k));
  const c = buildCsr(3000, 5, Int32Array.from(users), Int32Array.from(items));
  const eligible = usersWithItems(c);
  t.equal(eligible.length, 2000);
  t.ok(eligible.every((u) => u % 3 !== 0));
  t.same(sampleUsersWithItems(c, 2000, 1), eligible, 'a sample as large as the eligible users is all of them');
  t.same(sampleUsersWithItems(c, 1_000_000, 1), eligible);
  const a = sampleUsersWithItems(c, 500, 7);
  t.equal(a.length, 500);
  t.ok(a.every((u) => u % 3 !== 0), 'only users with items');
  t.ok(a.every((u, k) => k === 0 || u > a[k - 1]!), 'ascending, no repeats');
  t.same(sampleUsersWithItems(c, 500, 7), a, 'same seed, same sample');
  t.not(sampleUsersWithItems(c, 500, 8).join(), a.join(), 'another seed, another sample');
  // Uniform: over 300 seeds each eligible user is drawn ~75 times (binomial, sd 7.5).
  const hits = new Int32Array(3000);
  for (let s = 0; s < 300; s++) for (const u of sampleUsersWithItems(c, 500, 100 + s)) hits[u]!++;
  let lo = Infinity;
  let hi = -Infinity;
  for (const u of eligible) (lo = Math.min(lo, hits[u]!)), (hi = Math.max(hi, hits[u]!));
  t.ok(lo > 75 - 6 * 7.5 && hi < 75 + 6 * 7.5, `every user drawn about equally often (${lo}..${hi} of 300)`);
});

t.test('validation during training: the default sample rule, seeded by --seed', async (t) => {
  t.ok(DEFAULTS.validUsers > 0, 'validation is bounded by default');
  t.equal(resolveTrainConfig({}).validUsers, DEFAULTS.validUsers);
  const ds = await loadDataset(dsDir);
  const eligible = usersWithItems(ds.valid).length;
  t.ok(eligible > 40, `${eligible} users with validation items`);
  const base = { epochs: 2, evalEvery: 2, dim: 8, threads: 1, seed: 5, k: [10] };
  const validOf = (m: Awaited<ReturnType<typeof fit>>) => (m.info.summary?.valid as Record<string, number>)['ndcg@10'];
  const exact = (m: Awaited<ReturnType<typeof fit>>, sampleUsers?: number) =>
    evaluate(m, ds, { split: 'valid', k: [10], ...(sampleUsers ? { sampleUsers, sampleSeed: 5 } : {}) }).then((r) => r.perK[0]!.ndcg);

  // More eligible users than --valid-users: a fixed sample of that many, drawn with the run's seed.
  const notes: string[] = [];
  const sampled = await fit(ds, { ...base, validUsers: 40, onLog: (l) => notes.push(l) });
  t.teardown(() => sampled.close());
  const reported = validOf(sampled);
  t.equal(reported, await exact(sampled, 40), 'the validation figure is the sample of 40 drawn with --seed, to the bit');
  t.not(reported, await exact(sampled), 'and not the figure over every user');
  t.match(notes.join('\n'), new RegExp(`validating on a fixed sample of 40 of the ${eligible} users`));

  // At most --valid-users eligible users: every one of them, the exact figure.
  const all = await fit(ds, { ...base, validUsers: eligible });
  t.teardown(() => all.close());
  t.equal(validOf(all), await exact(all), 'all users: the exact figure');
  const none = await fit(ds, { ...base, validUsers: 0 });
  t.teardown(() => none.close());
  t.equal(validOf(none), await exact(none), '0: every user');
  t.same(Array.from(none.userEmbeddings()), Array.from(all.userEmbeddings()), 'sampling changes nothing but the validation');
});

t.test('--test-users: pris train and pris evaluate draw the same sample', async (t) => {
  const out = path.join(work, 'model-sampled');
  const r = await prisHere('train', dsDir, '--out', out, '--epochs', '2', '--dim', '8', '--threads', '1', '--seed', '3', '--k', '10', '--test-users', '25', '--json', '-q');
  t.equal(r.code, 0, r.err);
  const m = JSON.parse(r.out);
  t.equal(m.test_users, 25);
  t.same(m.test_sample, { users: 25, seed: 3 });
  const e = await prisHere('evaluate', out, dsDir, '--k', '10', '--auc', '--test-users', '25', '--json', '--threads', '1');
  t.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  t.equal(ev.evaluated, 25);
  t.same(ev.metrics, m.test, "pris evaluate --test-users 25 (the model's seed by default) gives the same figures");
  const other = JSON.parse((await prisHere('evaluate', out, dsDir, '--k', '10', '--auc', '--test-users', '25', '--seed', '4', '--json', '--threads', '1')).out);
  t.not(other.metrics['ndcg@10'], m.test['ndcg@10'], 'another seed, another sample');
  const wrong = await prisHere('evaluate', out, dsDir, '--valid-users', '25');
  t.equal(wrong.code, 2);
  t.match(wrong.err, /--valid-users samples the valid split, but this evaluates --split test: use --test-users/);
  const bad = await prisHere('train', dsDir, '--out', path.join(work, 'never'), '--test-users', '-1');
  t.equal(bad.code, 2);
  t.match(bad.err, /--test-users must be an integer between 0 and/);
  t.notOk(existsSync(path.join(work, 'never')), 'checked before training');
});

t.test('an interrupt during the test evaluation stops it; the model is saved already', async (t) => {
  const out = path.join(work, 'model-interrupted');
  const stop = new AbortController();
  const lines: string[] = [];
  const res = await runTrainJob({
    dataset: dsDir,
    out,
    given: { epochs: 2, dim: 8, threads: 1 },
    checkpointEvery: 1,
    resume: false,
    progress: 'lines',
    log: (line) => {
      lines.push(line);
      // The interrupt lands as the test evaluation starts.
      if (/test evaluation on/.test(line)) stop.abort();
    },
    signal: stop.signal,
  });
  t.match(lines.join('\n'), /model saved in .*; test evaluation on 400 users x \d+ items/);
  t.equal(res.metrics.test_status, 'interrupted');
  t.equal(res.metrics.test, null);
  const saved = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.equal(saved.test_status, 'interrupted', 'metrics.json says so');
  t.equal(saved.epochs_run, 2);
  t.notOk(existsSync(path.join(out, 'checkpoint.pris')), 'the model replaced the checkpoint');
  const loaded = readModelDir(out);
  t.equal(loaded.model.nUsers, 400, 'the model loads');
  const e = await prisHere('evaluate', out, dsDir, '--json', '--threads', '1');
  t.equal(e.code, 0, 'and evaluates');
});

t.test('pris train killed (SIGKILL) as the test evaluation starts: the trained model is on disk and usable', async (t) => {
  const out = path.join(work, 'model-killed');
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli.js');
  let err = '';
  const attempt = () => {
    const child = spawn(process.execPath, [cli, 'train', dsDir, '--out', out, '--force', '--epochs', '2', '--dim', '8', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    err = '';
    return new Promise<boolean>((resolve) => {
      let sent = false;
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        // No chance to clean up or finish: what a crash or the OOM killer does.
        if (!sent && /test evaluation on/.test(err)) (sent = true), child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL'));
    });
  };
  // The evaluation of 400 users is short: on a busy machine it may end before the kill lands; then again.
  let killed = false;
  for (let a = 0; a < 4 && !killed; a++) killed = await attempt();
  t.ok(killed, `killed during the test evaluation (${err.trim().split('\n').at(-1)})`);
  const saved = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.equal(saved.epochs_run, 2, 'the training is recorded');
  t.equal(saved.test_status, 'pending', 'and the test evaluation as not done');
  t.equal(readModelDir(out).model.nUsers, 400, 'the model loads');
  const e = await prisHere('evaluate', out, dsDir, '--json', '--threads', '1');
  t.equal(e.code, 0, e.err);
  t.equal(JSON.parse(e.out).evaluated, 400, 'and evaluates');
});
