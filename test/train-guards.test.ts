import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { groupedCsv, pris } from './helpers/cli.js';
import { checkAgainstData, checkResources, planResources, type DataShape } from '../src/train/resources.js';
import { resolveAgainstData, resolveTrainConfig, type TrainConfig } from '../src/train/options.js';
import { UserError } from '../src/errors.js';

const work = mkdtempSync(path.join(tmpdir(), 'pris-guards-'));

function dataset(name: string, csv: string, split: string[] = []): string {
  const file = path.join(work, `${name}.csv`);
  writeFileSync(file, csv);
  const dir = path.join(work, name);
  for (const args of [['data', 'import', 'csv', file, '--header', '--out', dir, '-q'], ['data', 'split', dir, '--seed', '1', ...split]]) {
    const r = pris(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  return dir;
}

const ds = dataset('g', groupedCsv(240, 120, 12, 4));
const quick = ['--epochs', '3', '--dim', '8', '-q'];

t.test('options that cannot fit the data are refused before any work, naming the figure', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--negatives', '120'], /--negatives 120 is not below the 120 items/],
    [['--negatives', '100000'], /must be an integer between 1 and 4096/],
    [['--sampler', 'cluster-uniform', '--clusters', '121'], /--clusters 121 is more than the 120 items/],
    [['--sampler', 'exact', '--exact-mask-top', '5000'], /--exact-mask-top 5000 would mask every item/],
    [['--dim', '100000'], /--dim must be an integer between 4 and 4096/],
  ];
  for (const [flags, re] of cases) {
    const out = path.join(work, 'never');
    const r = pris(['train', ds, '--out', out, ...flags]);
    t.equal(r.code, 2, flags.join(' '));
    t.match(r.stderr, re, flags.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.notOk(existsSync(out), 'nothing written');
  }
});

t.test('--threads above the cores is lowered to them with one line saying so', async (t) => {
  const r = pris(['train', ds, '--out', path.join(work, 'threads'), '--threads', '1000', ...quick]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /note: --threads 1000 is more than the \d+ cores of this machine; using \d+/);
  const cfg = JSON.parse(readFileSync(path.join(work, 'threads', 'config.json'), 'utf8'));
  t.ok(cfg.threads <= 64 && cfg.threads >= 1, `config records the threads used (${cfg.threads})`);
});

t.test('a run that trains nothing fails instead of saving the initial model', async (t) => {
  // Every user has both items: no negative can be drawn for anyone.
  const lines = ['user,item'];
  for (let u = 0; u < 30; u++) lines.push(`u${u},a`, `u${u},b`);
  const both = dataset('both', lines.join('\n') + '\n', ['--test-fraction', '0', '--valid-fraction', '0']);
  const out = path.join(work, 'nothing');
  const r = pris(['train', both, '--out', out, '--negatives', '1', ...quick]);
  t.equal(r.code, 2);
  t.match(r.stderr, /no positive was trained in epoch 1: all 30 users with training items were skipped/);
  t.notOk(existsSync(path.join(out, 'user_embeddings.arrow')), 'no model saved');
  // A one-item catalogue cannot even offer one negative.
  const one = dataset('one', 'user,item\nu1,a\nu2,a\nu3,a\n', ['--test-fraction', '0']);
  const r1 = pris(['train', one, '--out', path.join(work, 'one-model'), '--negatives', '1', ...quick]);
  t.equal(r1.code, 2);
  t.match(r1.stderr, /--negatives 1 is not below the 1 items/);
});

t.test('divergence keeps the best validated state, not the last finite one; a loss grown a hundredfold is divergence', async (t) => {
  const out = path.join(work, 'div');
  // Plain SGD at lr 1 blows up on this data with the popularity sampler; patience 0 lets it get there.
  const r = pris(['train', ds, '--out', out, '--optimizer', 'sgd', '--lr', '1', '--epochs', '12', '--threads', '1', '--eval-every', '1', '--dim', '8', '--sampler', 'popularity', '--reg', '0.02', '--patience', '0', '-q']);
  t.equal(r.code, 2);
  t.match(r.stderr, /diverged in epoch \d+/);
  t.match(r.stderr, /Kept the best validated state, epoch (\d+)/);
  const m = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.equal(m.status, 'diverged');
  const validated = (m.history as { epoch: number; valid?: number }[]).filter((h) => h.valid !== undefined);
  const best = validated.reduce((a, b) => (b.valid! > a.valid! ? b : a));
  t.equal(m.kept_epoch, best.epoch, `kept epoch ${m.kept_epoch} is the best validated one`);
  t.equal(m.best_epoch, best.epoch);
  const big = pris(['train', ds, '--out', path.join(work, 'div2'), '--optimizer', 'adagrad', '--lr', '1e9', '--epochs', '6', '--threads', '1', '--dim', '8', '-q']);
  t.equal(big.code, 2, 'adagrad at --lr 1e9 does not end "ok"');
  t.match(big.stderr, /diverged in epoch \d+: the loss (became|grew to)/);
});

t.test('a split without test rows trains and says there is nothing to test', async (t) => {
  const noTest = dataset('notest', groupedCsv(120, 60, 10, 3), ['--test-fraction', '0']);
  const r = pris(['train', noTest, '--out', path.join(work, 'nt'), ...quick, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /has no test interactions: no test metrics/);
  const m = JSON.parse(r.stdout);
  t.equal(m.test, null, 'no metrics of 0.0000 for a test set that does not exist');
  t.equal(m.test_status, 'no test split');
});

t.test('the memory plan refuses a run beyond 4 GiB of shared memory or the free memory, with the figures', async (t) => {
  // The Echonest taste profile's shape.
  const echonest: DataShape = { nUsers: 1_019_318, nItems: 384_546, train: 38_700_000, valid: 4_300_000, test: 9_700_000, maxUserItems: 4_400 };
  const at = (c: Partial<TrainConfig>) => resolveAgainstData(resolveTrainConfig(c), echonest);
  const ok = planResources(echonest, at({ threads: 2 }));
  t.ok(ok.arenaBytes < 2 ** 31, `defaults at Echonest size: ${(ok.arenaBytes / 2 ** 30).toFixed(2)} GiB of arena`);
  t.doesNotThrow(() => checkResources(ok, at({ threads: 2 }), 24 * 2 ** 30));
  const wide = at({ threads: 2, dim: 1024 });
  const p = planResources(echonest, wide);
  t.ok(p.arenaBytes > 2 ** 32);
  t.throws(() => checkResources(p, wide, 1e15), /needs \d+\.\d+ GiB of shared memory, more than the 4 GiB .*lower --dim \(1024\)/);
  t.throws(() => checkResources(ok, at({ threads: 2 }), 2 ** 28), /needs about \d+\.\d+ GiB of memory but only 0\.25 GiB is available/);
  // Each part grows with what it should: the embeddings with d, adam's moments double them.
  const adam = planResources(echonest, at({ threads: 2, optimizer: 'adam' }));
  t.equal(adam.arena.optimizer_state, 2 * ok.arena.embeddings!);
  // --history-weight auto keeps a copy of the user rows while it tries weights.
  const auto = planResources(echonest, at({ threads: 2, historyWeight: 'auto' }));
  t.equal(auto.totalBytes - ok.totalBytes, echonest.nUsers * 64 * 4);
  t.throws(() => checkAgainstData({ ...echonest, train: 0 }, at({})), UserError);
});
