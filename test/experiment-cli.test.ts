import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupedCsv, prisHere } from './helpers/cli.js';

/**
 * `pris experiment` as a user runs it: a study on a tiny dataset writes only
 * under --out, its tables and plots; without the optional plotting packages
 * the CLI still starts and the study writes its tables; mistakes are one line.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const work = t.testdir();
const data = path.join(work, 'data');

/**
 * Node hooks that make `vega` and `vega-lite` unresolvable, as in an install
 * without optional dependencies (`npm install --omit=optional`).
 */
const hooks = path.join(work, 'no-vega.mjs');
const register = path.join(work, 'register.mjs');
writeFileSync(
  hooks,
  `export async function resolve(specifier, context, next) {
  if (specifier === 'vega' || specifier === 'vega-lite') {
    const e = new Error('Cannot find package ' + specifier);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}\n`,
);
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + hooks)});\n`);

function run(args: string[], opts: { cwd?: string; noVega?: boolean; script?: string } = {}) {
  const r = spawnSync(process.execPath, [...(opts.noVega ? ['--import', register] : []), opts.script ?? cli, ...args], { cwd: opts.cwd ?? work, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

t.before(async () => {
  const csv = path.join(work, 'x.csv');
  writeFileSync(csv, groupedCsv(60, 40, 6, 3));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', data, '-q'], ['data', 'split', data, '--seed', '1']]) {
    const r = await prisHere(...args);
    if (r.code !== 0) throw new Error(r.err);
  }
});

t.test('a study writes its tables and plots under --out and nothing else', async (t) => {
  const cwd = t.testdir({});
  const r = run(['experiment', 'losses', '--dataset', data, '--epochs', '2', '--skip', 'SA,BPR', '--set', 'dim=8', '--set', 'clusters=4', '--set', 'PRIS-U:reg=0.05', '--threads', '1', '--out', 'study'], { cwd });
  t.equal(r.code, 0, r.err);
  t.same(readdirSync(cwd), ['study'], 'only --out in the working directory');
  const files = readdirSync(path.join(cwd, 'study')).filter((f) => !f.startsWith('.'));
  t.same(files.sort(), ['history.csv', 'ndcg.svg', 'recall.svg', 'results.csv', 'results.json', 'table.md'], 'no models kept');
  t.match(r.out, /^\| configuration \| NDCG@50/, 'the table on stdout');
  const results = JSON.parse(readFileSync(path.join(cwd, 'study', 'results.json'), 'utf8'));
  t.match(results.command, /^pris experiment losses --dataset .* --set PRIS-U:reg=0.05 --threads 1 --out study$/, 'the command recorded as typed');
  t.same(results.runs.map((x: { status: string }) => x.status), ['ok', 'ok']);
  t.same(results.runs.map((x: { name: string; config: { reg: number; dim: number } }) => [x.name, x.config.dim, x.config.reg > 0.04]), [
    [results.runs[0].name, 8, false],
    ['PRIS-U', 8, true],
  ]);
  t.match(readFileSync(path.join(cwd, 'study', 'ndcg.svg'), 'utf8'), /^<svg/);
  // Refused without --force, rewritten from results.json with another paper column.
  const again = run(['experiment', 'losses', '--dataset', data, '--epochs', '1', '--out', 'study'], { cwd });
  t.equal(again.code, 2);
  t.match(again.err, /already holds a study's results written by pris; give --force/);
  const rep = run(['experiment', 'report', 'study', '--paper', 'gowalla'], { cwd });
  t.equal(rep.code, 0, rep.err);
  t.match(rep.out, /paper NDCG@50/);
  t.match(readFileSync(path.join(cwd, 'study', 'table.md'), 'utf8'), /Gowalla values/);
});

t.test('the lightgcn study refits each configuration on train + valid for its best validated epoch', async (t) => {
  const cwd = t.testdir({});
  const r = run(['experiment', 'lightgcn', '--dataset', data, '--epochs', '6', '--skip', 'd=128,d=128 L=10 reg=0.01,d=64 joint,d=64 ccl', '--set', 'eval-every=1', '--set', 'patience=0', '--threads', '1', '--out', 'lg'], { cwd });
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^\| configuration \| NDCG@20 \| Recall@20 .*\| validated run SGD s \|/, 'the protocol\'s cutoff, and the seconds of both runs');
  const [run0] = JSON.parse(readFileSync(path.join(cwd, 'lg', 'results.json'), 'utf8')).runs;
  const m = run0.metrics;
  t.equal(run0.status, 'ok');
  t.ok(m.best_epoch >= 1 && m.best_epoch <= 6, `best validated epoch ${m.best_epoch}`);
  t.equal(m.epochs_run, m.best_epoch, 'the refit ran exactly the chosen epochs');
  t.equal(m.history.length, 6, 'the history is the validated run\'s');
  t.ok(m.selection_seconds > 0 && m.valid['ndcg@20'] > 0);
});

t.test('the lightgcn study combines its ccl and PRIS configurations: the weight on their validated models, the refits combined and tested', async (t) => {
  const cwd = t.testdir({});
  // ccl draws 256 negatives: a catalogue larger than that.
  const big = path.join(cwd, 'big');
  writeFileSync(path.join(cwd, 'big.csv'), groupedCsv(200, 400, 12, 3));
  for (const args of [['data', 'import', 'csv', path.join(cwd, 'big.csv'), '--header', '--out', big, '-q'], ['data', 'split', big, '--seed', '1']]) {
    const x = await prisHere(...args);
    t.equal(x.code, 0, x.err);
  }
  const r = run(['experiment', 'lightgcn', '--dataset', big, '--epochs', '4', '--skip', 'd=64,d=128,d=64 joint,d=64 ccl', '--set', 'eval-every=1', '--set', 'patience=0', '--threads', '1', '--keep-models', '--out', 'lg'], { cwd });
  t.equal(r.code, 0, r.err);
  const runs = JSON.parse(readFileSync(path.join(cwd, 'lg', 'results.json'), 'utf8')).runs;
  t.same(runs.map((x: { name: string }) => x.name), ['d=128 L=10 reg=0.01', 'd=128 ccl', 'd=128 ccl+pris']);
  const [pris, ccl, both] = runs;
  t.equal(both.status, 'ok', both.error);
  t.equal(both.config.dim, 256, 'the combined dimension');
  t.equal(both.metrics.train_seconds, pris.metrics.train_seconds + ccl.metrics.train_seconds, "the parts' SGD seconds");
  // The weight: the best on the validated pair (its grid is in the validated combination's metrics.json).
  const models = path.join(cwd, 'lg', 'models');
  const grid = JSON.parse(readFileSync(path.join(models, 'run-3-valid', 'metrics.json'), 'utf8')).weight_valid as Record<string, number>;
  t.equal(grid[String(both.metrics.combine_weight)], Math.max(...Object.values(grid)));
  t.equal(both.metrics.valid['ndcg@20'], grid[String(both.metrics.combine_weight)]);
  // The tested model combines the refits with that weight.
  const cfg = JSON.parse(readFileSync(path.join(models, 'run-3', 'config.json'), 'utf8'));
  t.equal(cfg.combined.weight, both.metrics.combine_weight);
  t.same(cfg.combined.parts.map((p: { config: { trainOn: string; loss: string } }) => [p.config.loss, p.config.trainOn]), [['ccl', 'train+valid'], ['pris', 'train+valid']]);
  const ev = run(['evaluate', path.join(models, 'run-3'), big, '--k', '20,50', '--json']);
  t.equal(ev.code, 0, ev.err);
  const m = JSON.parse(ev.out).metrics;
  t.equal(both.metrics.test['ndcg@20'], m['ndcg@20'], 'the test figures are the saved model\'s');
  t.equal(both.metrics.test['recall@50'], m['recall@50']);
});

t.test('without vega and vega-lite the CLI starts, and a study writes its tables without plots', async (t) => {
  const help = run(['--help'], { noVega: true });
  t.equal(help.code, 0, help.err);
  t.match(help.out, /experiment <study>/);
  const out = path.join(work, 'no-plots');
  const r = run(['experiment', 'losses', '--dataset', data, '--epochs', '1', '--skip', 'SA,BPR,PRIS-U', '--set', 'clusters=4', '--threads', '1', '--out', out], { noVega: true });
  t.equal(r.code, 0, r.err);
  t.match(r.err, /note: no plots will be drawn: the plotting packages vega and vega-lite are not installed .*npm install vega vega-lite/);
  t.notOk(readdirSync(out).some((f) => f.endsWith('.svg')), 'no plots');
  t.match(readFileSync(path.join(out, 'table.md'), 'utf8'), /No plots: the plotting packages vega and vega-lite are not installed/);
});

t.test('scripts/experiment.js is an alias of pris experiment', async (t) => {
  const r = run(['--help'], { script: path.join(root, 'dist', 'scripts', 'experiment.js') });
  t.equal(r.code, 0);
  t.match(r.out, /pris experiment <study> --dataset/);
  const bad = run(['samplers', '--dataset', data, '--epochs', 'x'], { script: path.join(root, 'dist', 'scripts', 'experiment.js') });
  t.equal(bad.code, 2);
  t.match(bad.err, /^pris: --epochs must be an integer >= 1 \(got 'x'\)\n$/);
});

t.test('mistakes are one line, exit 2, before anything is written', async (t) => {
  const out = path.join(work, 'never');
  const cases: [string[], RegExp][] = [
    [['experiment', 'samplerz', '--dataset', data], /Invalid values:[\s\S]*study/],
    [['experiment', 'samplers'], /--dataset is required/],
    [['experiment', 'samplers', '--dataset', data, '--datset', 'x'], /Unknown argument: datset/],
    [['experiment', 'samplers', '--dataset', data, '--epochs', '0', '--out', out], /--epochs must be an integer >= 1 \(got '0'\)/],
    [['experiment', 'samplers', '--dataset', data, '--threads', '1,2', '--out', out], /--threads takes one number \(a list only for the threads study\)/],
    [['experiment', 'samplers', '--dataset', data, '--set', 'lr=fast', '--out', out], /--set lr=fast: --lr must be a number/],
    [['experiment', 'samplers', '--dataset', data, '--skip', 'exakt', '--out', out], /--skip exakt: no configuration/],
    [['experiment', 'samplers', '--dataset', data, '--paper', 'netflix', '--out', out], /--paper must be one of/],
    [['experiment', 'samplers', '--dataset', path.join(work, 'nowhere'), '--out', out], /--dataset .*nowhere: no such directory, and not one of the known datasets/],
    [['experiment', 'samplers', '--dataset', data, '--out', out, '--out', out], /--out was given 2 times/],
    [['experiment', 'samplers', 'extra', '--dataset', data], /unexpected argument 'extra'/],
    [['experiment', 'report'], /name the output directory of a study/],
    [['experiment', 'report', out, '--epochs', '3'], /--epochs does not apply to 'pris experiment report'/],
    [['experiment', 'samplers', '--dataset', data, '--out', data], /is also an input of this command/],
  ];
  for (const [args, message] of cases) {
    const r = await prisHere(...args);
    t.equal(r.code, 2, `exit 2: ${args.slice(1).join(' ')}`);
    t.match(r.err, message, args.slice(1).join(' '));
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  t.notOk(existsSync(out), 'nothing written');
});
