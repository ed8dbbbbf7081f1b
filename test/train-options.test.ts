import t from 'tap';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pris, groupedCsv } from './helpers/cli.js';
import { loadModel } from '../src/model/io.js';
import { loadDataset } from '../src/data/dataset.js';
import { readInteractions } from '../src/data/interactions.js';
import { positiveWeights } from '../src/data/positive-weights.js';
import { autoReg, epochLr } from '../src/train/config.js';

// The training options beyond the paper's: positive weights from counts,
// cosine scores, the softmax loss, learning-rate schedules.
const work = mkdtempSync(path.join(tmpdir(), 'pris-train-options-'));
const plain = path.join(work, 'plain');
const weighted = path.join(work, 'weighted');

/** The grouped CSV with a play count per row: 1 + (row * 37) % 500. */
function withCounts(csv: string): string {
  const lines = csv.trim().split('\n');
  return [lines[0] + ',count', ...lines.slice(1).map((l, r) => `${l},${1 + ((r * 37) % 500)}`)].join('\n') + '\n';
}

t.before(() => {
  const csv = groupedCsv(200, 100, 12, 4);
  writeFileSync(path.join(work, 'plain.csv'), csv);
  writeFileSync(path.join(work, 'weighted.csv'), withCounts(csv));
  for (const [name, extra] of [['plain', []], ['weighted', ['--weight-col', 'count']]] as const) {
    const imp = pris(['data', 'import', 'csv', path.join(work, `${name}.csv`), '--header', ...extra, '--out', path.join(work, name), '-q']);
    if (imp.code !== 0) throw new Error(imp.stderr);
    const sp = pris(['data', 'split', path.join(work, name), '--seed', '1']);
    if (sp.code !== 0) throw new Error(sp.stderr);
  }
});

t.test('positive weights: g(count) per train entry, mean 1 over each user', async (t) => {
  const ds = loadDataset(weighted);
  const rows = readInteractions(path.join(weighted, 'train.arrow'));
  for (const fn of ['log1p', 'sqrt', 'count'] as const) {
    const w = positiveWeights(weighted, ds.train, ['train'], fn);
    const g = (c: number) => (fn === 'log1p' ? Math.log1p(c) : fn === 'sqrt' ? Math.sqrt(c) : c);
    // Brute force: each user's rows, g of the count over the user's mean g.
    const byUser = new Map<number, { item: number; g: number }[]>();
    for (let r = 0; r < rows.user.length; r++) {
      const list = byUser.get(rows.user[r]!) ?? [];
      list.push({ item: rows.item[r]!, g: g(rows.weight![r]!) });
      byUser.set(rows.user[r]!, list);
    }
    let err = 0;
    for (const [u, list] of byUser) {
      const mean = list.reduce((s, x) => s + x.g, 0) / list.length;
      for (const x of list) {
        const p = ds.train.indices.subarray(ds.train.indptr[u]!, ds.train.indptr[u + 1]!).indexOf(x.item) + ds.train.indptr[u]!;
        err = Math.max(err, Math.abs(w[p]! - x.g / mean));
      }
    }
    t.ok(err < 1e-5, `${fn}: max error ${err.toExponential(2)}`);
  }
});

t.test('--positive-weights trains on a weighted dataset and is refused without a weight column', async (t) => {
  const out = path.join(work, 'pw');
  const r = pris(['train', weighted, '--out', out, '--positive-weights', 'sqrt', '--epochs', '3', '--dim', '8', '-q']);
  t.equal(r.code, 0, r.stderr);
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--positive-weights', 'sqrt', '--epochs', '3', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--positive-weights sqrt: .* has no weight column/);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  t.notOk(existsSync(path.join(work, 'never')), 'nothing written');
});

t.test('--score cosine saves unit rows and learns the groups; --loss softmax learns', async (t) => {
  for (const [name, flags] of [
    ['cosine', ['--score', 'cosine', '--temperature', '0.2', '--reg', '0']],
    ['softmax', ['--loss', 'softmax']],
    ['softmax-cluster', ['--loss', 'softmax', '--sampler', 'cluster-popularity', '--clusters', '8']],
  ] as const) {
    const out = path.join(work, name);
    const r = pris(['train', plain, '--out', out, ...flags, '--epochs', '15', '--dim', '8', '--json', '-q']);
    t.equal(r.code, 0, r.stderr);
    const metrics = JSON.parse(r.stdout);
    // Random ranking scores ~0.1 here (train.test.ts); the taste groups are easy to learn.
    t.ok(metrics.test['ndcg@50'] > 0.2, `${name}: ndcg@50 ${metrics.test['ndcg@50']}`);
    if (name === 'cosine') {
      const m = loadModel(out).model;
      let worst = 0;
      for (const a of [m.user, m.item]) {
        for (let o = 0; o < a.length; o += m.dim) {
          let ss = 0;
          for (let x = 0; x < m.dim; x++) ss += a[o + x]! ** 2;
          worst = Math.max(worst, Math.abs(Math.sqrt(ss) - 1));
        }
      }
      t.ok(worst < 1e-5, `every saved row has unit length (worst ${worst.toExponential(2)})`);
    }
  }
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--score', 'cosine', '--optimizer', 'adam', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--score cosine steps per sample/);
});

t.test('learning-rate schedules: constant, linear and cosine decay over the epochs', async (t) => {
  const c = { lr: 0.1, epochs: 10 };
  t.same([1, 6, 10].map((e) => epochLr({ ...c, lrSchedule: 'constant' }, e)), [0.1, 0.1, 0.1]);
  t.same([1, 6, 10].map((e) => +epochLr({ ...c, lrSchedule: 'linear' }, e).toFixed(12)), [0.1, 0.05, 0.01]);
  t.same([1, 6, 10].map((e) => +epochLr({ ...c, lrSchedule: 'cosine' }, e).toFixed(12)), [0.1, 0.05, +(0.05 * (1 + Math.cos(0.9 * Math.PI))).toFixed(12)]);
});

t.test('--patience-fraction: early stopping waits until the best epoch is that share of the run behind', async (t) => {
  const r = pris(['train', plain, '--out', path.join(work, 'pf'), '--epochs', '40', '--eval-every', '1', '--patience', '1', '--patience-fraction', '0.5', '--dim', '8', '--threads', '1', '--json', '-q']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  t.ok(m.epochs_run === 40 || m.epochs_run >= 2 * m.best_epoch, `stopped at ${m.epochs_run}, best ${m.best_epoch}`);
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--patience-fraction', '1', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--patience-fraction must be below 1/);
});

t.test('--reg auto: 0.03 up to 100,000 training interactions, then (n / 100,000)^-0.2 less; config.json records the value used', async (t) => {
  t.equal(autoReg(39_838), 0.03);
  t.equal(autoReg(100_000), 0.03);
  t.equal(autoReg(727_869), 0.0202);
  t.equal(autoReg(3_200_000), +(0.03 * Math.pow(32, -0.2)).toFixed(4));
  const out = path.join(work, 'auto');
  const r = pris(['train', plain, '--out', out, '--reg', 'auto', '--epochs', '2', '--dim', '8', '-q']);
  t.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.equal(cfg.reg, 0.03, 'a small set gets 0.03, written as a number');
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--reg', 'lots', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--reg must be a non-negative number or auto/);
});
