import t from 'tap';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pris, groupedCsv } from './helpers/cli.js';
import { loadDataset } from '../src/data/dataset.js';
import { readInteractions } from '../src/data/interactions.js';
import { positiveWeights } from '../src/data/positive-weights.js';
import { autoReg } from '../src/train/options.js';
import { MODEL_FILES } from '../src/model/io.js';

// Play counts as positive weights, and the options whose default comes from the data (--reg, --clusters auto).
const work = mkdtempSync(path.join(tmpdir(), 'pris-train-weights-'));
const plain = path.join(work, 'plain');
const weighted = path.join(work, 'weighted');
const constant = path.join(work, 'constant');

/** The grouped CSV with a count per row: `count(r)` for row r. */
function withCounts(csv: string, count: (r: number) => number): string {
  const lines = csv.trim().split('\n');
  return [lines[0] + ',count', ...lines.slice(1).map((l, r) => `${l},${count(r)}`)].join('\n') + '\n';
}

t.before(() => {
  const csv = groupedCsv(200, 100, 12, 4);
  writeFileSync(path.join(work, 'plain.csv'), csv);
  writeFileSync(path.join(work, 'weighted.csv'), withCounts(csv, (r) => 1 + ((r * 37) % 500)));
  writeFileSync(path.join(work, 'constant.csv'), withCounts(csv, () => 7));
  for (const [name, extra] of [['plain', []], ['weighted', ['--weight-col', 'count']], ['constant', ['--weight-col', 'count']]] as const) {
    const imp = pris(['data', 'import', 'csv', path.join(work, `${name}.csv`), '--header', ...extra, '--out', path.join(work, name), '-q']);
    if (imp.code !== 0) throw new Error(imp.stderr);
    const sp = pris(['data', 'split', path.join(work, name), '--seed', '1']);
    if (sp.code !== 0) throw new Error(sp.stderr);
  }
});

t.test('positive weights: g(count) per train entry, over the mean g of its user', async (t) => {
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
    let checked = 0;
    for (const [u, list] of byUser) {
      const mean = list.reduce((s, x) => s + x.g, 0) / list.length;
      for (const x of list) {
        const row = ds.train.indices.subarray(ds.train.indptr[u]!, ds.train.indptr[u + 1]!);
        const p = ds.train.indptr[u]! + row.indexOf(x.item);
        err = Math.max(err, Math.abs(w[p]! - x.g / mean));
        checked++;
      }
    }
    t.equal(checked, ds.train.indices.length, 'every training entry checked');
    t.ok(err < 1e-5, `${fn}: max error ${err.toExponential(2)}`);
  }
});

t.test('equal counts train exactly as no weights (the same visit order and steps, one thread)', async (t) => {
  const run = (flags: string[], out: string) => {
    const r = pris(['train', constant, '--out', path.join(work, out), '--epochs', '3', '--dim', '8', '--threads', '1', '--json', '-q', ...flags]);
    t.equal(r.code, 0, r.stderr);
    return readFileSync(path.join(work, out, MODEL_FILES.items));
  };
  const none = run([], 'none');
  t.same(run(['--positive-weights', 'count'], 'count'), none, 'count weights of 7 everywhere: every weight 1');
  t.notSame(run(['--positive-weights', 'count', '--seed', '2'], 'seed2'), none, 'and the comparison can fail');
});

t.test('--positive-weights trains on a weighted dataset and is refused without a weight column', async (t) => {
  const r = pris(['train', weighted, '--out', path.join(work, 'pw'), '--positive-weights', 'sqrt', '--epochs', '3', '--dim', '8', '-q']);
  t.equal(r.code, 0, r.stderr);
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--positive-weights', 'sqrt', '--epochs', '3', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--positive-weights sqrt: .* has no weight column/);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  t.notOk(existsSync(path.join(work, 'never')), 'nothing written');
  const adam = pris(['train', weighted, '--out', path.join(work, 'never'), '--positive-weights', 'sqrt', '--optimizer', 'adam', '-q']);
  t.equal(adam.code, 2);
  t.match(adam.stderr, /--positive-weights scales each sample's step: use a per-sample optimizer/);
});

t.test('--reg auto: 0.03 up to 100,000 training interactions, then (n / 100,000)^-0.2 of it; config.json records the value used', async (t) => {
  t.equal(autoReg(39_838), 0.03);
  t.equal(autoReg(100_000), 0.03);
  t.equal(autoReg(727_869), 0.0202);
  t.equal(autoReg(3_200_000), 0.015);
  const out = path.join(work, 'auto');
  const r = pris(['train', plain, '--out', out, '--epochs', '2', '--dim', '8', '-q']);
  t.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.equal(cfg.reg, 0.03, 'the default on a small set: 0.03, written as a number');
  t.equal(cfg.clusters, 10, '--clusters auto: a tenth of the 100 items');
  const given = pris(['train', plain, '--out', path.join(work, 'given'), '--reg', '0.05', '--clusters', 'auto', '--epochs', '1', '--dim', '8', '-q']);
  t.equal(given.code, 0, given.stderr);
  t.equal(JSON.parse(readFileSync(path.join(work, 'given', 'config.json'), 'utf8')).reg, 0.05);
  const bad = pris(['train', plain, '--out', path.join(work, 'never'), '--reg', 'lots', '-q']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--reg must be a number or auto/);
});
