import t from 'tap';
import { DEFAULT_LR } from '../src/kernels/codes.js';
import { DEFAULTS, findOption, parseValue, resolveTrainConfig, TRAIN_OPTIONS } from '../src/train/options.js';
import { pris } from './helpers/cli.js';

t.test('defaults, derived defaults and explicit values', async (t) => {
  const c = resolveTrainConfig({ threads: 1 });
  t.equal(c.dim, DEFAULTS.dim);
  t.equal(c.lr, DEFAULT_LR[c.optimizer], 'lr follows the optimizer');
  t.equal(c.clusterSync, true, 'one thread: synchronous refreshes, reproducible');
  t.equal(resolveTrainConfig({ threads: 2 }).clusterSync, false);
  t.equal(resolveTrainConfig({ optimizer: 'adam' }).lr, DEFAULT_LR.adam);
  t.equal(resolveTrainConfig({ optimizer: 'adam', lr: 0.5 }).lr, 0.5, 'a given value wins over the derived one');
  t.ok(resolveTrainConfig({}).threads >= 1, 'threads: every core');
  const k = resolveTrainConfig({ k: [5] });
  k.k.push(9);
  t.same(resolveTrainConfig({}).k, DEFAULTS.k, 'lists are copied, never shared with the defaults');
});

t.test('every value is checked against its declaration, the flag named', async (t) => {
  t.throws(() => resolveTrainConfig({ dim: 30 }), /--dim must be a multiple of 4/);
  t.throws(() => resolveTrainConfig({ lr: -1 }), /--lr must be a number > 0 \(got -1\)/);
  t.throws(() => resolveTrainConfig({ sampler: 'nope' as never }), /--sampler must be one of uniform, popularity/);
  t.throws(() => resolveTrainConfig({ k: [] }), /--k must be a non-empty list/);
  t.throws(() => resolveTrainConfig({ bogus: 1 } as never), /unknown training option 'bogus'/);
  t.throws(() => parseValue(findOption('epochs')!, '1.5'), /--epochs must be an integer/);
  t.equal(parseValue(findOption('cluster-warm')!, 'no'), false);
  t.same(parseValue(findOption('k')!, '10,20'), [10, 20]);
  t.equal(findOption('factors')?.key, 'dim');
  t.equal(findOption('learning-rate')?.key, 'lr');
  t.equal(findOption('batchSize')?.flag, 'batch-size');
});

t.test('pris train --help lists every option of the table with its aliases', async (t) => {
  const r = pris(['train', '--help']);
  t.equal(r.code, 0);
  for (const o of TRAIN_OPTIONS) {
    t.match(r.stdout, new RegExp(`-{1,2}${o.flag}\\b`), o.flag);
    for (const a of o.aliases ?? []) t.match(r.stdout, new RegExp(`-{1,2}${a}\\b`), `${o.flag} alias ${a}`);
  }
});
