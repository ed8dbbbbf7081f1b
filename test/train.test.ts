import t from 'tap';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pris, groupedCsv } from './helpers/cli.js';
import { loadModel } from '../src/model/io.js';
import { evaluate, loadDataset, loadModel as loadPrisModel } from '../src/index.js';
import { blendFoldedRow, blendUserRows } from '../src/model/history-blend.js';
import { HISTORY_WEIGHTS } from '../src/train/options.js';

const work = mkdtempSync(path.join(tmpdir(), 'pris-train-'));
const csv = path.join(work, 'x.csv');
const ds = path.join(work, 'ds');
writeFileSync(csv, groupedCsv(240, 120, 12, 4));

t.before(() => {
  const imp = pris(['data', 'import', 'csv', csv, '--header', '--out', ds, '-q']);
  if (imp.code !== 0) throw new Error(imp.stderr);
  const sp = pris(['data', 'split', ds, '--seed', '1']);
  if (sp.code !== 0) throw new Error(sp.stderr);
});

const quick = ['--epochs', '4', '--eval-every', '2', '--dim', '8', '-q'];

function embeddings(dir: string) {
  const m = loadModel(dir).model;
  return { user: Array.from(m.user), item: Array.from(m.item) };
}

t.test('--threads 1 --seed S is bit-for-bit reproducible; another seed differs', async (t) => {
  const a = path.join(work, 'a');
  const b = path.join(work, 'b');
  const c = path.join(work, 'c');
  for (const [out, seed] of [[a, '5'], [b, '5'], [c, '6']] as const) {
    const r = pris(['train', ds, '--out', out, '--threads', '1', '--seed', seed, ...quick]);
    t.equal(r.code, 0, r.stderr);
  }
  const ea = embeddings(a);
  t.same(ea, embeddings(b), 'same seed, same embeddings');
  t.notSame(ea, embeddings(c), 'other seed, other embeddings');
});

t.test('training on two threads learns: beats its own initial state and writes metrics/config', async (t) => {
  const out = path.join(work, 'm2');
  const r = pris(['train', ds, '--out', out, '--threads', '2', '--epochs', '15', '--dim', '8', '--json', '-q']);
  t.equal(r.code, 0, r.stderr);
  const metrics = JSON.parse(r.stdout);
  const onDisk = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.same(onDisk.test, metrics.test);
  const hist = metrics.history as { loss: number }[];
  t.ok(hist.at(-1)!.loss < hist[0]!.loss, `loss decreases ${hist[0]!.loss} -> ${hist.at(-1)!.loss}`);
  t.ok(metrics.train_seconds > 0 && metrics.positives_per_second > 0);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.equal(cfg.threads, 2);
  t.equal(cfg.dim, 8);
  // Group structure is strong: a trained model ranks far better than chance (NDCG@50 of random ~ 0.1 here).
  t.ok(metrics.test['ndcg@50'] > 0.2, `ndcg@50 ${metrics.test['ndcg@50']}`);
});

t.test('invalid flags are rejected with the allowed values, before any work', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--negatives', '-1'], /--negatives must be an integer between 1 and 4096/],
    [['--dim', '0'], /--dim must be an integer between 4 and 4096/],
    [['--dim', '6'], /multiple of 4/],
    [['--sampler', 'bogus'], /Invalid values:[\s\S]*sampler[\s\S]*Choices: "uniform", "popularity"/],
    [['--loss', 'hinge'], /Choices: "pris", "sa", "bpr", "ccl"/],
    [['--lr', '0'], /--lr must be a number > 0/],
  ];
  for (const [flags, re] of cases) {
    const r = pris(['train', ds, '--out', path.join(work, 'never'), ...flags]);
    t.not(r.code, 0, flags.join(' '));
    t.match(r.stderr, re, flags.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.notOk(existsSync(path.join(work, 'never')), 'nothing written');
});

t.test('a missing dataset or split is named', async (t) => {
  const r1 = pris(['train', path.join(work, 'nope'), '--out', path.join(work, 'x')]);
  t.equal(r1.code, 2);
  t.match(r1.stderr, /dataset directory not found: .*nope/);
  const raw = path.join(work, 'raw');
  t.equal(pris(['data', 'import', 'csv', csv, '--header', '--out', raw, '-q']).code, 0);
  const r2 = pris(['train', raw, '--out', path.join(work, 'x')]);
  t.equal(r2.code, 2);
  t.match(r2.stderr, /no train split \(train\.arrow missing\)/);
  t.notMatch(r2.stderr, /\n\s+at /);
});

t.test('a diverging run stops naming the epoch and the learning rate, keeping the last good model', async (t) => {
  // With one thread and a seed the run is deterministic: this learning rate survives the first
  // epoch and blows up a few epochs later (plain SGD, no adaptive step to save it).
  const out = path.join(work, 'div');
  const r = pris(['train', ds, '--out', out, '--optimizer', 'sgd', '--lr', '1', '--dim', '8', '--epochs', '12', '--threads', '1', '--eval-every', '0', '-q']);
  t.equal(r.code, 2);
  const m = /diverged in epoch (\d+)/.exec(r.stderr);
  t.ok(m, r.stderr);
  const epoch = Number(m![1]);
  t.ok(epoch >= 2, `diverged after a good epoch (epoch ${epoch})`);
  t.match(r.stderr, /--lr 1\b/);
  t.match(r.stderr, new RegExp(`Kept the last good state, epoch ${epoch - 1}\\. Saved it to`));
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.equal(metrics.status, 'diverged');
  t.equal(metrics.kept_epoch, epoch - 1);
  t.equal(metrics.history.length, epoch, 'the history keeps every epoch run, the diverged one too');
  const e = embeddings(out);
  t.ok([...e.user, ...e.item].every(Number.isFinite), 'kept model is finite');
  const r2 = pris(['train', ds, '--out', path.join(work, 'div1'), '--optimizer', 'sgd', '--lr', '1e30', '--epochs', '3', '--threads', '1', '-q']);
  t.match(r2.stderr, /diverged in epoch 1/);
  t.notOk(existsSync(path.join(work, 'div1')), 'nothing good to keep: nothing written');
});

t.test('every sampler and optimizer trains end to end on two threads', async (t) => {
  const runs: string[][] = [
    ['--sampler', 'uniform', '--loss', 'bpr'],
    ['--sampler', 'uniform', '--loss', 'sa', '--optimizer', 'sgd'],
    ['--sampler', 'popularity', '--optimizer', 'adam', '--batch-size', '16'],
    ['--sampler', 'popularity', '--optimizer', 'adagrad', '--popularity', 'pow0.75'],
    ['--sampler', 'cluster-uniform', '--clusters', '8'],
    ['--sampler', 'cluster-popularity', '--clusters', '8', '--no-cluster-warm'],
    ['--sampler', 'cluster-uniform-joint', '--clusters', '8', '--joint-samples', '2000'],
    ['--sampler', 'cluster-popularity-joint', '--clusters', '8', '--joint-samples', '2000', '--joint-anneal'],
    ['--sampler', 'exact', '--exact-mask-top', '2'],
  ];
  for (const flags of runs) {
    const out = path.join(work, 'e2e-' + flags.join('').replace(/[^a-z0-9]/gi, ''));
    const r = pris(['train', ds, '--out', out, '--threads', '2', '--epochs', '6', '--dim', '8', '--eval-every', '3', '--json', '-q', ...flags]);
    t.equal(r.code, 0, `${flags.join(' ')}: ${r.stderr}`);
    if (r.code !== 0) continue;
    const m = JSON.parse(r.stdout);
    t.ok(m.test['ndcg@50'] > 0.15, `${flags.join(' ')}: ndcg@50 ${m.test['ndcg@50']}`);
    t.ok(m.draws_per_negative >= 1, `${flags.join(' ')}: draws per negative ${m.draws_per_negative}`);
    if (flags[1]!.startsWith('cluster')) t.ok(m.clustering.refreshes >= 1, `${flags.join(' ')}: ${m.clustering.refreshes} refreshes`);
  }
});

t.test('--loss ccl: rows stay at unit length, it learns, with sgd or adagrad-row only', async (t) => {
  const out = path.join(work, 'ccl');
  const flags = ['--loss', 'ccl', '--optimizer', 'sgd', '--sampler', 'uniform', '--negatives', '16', '--lr', '0.2', '--margin', '0.5', '--negative-weight', '8'];
  const r = pris(['train', ds, '--out', out, '--threads', '2', '--epochs', '6', '--dim', '8', '--eval-every', '3', '--json', '-q', ...flags]);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  // Chance is about 0.1 here (see above).
  t.ok(m.test['ndcg@50'] > 0.15, `ndcg@50 ${m.test['ndcg@50']}`);
  const e = embeddings(out);
  let worst = 0;
  for (const rows of [e.user, e.item]) {
    for (let o = 0; o < rows.length; o += 8) worst = Math.max(worst, Math.abs(Math.hypot(...rows.slice(o, o + 8)) - 1));
  }
  t.ok(worst < 1e-4, `every row at unit length (worst |norm - 1| ${worst})`);
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.same([cfg.loss, cfg.margin, cfg.negativeWeight], ['ccl', 0.5, 8], 'config.json records the loss and its settings');

  const bad = pris(['train', ds, '--out', path.join(work, 'never-ccl'), '--loss', 'ccl', '--optimizer', 'adam']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--loss ccl trains with --optimizer sgd or adagrad-row \(got --optimizer adam\)/);
  t.notOk(existsSync(path.join(work, 'never-ccl')), 'nothing written');
});

t.test('--history-weight: the user rows blended once trained, the weight chosen on validation with auto, fold-in alike', async (t) => {
  const run = (name: string, w: string, extra: string[] = []) => {
    const out = path.join(work, name);
    const r = pris(['train', ds, '--out', out, '--threads', '1', '--seed', '3', '--json', ...quick, '--history-weight', w, ...extra]);
    t.equal(r.code, 0, r.stderr);
    return { out, metrics: JSON.parse(r.stdout), config: JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) };
  };
  const plain = run('hw0', '0');
  const half = run('hw5', '0.5');
  const auto = run('hwauto', 'auto');
  const data = await loadDataset(ds);
  const raw = loadModel(plain.out).model;
  for (const [r, w] of [[half, 0.5], [auto, auto.config.historyWeight as number]] as const) {
    const m = loadModel(r.out).model;
    t.same(Array.from(m.item), Array.from(raw.item), `w ${w}: the item rows are the unblended run's`);
    const want = raw.user.slice();
    blendUserRows(want, raw.item, raw.dim, [data.train], w);
    t.same(Array.from(m.user), Array.from(want), `w ${w}: the user rows are the unblended run's, blended with their training items`);
  }
  // A refit knows each user by its training and validation items: it blends with both.
  const refit = ['--train-on', 'train+valid'];
  const rawRefit = loadModel(run('hwr0', '0', refit).out).model;
  const halfRefit = loadModel(run('hwr5', '0.5', refit).out).model;
  const wantRefit = rawRefit.user.slice();
  blendUserRows(wantRefit, rawRefit.item, rawRefit.dim, [data.train, data.valid], 0.5);
  t.same(Array.from(halfRefit.user), Array.from(wantRefit), 'a refit blends with train + valid');

  const scores = auto.metrics.history_weight_valid as Record<string, number>;
  t.same(Object.keys(scores).map(Number), [...HISTORY_WEIGHTS], 'auto tries every weight');
  const best = Math.max(...Object.values(scores));
  t.equal(scores[String(auto.config.historyWeight)], best, 'config.json records the best weight on validation');
  t.equal(auto.metrics.history_weight, auto.config.historyWeight);
  t.equal(half.config.historyWeight, 0.5);
  t.equal(plain.metrics.history_weight, undefined, 'w 0 reports nothing');

  // On a validation sample, auto blends only the sample for each weight it
  // tries: the score it reports for its choice is the saved model's own.
  const sampled = run('hwauto-sample', 'auto', ['--valid-users', '60']);
  // Each weight tried blends the sample only; the saved table is every row blended at the weight chosen.
  const rawSampled = loadModel(run('hw0-sample', '0', ['--valid-users', '60']).out).model;
  const wantSampled = rawSampled.user.slice();
  blendUserRows(wantSampled, rawSampled.item, rawSampled.dim, [data.train], sampled.config.historyWeight as number);
  t.not(sampled.config.historyWeight, 0, 'a weight that moves the rows was chosen');
  t.same(Array.from(loadModel(sampled.out).model.user), Array.from(wantSampled), 'every user row blended at the weight chosen, not only the sample');
  const sm = await loadPrisModel(sampled.out);
  try {
    const k = sampled.config.k[0] as number;
    const ev = await evaluate(sm, data, { split: 'valid', k: [k], sampleUsers: 60, sampleSeed: 3 });
    const chosen = (sampled.metrics.history_weight_valid as Record<string, number>)[String(sampled.config.historyWeight)]!;
    t.ok(Math.abs(ev.perK[0]!.ndcg - chosen) < 1e-12, `the saved model scores ${ev.perK[0]!.ndcg} on the sample, auto reported ${chosen}`);
  } finally {
    await sm.close();
  }

  // A new user folded in from its items gets the blend a known user got.
  const items = ['i1', 'i2', 'i3'];
  const [a, b] = await Promise.all([loadPrisModel(plain.out), loadPrisModel(half.out)]);
  try {
    const folded = a.foldIn([items], { seed: 1 });
    blendFoldedRow(folded, raw.item, items.map((id) => a.itemIds.indexOf(id)), 0.5);
    t.same(Array.from(b.foldIn([items], { seed: 1 })), Array.from(folded));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }

  for (const [flags, why] of [[['--train-on', 'train+valid'], /--history-weight auto is chosen on validation, and --train-on train\+valid does not validate/], [['--eval-every', '0'], /--eval-every 0 does not validate/]] as const) {
    const out = path.join(work, 'never-hw');
    const bad = pris(['train', ds, '--out', out, '--history-weight', 'auto', ...flags]);
    t.equal(bad.code, 2);
    t.match(bad.stderr, why);
    t.notOk(existsSync(out), 'nothing written');
  }
  t.match(pris(['train', ds, '--out', path.join(work, 'never-hw'), '--history-weight', '1.5']).stderr, /--history-weight must be a number between 0 and 1/);
});

t.test('cluster samplers with one thread (synchronous refresh) are reproducible too', async (t) => {
  const a = path.join(work, 'cpa');
  const b = path.join(work, 'cpb');
  for (const out of [a, b]) {
    const r = pris(['train', ds, '--out', out, '--threads', '1', '--seed', '3', '--sampler', 'cluster-popularity', '--clusters', '8', ...quick]);
    t.equal(r.code, 0, r.stderr);
  }
  t.same(embeddings(a), embeddings(b));
});

t.test('--train-on train+valid, --patience', async (t) => {
  const out = path.join(work, 'refit');
  const r = pris(['train', ds, '--out', out, '--train-on', 'train+valid', '--epochs', '3', '--dim', '8', '--json', '-q']);
  t.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  t.equal(m.best_epoch, undefined, 'no validation when validation is trained on');
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.equal(cfg.train_on, 'train+valid');
  const p = pris(['train', ds, '--out', path.join(work, 'pat'), '--epochs', '200', '--eval-every', '1', '--patience', '2', '--dim', '8', '--lr', '0.5', '--json', '-q']);
  t.equal(p.code, 0, p.stderr);
  const pm = JSON.parse(p.stdout);
  t.ok(pm.epochs_run < 200, `stopped early after ${pm.epochs_run} epochs`);
  t.equal(pm.epochs_run, pm.best_epoch + 2, 'two validations without improvement after the best');
});
