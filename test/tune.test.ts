import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { groupedCsv, prisHere } from './helpers/cli.js';
import { TuneSearch, tune, type TrialResult, type TuneSettings, type TuneSpace } from '../src/experiment/tune.js';
import { trainFlags, trialsCsv } from '../src/experiment/tune-report.js';
import { findOption, parseValue, resolveTrainConfig } from '../src/train/options.js';
import { parseBudget } from '../src/cli/tune.js';
import { isUserError } from '../src/errors.js';

/**
 * pris tune: the search against objectives whose best is known (no
 * training), the budget with a clock of our own, then the command on a tiny
 * dataset: its table and files, reproducible with --threads 1, and the
 * printed pris train command giving the best trial's validation figure.
 */

const space = (o: Partial<TuneSpace> = {}): TuneSpace => ({ lr: [0.1], reg: [0.02], dim: [32], sampler: ['popularity'], ...o });

/** Runs the search to its end against `score`; returns the proposals in order. */
function drive(search: TuneSearch, score: (s: TuneSettings) => number | undefined, max = 500): TuneSettings[] {
  const seen: TuneSettings[] = [];
  for (let p = search.next(); p && seen.length < max; p = search.next()) {
    seen.push(p.settings);
    search.report(p.settings, score(p.settings));
  }
  return seen;
}

/** A smooth peak on a log scale at (lr*, reg*). */
const peak = (lr: number, reg: number) => (s: TuneSettings) => -(Math.log(s.lr / lr) ** 2) - Math.log(s.reg / reg) ** 2;

t.test('the compass search walks to the peak and ends at the smallest step', async (t) => {
  const search = new TuneSearch(space());
  const seen = drive(search, peak(0.4, 0.005));
  t.same(seen[0], { lr: 0.1, reg: 0.02, dim: 32, sampler: 'popularity' }, 'the defaults first');
  t.same(seen.slice(1, 5).map((s) => [s.lr, s.reg]), [[0.4, 0.02], [0.025, 0.02], [0.1, 0.08], [0.1, 0.005]], 'then x4 and /4 along each axis');
  t.same(search.leader?.settings, { lr: 0.4, reg: 0.005, dim: 32, sampler: 'popularity' }, 'the peak found');
  t.equal(new Set(seen.map((s) => `${s.lr}|${s.reg}`)).size, seen.length, 'no settings tried twice');
  const last = seen.slice(-4).map((s) => [s.lr, s.reg]);
  t.same(last, [[0.566, 0.005], [0.283, 0.005], [0.4, 0.00707], [0.4, 0.00354]], 'the last round at x1.41, rounded to 3 digits');
  t.ok(seen.length < 30, `a bounded number of trials (${seen.length})`);
  // A peak between grid points: the search ends within a step of x1.41 of it.
  const off = new TuneSearch(space());
  drive(off, peak(0.23, 0.011));
  const best = off.leader!.settings;
  t.ok(Math.abs(Math.log(best.lr / 0.23)) <= Math.log(Math.SQRT2) && Math.abs(Math.log(best.reg / 0.011)) <= Math.log(Math.SQRT2), `close to the peak: lr ${best.lr}, reg ${best.reg}`);
});

t.test('start values as a grid, candidates at the best, reg 0 without neighbours, failures never win', async (t) => {
  const grid = new TuneSearch(space({ lr: [0.05, 0.2], reg: [0.01, 0.04], dim: [16, 32], sampler: ['popularity', 'uniform'] }));
  const seen = drive(grid, (s) => peak(0.2, 0.01)(s) + (s.dim === 32 ? 1 : 0) + (s.sampler === 'uniform' ? 1 : 0));
  t.same(seen.slice(0, 4).map((s) => [s.lr, s.reg, s.dim, s.sampler]), [[0.05, 0.01, 16, 'popularity'], [0.05, 0.04, 16, 'popularity'], [0.2, 0.01, 16, 'popularity'], [0.2, 0.04, 16, 'popularity']], 'every pair of start values at the first dim and sampler');
  t.same(seen.slice(4, 7).map((s) => [s.lr, s.reg, s.dim, s.sampler]), [[0.2, 0.01, 16, 'uniform'], [0.2, 0.01, 32, 'popularity'], [0.2, 0.01, 32, 'uniform']], 'then the other candidates at the best lr and reg');
  t.same(seen[7], { lr: 0.4, reg: 0.01, dim: 32, sampler: 'uniform' }, 'refinement around the best candidate, at half the start values\' ratio (x2)');
  t.same(grid.leader?.settings, { lr: 0.2, reg: 0.01, dim: 32, sampler: 'uniform' });

  const zero = new TuneSearch(space({ reg: [0] }));
  t.ok(drive(zero, () => 1).every((s) => s.reg === 0), 'no neighbours of reg 0');

  const failing = new TuneSearch(space());
  drive(failing, (s) => (s.lr > 0.3 ? undefined : -s.lr));
  t.ok(failing.leader!.settings.lr < 0.3, 'a trial without a validation (diverged) is never the best');
});

/** A fake trial: `seconds` on the fake clock, a score from `f`. */
function fakeTrials(f: (s: TrainConfigLike) => number | undefined, seconds: number, clock: { t: number }, status: TrialResult['status'] = 'ok') {
  return async (c: TrainConfigLike): Promise<TrialResult> => {
    clock.t += seconds;
    const score = f(c);
    return { score, bestEpoch: 1, epochs: 2, seconds, status: score === undefined ? 'diverged' : status };
  };
}
type TrainConfigLike = { lr: number; reg: number | 'auto' };

t.test('the budget: a trial starts while at least half the median trial is left', async (t) => {
  const clock = { t: 0 };
  const r = await tune(undefined, { fixed: {}, space: space(), budgetSeconds: 34, now: () => clock.t, runTrial: fakeTrials((c) => -c.lr, 10, clock) });
  t.equal(r.trials.length, 3, '10 s trials in 34 s: the fourth would start with 4 s left');
  t.equal(r.stopped, 'budget');
  clock.t = 0;
  const r2 = await tune(undefined, { fixed: {}, space: space(), budgetSeconds: 35, now: () => clock.t, runTrial: fakeTrials((c) => -c.lr, 10, clock) });
  t.equal(r2.trials.length, 4, 'with 5 s left (half the median) the fourth starts');
  const capped = await tune(undefined, { fixed: {}, space: space(), budgetSeconds: 1e6, maxTrials: 4, now: () => clock.t, runTrial: fakeTrials((c) => -c.lr, 1, clock) });
  t.equal(capped.trials.length, 4);
  t.equal(capped.stopped, 'trials');
  t.equal(capped.best?.settings.lr, 0.025, 'the best of the four');
  t.equal(capped.bestConfig?.lr, 0.025, 'its whole configuration');
  const diverged = await tune(undefined, { fixed: {}, space: space(), budgetSeconds: 1e6, maxTrials: 3, now: () => clock.t, runTrial: fakeTrials((c) => (c.lr > 0.2 ? undefined : c.lr), 1, clock) });
  t.equal(diverged.trials[1]!.status, 'diverged');
  t.equal(diverged.best?.settings.lr, 0.1, 'a diverged trial is not the best');
});

t.test('a trial still running at the deadline is stopped and kept', async (t) => {
  const r = await tune(undefined, {
    fixed: {},
    space: space(),
    budgetSeconds: 0.2,
    runTrial: (_c, signal) => new Promise((done) => signal.addEventListener('abort', () => done({ score: 0.3, bestEpoch: 4, epochs: 5, seconds: 0.2, status: 'budget' }))),
  });
  t.equal(r.trials.length, 1);
  t.equal(r.stopped, 'budget');
  t.equal(r.best?.score, 0.3, 'what it validated counts');
});

t.test('report text: the pris train flags of a configuration, the CSV', async (t) => {
  const c = resolveTrainConfig({ lr: 0.2, reg: 0.05, dim: 64, epochs: 30, patience: 3, threads: 2, clusterWarm: false, k: [20, 50] });
  const flags = trainFlags(c, false);
  t.same(flags.slice(0, 8), ['--dim', '64', '--sampler', c.sampler, '--lr', '0.2', '--reg', '0.05'], 'the searched settings always, in the table\'s order');
  // Read back as pris train would: the same configuration.
  const back: Record<string, unknown> = {};
  for (let i = 0; i < flags.length; i++) {
    const name = flags[i]!.replace(/^--(no-)?/, '');
    const o = findOption(name)!;
    if (o.type === 'boolean') back[o.key] = !flags[i]!.startsWith('--no-');
    else back[o.key] = parseValue(o, flags[++i]!);
  }
  t.same(resolveTrainConfig({ ...back, threads: 2 }), c, 'pris train with these flags runs the same configuration');
  t.notOk(flags.includes('--threads'), 'the threads of this machine are left out');
  t.match(trainFlags(c, true).join(' '), /--threads 2/, 'and kept when asked');
  const csv = trialsCsv([{ trial: 1, phase: 'start', settings: { lr: 0.1, reg: 0.02, dim: 32, sampler: 'popularity' }, score: 0.25, bestEpoch: 5, epochs: 8, seconds: 1.5, status: 'ok' }], 20);
  t.equal(csv, 'trial,phase,lr,reg,dim,sampler,valid_ndcg@20,best_epoch,epochs,seconds,status\n1,start,0.1,0.02,32,popularity,0.25,5,8,1.500,ok\n');
});

t.test('--budget', async (t) => {
  t.equal(parseBudget('90s'), 90);
  t.equal(parseBudget('10m'), 600);
  t.equal(parseBudget('1h30m'), 5400);
  t.equal(parseBudget('0.5h'), 1800);
  for (const bad of ['10', '', '10 minutes', '0s', '8d', 'm']) {
    try {
      parseBudget(bad);
      t.fail(`accepted: '${bad}'`);
    } catch (e) {
      t.ok(isUserError(e) && /--budget/.test((e as Error).message), `refused: '${bad}'`);
    }
  }
});

t.test('pris tune on a tiny dataset: table, files, reproducible, and the best trial retrained by the printed command', async (t) => {
  const dir = t.testdir();
  const csv = path.join(dir, 'x.csv');
  const data = path.join(dir, 'data');
  writeFileSync(csv, groupedCsv(80, 40, 8, 4));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', data, '-q'], ['data', 'split', data, '--seed', '1']]) t.equal((await prisHere(...args)).code, 0);
  const args = (out: string) => ['tune', data, '--budget', '10m', '--trials', '3', '--threads', '1', '--epochs', '3', '--eval-every', '1', '--dim', '8', '--reg', '0.01,0.04', '--out', out, '-q'];
  const a = await prisHere(...args(path.join(dir, 'a')));
  t.equal(a.code, 0, a.err);
  const lines = a.out.split('\n');
  t.match(lines[0], /^trial\s+lr\s+reg\s+valid NDCG@50\s+best epoch\s+epochs\s+seconds\s+status$/);
  t.equal(lines.filter((l) => /^\s*\*?\d+\s+0\./.test(l)).length, 3, 'three trials');
  t.match(a.out, /stopped: --trials 3 reached; trials in /);
  const json = JSON.parse(readFileSync(path.join(dir, 'a', 'trials.json'), 'utf8'));
  t.equal(json.trials.length, 3);
  t.same(json.trials.slice(0, 2).map((x: { settings: TuneSettings }) => x.settings.reg), [0.01, 0.04], 'the start values');
  t.equal(readFileSync(path.join(dir, 'a', 'trials.csv'), 'utf8').trimEnd().split('\n').length, 4);
  t.match(json.train_command, /^pris train .* --out models\/data-tuned --dim 8 --sampler \S+ --lr \S+ --reg \S+ --epochs 3 --eval-every 1 (--patience \d+ )?--threads 1$/);
  t.match(a.out, new RegExp(`best: trial ${json.best.trial}, valid NDCG@50 ${json.best.score.toFixed(4)}; train it with:\\n  pris train `));

  const b = await prisHere(...args(path.join(dir, 'b')));
  t.equal(b.code, 0, b.err);
  const again = JSON.parse(readFileSync(path.join(dir, 'b', 'trials.json'), 'utf8'));
  t.same(again.trials.map((x: { settings: unknown; score: number }) => [x.settings, x.score]), json.trials.map((x: { settings: unknown; score: number }) => [x.settings, x.score]), 'the same trials and scores with --threads 1');

  // The printed command trains the best trial again: the same validation figure, to the bit.
  const cmd = (json.train_command as string).split(' ').slice(1);
  const model = path.join(dir, 'best-model');
  cmd[cmd.indexOf('--out') + 1] = model;
  const train = await prisHere(...cmd, '-q');
  t.equal(train.code, 0, train.err);
  const metrics = JSON.parse(readFileSync(path.join(model, 'metrics.json'), 'utf8'));
  t.equal(metrics.valid['ndcg@50'], json.best.score, 'pris train reaches the best trial\'s validation NDCG');
});

t.test('mistakes: one line, exit 2, before any trial', async (t) => {
  const dir = t.testdir();
  const csv = path.join(dir, 'x.csv');
  const data = path.join(dir, 'data');
  const nosplit = path.join(dir, 'nosplit');
  writeFileSync(csv, groupedCsv(20, 20, 5, 2));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', data, '-q'], ['data', 'split', data, '--seed', '1'], ['data', 'import', 'csv', csv, '--header', '--out', nosplit, '-q'], ['data', 'split', nosplit, '--seed', '1', '--valid-fraction', '0']]) {
    t.equal((await prisHere(...args)).code, 0, args.join(' '));
  }
  const cases: [string[], RegExp][] = [
    [['tune', data, '--budget', '10'], /--budget takes a duration with units: 90s, 10m, 1h30m \(got '10'\)/],
    [['tune', data, '--lr', '0.1,fast'], /--lr must be a number \(got 'fast'\)/],
    [['tune', data, '--dim', '8,10'], /--dim must be a multiple of 4/],
    [['tune', data, '--sampler', 'popularity,clever'], /--sampler must be one of uniform, popularity/],
    [['tune', data, '--trials', '0'], /--trials must be an integer >= 1/],
    [['tune', data, '--train-on', 'train+valid'], /--train-on train\+valid leaves nothing to validate on/],
    [['tune', data, '--eval-every', '0'], /--eval-every 0 turns validation off/],
    [['tune', nosplit], /has no validation split/],
    [['tune', data, '--out', data], /is also an input of this command/],
    [['tune', data, '--negatives', '0'], /--negatives must be an integer between 1 and/],
  ];
  for (const [args, message] of cases) {
    const r = await prisHere(...args, '-q');
    t.equal(r.code, 2, `exit 2: ${args.slice(2).join(' ')}`);
    t.match(r.err, message, args.slice(2).join(' '));
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
    t.equal(r.out, '', 'no trial ran');
  }
});
