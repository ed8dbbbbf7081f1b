import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pris, groupedCsv } from './helpers/cli.js';
import { allocCombined, partNorms, setCombinedUsers } from '../src/model/combine.js';
import { wrapModel } from '../src/model/store.js';
import { COMBINE_WEIGHTS, evaluate, loadDataset, loadModel } from '../src/index.js';

let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
function randomModel(nUsers: number, nItems: number, d: number, scale: number) {
  return wrapModel(nUsers, nItems, d, Float32Array.from({ length: nUsers * d }, () => scale * rand()), Float32Array.from({ length: nItems * d }, () => scale * rand()));
}
const dot = (x: Float32Array, i: number, y: Float32Array, j: number, d: number) => {
  let s = 0;
  for (let c = 0; c < d; c++) s += x[i * d + c]! * y[j * d + c]!;
  return s;
};

t.test('the combined score is (1 - w) <u_A, v_A> / (r_uA r_vA) + w <u_B, v_B> / (r_uB r_vB), r the rms row norm; item blocks weigh alike', async (t) => {
  const A = randomModel(7, 9, 3, 1);
  const B = randomModel(7, 9, 5, 40);
  const rms = (x: Float32Array, n: number) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / n);
  const norms = [partNorms(A), partNorms(B)] as const;
  for (const [m, n] of [[A, norms[0]], [B, norms[1]]] as const) {
    t.ok(Math.abs(n.user - rms(m.user, m.nUsers)) < 1e-6 * n.user && Math.abs(n.item - rms(m.item, m.nItems)) < 1e-6 * n.item, 'the norms by their definition');
  }
  const C = allocCombined(A, B, norms);
  t.equal(C.dim, 8);
  const blockRms = (from: number, to: number) => Math.sqrt(Array.from({ length: 9 }, (_, i) => Array.from(C.item.subarray(i * 8 + from, i * 8 + to)).reduce((s, v) => s + v * v, 0)).reduce((s, v) => s + v, 0) / 9);
  t.ok(Math.abs(blockRms(0, 3) - 1) < 1e-5 && Math.abs(blockRms(3, 8) - 1) < 1e-5, 'each item block has rms norm 1');
  for (const w of [0, 0.3, 1]) {
    setCombinedUsers(C, A, B, w, norms);
    let worst = 0;
    for (let u = 0; u < 7; u++) {
      for (let i = 0; i < 9; i++) {
        const want = ((1 - w) * dot(A.user, u, A.item, i, 3)) / (rms(A.user, 7) * rms(A.item, 9)) + (w * dot(B.user, u, B.item, i, 5)) / (rms(B.user, 7) * rms(B.item, 9));
        worst = Math.max(worst, Math.abs(dot(C.user, u, C.item, i, 8) - want));
      }
    }
    t.ok(worst < 1e-5, `w ${w}: worst difference ${worst}`);
  }
});

const work = mkdtempSync(path.join(tmpdir(), 'pris-combine-'));
const ds = path.join(work, 'ds');
const other = path.join(work, 'other');
const quick = ['--epochs', '4', '-q', '--threads', '1', '--seed', '3'];
const validated = ['--eval-every', '2'];
const dirs = {
  pris: path.join(work, 'pris'),
  ccl: path.join(work, 'ccl'),
  prisRefit: path.join(work, 'pris-r'),
  cclRefit: path.join(work, 'ccl-r'),
  elsewhere: path.join(work, 'elsewhere'),
};

t.before(() => {
  for (const [dir, csv, csvText] of [[ds, 'x.csv', groupedCsv(240, 120, 12, 4)], [other, 'y.csv', groupedCsv(200, 100, 10, 4)]] as const) {
    const file = path.join(work, csv);
    writeFileSync(file, csvText);
    for (const args of [['data', 'import', 'csv', file, '--header', '--out', dir, '-q'], ['data', 'split', dir, '--seed', '1']]) {
      const r = pris(args);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  }
  const ccl = ['--loss', 'ccl', '--optimizer', 'adagrad-row', '--sampler', 'uniform', '-L', '16', '--dim', '4'];
  for (const [out, flags] of [
    [dirs.pris, ['--dim', '8', ...validated]],
    [dirs.ccl, [...ccl, ...validated]],
    [dirs.prisRefit, ['--dim', '8', '--train-on', 'train+valid', '--eval-every', '0']],
    [dirs.cclRefit, [...ccl, '--train-on', 'train+valid', '--eval-every', '0']],
  ] as const) {
    const r = pris(['train', ds, '--out', out, ...quick, ...flags]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const r = pris(['train', other, '--out', dirs.elsewhere, ...quick, '--dim', '8']);
  if (r.code !== 0) throw new Error(r.stderr);
});

t.test('pris combine --weight auto: every weight scored on validation, the best kept, and the saved model scores what was reported', async (t) => {
  const out = path.join(work, 'both');
  const r = pris(['combine', dirs.ccl, dirs.pris, '--out', out, '--valid-users', '60', '--json']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  const grid = m.weight_valid as Record<string, number>;
  t.same(Object.keys(grid).map(Number).sort((a, b) => a - b), [...COMBINE_WEIGHTS], 'every weight tried');
  t.equal(grid[String(m.weight)], Math.max(...Object.values(grid)), 'the best on validation kept');
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.equal(cfg.dim, 12, 'dimension 4 + 8');
  t.equal(cfg.combined.weight, m.weight);
  t.same(cfg.combined.parts.map((p: { dim: number }) => p.dim), [4, 8]);
  t.same(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')).weight_valid, grid);

  const data = await loadDataset(ds);
  const model = await loadModel(out);
  try {
    const ev = await evaluate(model, data, { split: 'valid', k: [m.valid_k], sampleUsers: 60, sampleSeed: 3 });
    t.ok(Math.abs(ev.perK[0]!.ndcg - grid[String(m.weight)]!) < 1e-12, `the saved model scores ${ev.perK[0]!.ndcg}, reported ${grid[String(m.weight)]}`);
    t.throws(() => model.foldIn([['i1', 'i2']]), /fold-in trains a new user's vector with the model's loss, and a combined model has two/);
  } finally {
    await model.close();
  }
});

t.test('a fixed weight: 0 ranks as the first model, 1 as the second', async (t) => {
  const data = await loadDataset(ds);
  const testOf = async (dir: string) => {
    const m = await loadModel(dir);
    try {
      return (await evaluate(m, data, { k: [10] })).perK[0]!;
    } finally {
      await m.close();
    }
  };
  for (const [w, part] of [['0', dirs.cclRefit], ['1', dirs.prisRefit]] as const) {
    const out = path.join(work, `fixed-${w}`);
    const r = pris(['combine', dirs.cclRefit, dirs.prisRefit, '--out', out, '--weight', w]);
    t.equal(r.code, 0, r.stderr);
    const [got, want] = [await testOf(out), await testOf(part)];
    t.ok(Math.abs(got.ndcg - want.ndcg) < 1e-9 && Math.abs(got.recall - want.recall) < 1e-9, `weight ${w}: test ndcg ${got.ndcg} against the part's ${want.ndcg}`);
  }
});

t.test('refusals: a clear error, exit 2, nothing written', async (t) => {
  const out = path.join(work, 'never');
  const cases: [string[], RegExp][] = [
    [[dirs.cclRefit, dirs.prisRefit], /weight 'auto' is chosen on validation, and these models were trained on train\+valid/],
    [[dirs.ccl, dirs.prisRefit, '--weight', '0.5'], /the first model was trained on train and the second on train\+valid/],
    [[dirs.pris, dirs.elsewhere, '--weight', '0.5'], /the models were trained on different splits \(fingerprints/],
    [[dirs.ccl, dirs.pris, '--weight', '1.5'], /--weight must be a number between 0 and 1, or auto/],
    [[dirs.ccl, dirs.pris, '--weight', 'abc'], /--weight must be a number between 0 and 1, or auto \(got 'abc'\)/],
    [[dirs.ccl, dirs.pris, '--weight', '0.5', '--k', '10', '--seed', '2'], /--k, --seed: only with --weight auto/],
    [[dirs.ccl, dirs.pris, '--dataset', other], /the first model .* and dataset .* disagree|the first model has \d+ users/],
    [[dirs.ccl, path.join(work, 'missing'), '--weight', '0.5'], /model directory not found/],
  ];
  for (const [args, why] of cases) {
    const r = pris(['combine', ...args, '--out', out]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, why);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.notOk(existsSync(out), 'nothing written');
  }
  const self = pris(['combine', dirs.ccl, dirs.pris, '--weight', '0.5', '--out', dirs.ccl, '--force']);
  t.equal(self.code, 2);
  t.match(self.stderr, /is also an input of this command/, '--out may not be an input');
  t.ok(existsSync(path.join(dirs.ccl, 'user_embeddings.arrow')), 'the input is untouched');
  // Fold-in from the command line: the same refusal, one line.
  const folded = pris(['recommend', path.join(work, 'both'), '--items', 'i1,i2']);
  t.equal(folded.code, 2);
  t.match(folded.stderr, /a combined model has two: fold the items into each part/);
  // A directory pris did not write is never replaced.
  const mine = path.join(work, 'mine');
  mkdirSync(mine);
  writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
  const r = pris(['combine', dirs.ccl, dirs.pris, '--out', mine, '--weight', '0.5', '--force']);
  t.equal(r.code, 2);
  t.same(readdirSync(mine), ['notes.txt']);
  t.equal(readFileSync(path.join(mine, 'notes.txt'), 'utf8'), 'keep me');
});
