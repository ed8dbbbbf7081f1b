import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pris } from './helpers/cli.js';
import { buildCsr } from '../src/data/csr.js';
import { writeLightGcnLines } from '../src/experiment/c-reference.js';
import { DEFAULTS, shapeOf } from '../src/experiment/echonest-shape.js';
import { scaleCharts, scaleTable, type ScaleRow } from '../src/experiment/scale.js';

/**
 * `pris experiment scale` as a user runs it, at the smallest scale: every
 * step runs, the figures hang together, only --out is written and the
 * generated data is gone after; mistakes are one line before any work.
 */

t.test('the C loop reads the training pairs it is given: LightGCN lines round-trip the CSR', async (t) => {
  const dir = t.testdir();
  const user = Int32Array.from([0, 0, 2, 2, 2, 4]);
  const item = Int32Array.from([1, 3, 0, 2, 5, 4]);
  const csr = buildCsr(5, 6, user, item);
  const file = path.join(dir, 'train.txt');
  writeLightGcnLines(csr, file);
  const pairs = readFileSync(file, 'utf8').trim().split('\n').flatMap((line) => {
    const [u, ...items] = line.split(' ').map(Number);
    return items.map((i) => `${u}:${i}`);
  });
  t.same(pairs.sort(), Array.from(user, (u, k) => `${u}:${item[k]}`).sort(), 'the same pairs, users without items left out');
});

t.test('the table shows a dash for what was not measured, and the plots skip it', async (t) => {
  const row: ScaleRow = {
    scale: 0.01, rows: 1000, file_mib: 1, users: 10, items: 5, train_positives: 700, generate_s: 1, import_s: 2, import_peak_rss_mib: 100,
    split_s: 1, split_peak_rss_mib: 90, epochs: 3, epoch_s: 0.5, pris_pos_per_s: 1.4e6, c_pos_per_s: null, pris_over_c: null, eval_users: 10,
    eval_s: 0.25, train_peak_rss_mib: 150, shared_memory_mib: 2, train_process_s: 4,
  };
  const table = scaleTable([row]).split('\n');
  const header = table[0]!.split('|').map((s) => s.trim());
  const cells = table[2]!.split('|').map((s) => s.trim());
  t.equal(cells[header.indexOf('pris M pos/s')], '1.40');
  t.equal(cells[header.indexOf('C M pos/s')], '–');
  t.equal(cells[header.indexOf('pris / C')], '–');
  const throughput = scaleCharts([row]).find((c) => c.file === 'throughput.svg')!.chart;
  t.same(throughput.kind === 'line' ? throughput.points.map((p) => p.series) : [], ['pris']);
});

t.test('pris experiment scale at 0.01x: import, split, train and evaluate, figures consistent, data removed', async (t) => {
  const work = t.testdir();
  const out = path.join(work, 'scale');
  const r = pris(['experiment', 'scale', '--scales', '0.01', '--epochs', '2', '--test-users', '300', '--threads', '2', '--no-c-reference', '--out', out], { cwd: work });
  t.equal(r.code, 0, r.stderr);
  const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as { rows: ScaleRow[]; command: string };
  t.equal(json.rows.length, 1);
  const row = json.rows[0]!;
  const shape = shapeOf({ ...DEFAULTS, scale: 0.01 });
  t.equal(row.rows, shape.rows, 'the generated rows are the shape the generator promises');
  t.ok(row.users > 0 && row.users <= shape.users, `users ${row.users} of at most ${shape.users}`);
  t.ok(row.items > 0 && row.items <= shape.songs, `items ${row.items} of at most ${shape.songs}`);
  t.ok(row.train_positives < row.rows && row.train_positives > row.rows / 2, 'the train split holds most rows (80% less a tenth for validation)');
  t.equal(row.epochs, 2);
  t.equal(row.eval_users, 300);
  for (const k of ['import_s', 'split_s', 'epoch_s', 'eval_s', 'pris_pos_per_s', 'train_peak_rss_mib', 'shared_memory_mib'] as const) {
    t.ok(Number.isFinite(row[k]) && row[k] > 0, `${k} measured (${row[k]})`);
  }
  t.equal(row.c_pos_per_s, null, '--no-c-reference: no C column');
  t.ok(row.epoch_s * row.pris_pos_per_s > row.train_positives * 0.5 && row.epoch_s * row.pris_pos_per_s < row.train_positives * 1.5, 'an epoch walks the training positives');
  t.ok(r.stdout.includes('| 0.01 |'), 'the table is printed');
  const files = readdirSync(out).sort();
  t.same(files.filter((f) => !f.startsWith('.')), ['memory.svg', 'results.csv', 'results.json', 'seconds.svg', 'table.md', 'throughput.svg']);
  t.notOk(existsSync(path.join(out, 'work')), 'the generated triplets, dataset and model are removed');
  t.same(readdirSync(work).sort(), ['scale'], 'nothing written outside --out');
});

t.test('pris experiment scale refuses what it cannot do before any work', async (t) => {
  const work = t.testdir();
  const bad = [
    { args: ['--scales', '2'], msg: /--scales: each scale is a fraction of the full Echonest set, 0\.01 to 1 \(got 2\)/ },
    { args: ['--scales', '0.1,x'], msg: /--scales takes fractions/ },
    { args: ['--dataset', 'gowalla'], msg: /--dataset does not apply to 'pris experiment scale'/ },
    { args: ['--keep-models'], msg: /--keep-models does not apply to 'pris experiment scale': --keep-data keeps/ },
    { args: ['--verbose'], msg: /--verbose does not apply to 'pris experiment scale'/ },
  ];
  for (const b of bad) {
    const r = pris(['experiment', 'scale', ...b.args, '--out', path.join(work, 'o')], { cwd: work });
    t.equal(r.code, 2, b.args.join(' '));
    t.match(r.stderr, b.msg);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const r = pris(['experiment', 'samplers', '--dataset', 'x', '--scales', '0.1'], { cwd: work });
  t.match(r.stderr, /--scales applies only to 'pris experiment scale'/);
  for (const flag of ['--keep-data', '--no-c-reference']) {
    const s = pris(['experiment', 'samplers', '--dataset', 'x', flag], { cwd: work });
    t.equal(s.code, 2, flag);
    t.match(s.stderr, new RegExp(`${flag.replace('--no-', '--')} applies only to 'pris experiment scale'`));
  }
  t.same(readdirSync(work), [], 'nothing written');
});
