import { loadDataset } from '../src/data/dataset.js';
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMeta, type DatasetMeta, type SplitName } from '../src/data/dataset.js';
import { writeIdMap, writeInteractions } from '../src/data/interactions.js';
import { nextFloat, seedRng } from '../src/kernels/rng.js';
import { saveEmbeddings } from '../src/model/io.js';
import { createModel } from '../src/model/store.js';
import { readRecommendations } from '../src/eval/recs-io.js';
import { prisHere } from './helpers/cli.js';

/**
 * `pris evaluate | recommend | baseline` as a user runs them: the CLI's entry
 * point in this process (fast), and the compiled binary in a child process
 * for one run and one error (exit codes reach the shell).
 */

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli.js');

function pris(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function makeDataset(dir: string, nUsers: number, nItems: number, seed: number): Promise<void> {
  const rng = seedRng(seed);
  const rows: SplitRows = { train: { u: [], i: [] }, valid: { u: [], i: [] }, test: { u: [], i: [] } };
  for (let u = 0; u < nUsers; u++) {
    for (let i = 0; i < nItems; i++) {
      if (nextFloat(rng) > 0.3) continue;
      const x = nextFloat(rng);
      // The last user has no test items: skipped and counted.
      const s: SplitName = x < 0.7 || u === nUsers - 1 ? 'train' : x < 0.8 ? 'valid' : 'test';
      rows[s].u.push(u);
      rows[s].i.push(i);
    }
  }
  await writeSplits(dir, nUsers, nItems, rows);
}

type SplitRows = Record<SplitName, { u: number[]; i: number[] }>;

/** A dataset directory of these split rows, ids u0.. and i0.. */
async function writeSplits(dir: string, nUsers: number, nItems: number, rows: SplitRows): Promise<void> {
  for (const s of ['train', 'valid', 'test'] as const) {
    await writeInteractions(path.join(dir, `${s}.arrow`), { user: Int32Array.from(rows[s].u), item: Int32Array.from(rows[s].i) });
  }
  await writeIdMap(path.join(dir, 'users.arrow'), Array.from({ length: nUsers }, (_, u) => `u${u}`));
  await writeIdMap(path.join(dir, 'items.arrow'), Array.from({ length: nItems }, (_, i) => `i${i}`));
  const count = (s: SplitName) => rows[s].u.length;
  const meta: DatasetMeta = {
    kind: 'pris-dataset',
    version: 1,
    source: { format: 'test', inputs: [] },
    filters: {},
    users: nUsers,
    items: nItems,
    interactions: count('train') + count('valid') + count('test'),
    hasWeight: false,
    hasTimestamp: false,
    predefinedSplit: false,
    dropped: {},
  };
  await writeMeta(dir, meta);
}

async function makeModel(dir: string, nUsers: number, nItems: number): Promise<void> {
  const model = createModel(nUsers, nItems, 8, { kind: 'normal', std: 0.5, seed: 3 });
  await saveEmbeddings(
    dir,
    model,
    Array.from({ length: nUsers }, (_, u) => `u${u}`),
    Array.from({ length: nItems }, (_, i) => `i${i}`),
  );
}

const noStack = (t: Test, err: string) => t.notMatch(err, /\n\s+at .+:\d+:\d+/, 'no stack trace');

t.test('pris evaluate, baseline, recommend', async (t) => {
  const root = t.testdir();
  const data = path.join(root, 'data');
  const model = path.join(root, 'model');
  await makeDataset(data, 30, 40, 1);
  await makeModel(model, 30, 40);

  const table = await prisHere('evaluate', model, data, '--k', '5', '--k', '10', '--threads', '2', '--auc', '--quiet');
  t.equal(table.code, 0, table.err);
  t.match(table.out, /NDCG@5\s+\d\.\d{4}/);
  t.match(table.out, /MAP@10\s+\d\.\d{4}/);
  t.match(table.out, /AUC\s+\d\.\d{4}/);
  t.match(table.out, /29 evaluated, 1 skipped \(no test items\)/);
  t.match(table.out, /train \+ valid items excluded/);

  const json = await prisHere('evaluate', model, data, '--k', '10,5', '--json', '--threads', '1');
  t.equal(json.code, 0, json.err);
  const r = JSON.parse(json.out);
  t.same(r.ks, [5, 10]);
  t.equal(r.evaluated, 29);
  t.equal(r.skipped, 1);
  t.same(r.exclude, ['train', 'valid']);
  t.type(r.metrics['ndcg@10'], 'number');
  t.ok(r.metrics['recall@10'] >= r.metrics['recall@5'], 'recall grows with k');
  t.equal(json.err, '', '--json: nothing on stderr either');

  // Baseline and the validation protocol in one run.
  const pop = await prisHere('baseline', 'popularity', data, '--split', 'valid', '--k', '60', '--json');
  t.equal(pop.code, 0, pop.err);
  const p = JSON.parse(pop.out);
  t.equal(p.baseline, 'popularity');
  t.same(p.exclude, ['train'], 'valid: train items excluded');
  t.equal(p.perK[0].k, 60, 'k beyond the item count: allowed, the lists are just shorter');

  // The real binary once, end to end.
  const out = path.join(root, 'recs.arrow');
  const rec = pris('recommend', model, data, '--k', '7', '--out', out, '--quiet');
  t.equal(rec.code, 0, rec.err);
  t.match(rec.out, /wrote 210 recommendations/);
  const rows = readRecommendations(out);
  t.equal(rows.user.length, 30 * 7);
  t.same(Array.from(rows.rank.subarray(0, 7)), [1, 2, 3, 4, 5, 6, 7]);
  t.equal(rows.userId[0], 'u0');
  t.match(rows.itemId[0]!, /^i\d+$/);
  // By default nothing the user already has, in any split, is recommended.
  const ds = loadDataset(data);
  let known = 0;
  for (let r = 0; r < rows.user.length; r++) {
    const u = rows.user[r]!;
    for (const part of [ds.train, ds.valid, ds.test]) {
      for (let q = part.indptr[u]!; q < part.indptr[u + 1]!; q++) if (part.indices[q] === rows.item[r]) known++;
    }
  }
  t.equal(known, 0, 'no known interaction recommended');
});

t.test('clear errors: exit 2, a message naming the problem, no stack', async (t) => {
  const root = t.testdir();
  const data = path.join(root, 'data');
  const model = path.join(root, 'model');
  const other = path.join(root, 'other-model');
  await makeDataset(data, 30, 40, 2);
  await makeModel(model, 30, 40);
  await makeModel(other, 31, 40);

  const cases: [string[], RegExp][] = [
    [['evaluate', path.join(root, 'nope'), data], /model directory not found: .*nope/],
    [['evaluate', model, path.join(root, 'nodata')], /dataset directory not found: .*nodata/],
    [['evaluate', other, data], /model .*other-model has 31 users and 40 items, but dataset .*data has 30 users and 40 items/],
    [['evaluate', model, data, '--k', '0'], /--k must be a positive integer \(got '0'\)/],
    [['evaluate', model, data, '--k', 'abc'], /--k must be a positive integer \(got 'abc'\)/],
    [['evaluate', model, data, '--k', '2.5'], /--k must be a positive integer/],
    [['evaluate', model, data, '--threads', '0'], /--threads must be an integer >= 1/],
    [['evaluate', model, data, '--split', 'train'], /Invalid values[\s\S]*split/],
    [['evaluate', model, data, '--test-users', '-3'], /--test-users must be an integer >= 1/],
    [['evaluate', model, data, '--auc-users', '100'], /--auc-users sets the sample of the AUC: give it with --auc/],
    [['evaluate', model, data, '--auc', '--auc-users', '-1'], /--auc-users must be an integer >= 0/],
    [['baseline', 'random', data], /Invalid values[\s\S]*kind/],
    [['recommend', model, data], /name the users \(--users a,b or --users-file F\), new users' items \(--items\), or give --out/],
    [['recommend', model, data, '--out', path.join(root, 'r.arrow'), '--k', '0'], /--k must be a positive integer/],
    [['recommend', model, data, '--out', path.join(root, 'r.arrow'), '--k', 'ten'], /--k must be a positive integer \(got 'ten'\)/],
    [['evaluate', model, data, '--k', '1000001'], /--k 1000001 is too large/],
    [['recommend', model, data, '--out', path.join(root, 'r.arrow'), '--include-seen', '--exclude', 'test'], /contradict/],
  ];
  for (const [args, message] of cases) {
    const r = await prisHere(...args);
    t.equal(r.code, 2, `exit 2: pris ${args.join(' ')}`);
    t.match(r.err, message, `message: pris ${args.join(' ')}`);
    noStack(t, r.err);
  }
  t.notOk(existsSync(path.join(root, 'r.arrow')), 'nothing written on error');
  // And once through the real binary: the exit code reaches the shell.
  const r = pris('evaluate', other, data);
  t.equal(r.code, 2);
  t.match(r.err, /^pris: model .*other-model has 31 users/);
  noStack(t, r.err);
});

/**
 * A catalogue large enough for the ranking metrics to skip item clusters
 * (100,000 items, 6,400 test users): --auc puts AUC on pris train's sample,
 * --auc-users N on another, --auc-users 0 on every user.
 */
t.test('pris evaluate --auc-users on a large catalogue', async (t) => {
  const root = t.testdir();
  const data = path.join(root, 'data');
  const model = path.join(root, 'model');
  const nUsers = 6400;
  const nItems = 100_000;
  const rng = seedRng(7);
  const rows: SplitRows = { train: { u: [], i: [] }, valid: { u: [], i: [] }, test: { u: [], i: [] } };
  for (let u = 0; u < nUsers; u++) {
    const seen = new Set<number>();
    for (let n = 0; n < 6; n++) {
      const i = Math.floor(nextFloat(rng) * nItems);
      if (seen.has(i)) continue;
      seen.add(i);
      const s: SplitName = n < 4 ? 'train' : 'test';
      rows[s].u.push(u);
      rows[s].i.push(i);
    }
  }
  await writeSplits(data, nUsers, nItems, rows);
  await makeModel(model, nUsers, nItems);
  const run = async (...extra: string[]) => {
    const r = await prisHere('evaluate', model, data, '--k', '20', '--auc', '--json', '--threads', '2', '--seed', '5', ...extra);
    t.equal(r.code, 0, `pris evaluate --auc ${extra.join(' ')}: ${r.err}`);
    return JSON.parse(r.out) as { metrics: Record<string, number>; evaluated: number; aucSample?: number; aucUsers?: number; auc: number };
  };
  const sampled = await run('--auc-users', '300');
  const exact = await run('--auc-users', '0');
  const subset = await run('--auc-users', '0', '--test-users', '300');
  const byDefault = await run();
  t.equal(sampled.aucSample, 300, 'AUC on the asked sample');
  t.equal(exact.aucSample, undefined, '--auc-users 0: AUC over every user');
  t.equal(exact.evaluated, sampled.evaluated, 'the ranking metrics over the same users');
  for (const k of ['ndcg@20', 'recall@20', 'precision@20', 'map@20']) {
    t.equal(sampled.metrics[k], exact.metrics[k], `${k}: skipping clusters changes nothing`);
  }
  t.equal(sampled.auc, subset.auc, "the AUC sample is --test-users' sample of that size with the same seed");
  t.not(sampled.auc, exact.auc, 'and it is a sample, not every user');
  t.equal(byDefault.aucSample, undefined, "pris train's 20,000-user AUC sample covers all 6,400 users here: exact");
  t.equal(byDefault.auc, exact.auc);
});
