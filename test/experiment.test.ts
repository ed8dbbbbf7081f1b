import t, { type Test } from 'tap';
import { DEFAULTS } from '../src/train/options.js';
import { defaultThreads } from '../src/pool/pool.js';
import { isUserError } from '../src/errors.js';
import { CONFIG_KEYS, parseSet, resolveConfig, shadowedSets, type SetOverride } from '../src/experiment/config.js';
import { historyCsv, markdownTable, resultsCsv, setupLine, studyCharts } from '../src/experiment/report.js';
import { planRuns, type PlannedRun, type RunRecord } from '../src/experiment/run.js';
import { BEST_SAMPLER, BEST_SERIES, getStudy, studyRuns, threadSweep, type StudyName } from '../src/experiment/studies.js';
import { SAMPLER_KINDS } from '../src/samplers/index.js';
import { defaultPaperDataset, parsePaperDataset, paperValue } from '../src/experiment/paper.js';

/** Study definitions, config layering and the text writers: no training here. */

const userError = (t: Test, f: () => unknown, pattern: RegExp) => {
  try {
    f();
    t.fail(`expected a UserError matching ${pattern}`);
  } catch (e) {
    t.ok(isUserError(e), 'a UserError');
    t.match((e as Error).message, pattern);
  }
};

function plan(name: StudyName, o: { sets?: string[]; seeds?: number[]; threads?: number[]; skip?: string[]; epochs?: number } = {}): PlannedRun[] {
  const study = getStudy(name);
  const threads = o.threads ?? [2];
  const specs = studyRuns(study, { threads }, o.skip);
  return planRuns(study, specs, { seeds: o.seeds ?? [1], threads: threads.at(-1)!, flags: o.epochs ? { epochs: o.epochs } : {}, sets: (o.sets ?? []).map(parseSet) });
}

t.test('unknown study', async (t) => {
  userError(t, () => getStudy('samplerz'), /unknown study 'samplerz' \(known: samplers, losses, negatives, dim, clusters, threads, optimizers, lightgcn\)/);
});

t.test('samplers: every sampler with the PRIS loss and its Table 3 row; --skip exact', async (t) => {
  const runs = plan('samplers');
  t.same(runs.map((r) => r.config.sampler), [...SAMPLER_KINDS]);
  t.ok(runs.every((r) => r.config.loss === 'pris'));
  const rows: Record<string, string> = { uniform: 'U', popularity: 'P', 'cluster-uniform': 'CU', 'cluster-popularity': 'CP', 'cluster-uniform-joint': 'CUJ', 'cluster-popularity-joint': 'CPJ', exact: 'Exact' };
  t.same(runs.map((r) => r.spec.paper?.row), SAMPLER_KINDS.map((k) => rows[k]));
  t.same(plan('samplers', { skip: ['exact'] }).map((r) => r.spec.name), SAMPLER_KINDS.filter((k) => k !== 'exact'));
  userError(t, () => plan('samplers', { skip: ['exakt'] }), /--skip exakt: no configuration/);
});

t.test('lightgcn: each combination of two configurations is planned after them and skipped with either', async (t) => {
  const names = plan('lightgcn').map((r) => r.spec.name);
  for (const [c, parts] of [['d=64 ccl+pris', ['d=64 ccl', 'd=64']], ['d=128 ccl+pris', ['d=128 ccl', 'd=128 L=10 reg=0.01']]] as const) {
    t.ok(parts.every((p) => names.indexOf(c) > names.indexOf(p) && names.includes(p)), names.join(', '));
    t.same(plan('lightgcn').find((r) => r.spec.name === c)!.spec.combine, parts);
    for (const p of parts) t.notOk(plan('lightgcn', { skip: [p] }).some((r) => r.spec.name === c), `${p} skipped: ${c} too`);
  }
  t.ok(plan('lightgcn', { skip: ['d=64'] }).some((r) => r.spec.name === 'd=128 ccl+pris'), 'another part skipped: kept');
});

t.test('losses: PRIS with the best sampler, PRIS-U, SA and BPR at the same budget', async (t) => {
  const runs = plan('losses', { epochs: 7 });
  t.same(runs.map((r) => [r.spec.name, r.config.loss, r.config.sampler]), [
    [BEST_SERIES, 'pris', BEST_SAMPLER],
    ['PRIS-U', 'pris', 'uniform'],
    ['SA', 'sa', 'uniform'],
    ['BPR', 'bpr', 'uniform'],
  ]);
  t.ok(runs.every((r) => r.config.epochs === 7 && r.config.negatives === 5 && r.config.dim === DEFAULTS.dim));
  t.same(runs.map((r) => `${r.spec.paper?.table} ${r.spec.paper?.row}`), ['table2 PRIS', 'table3 U', 'table2 SA', 'table2 BPR']);
});

t.test('negatives: L = 5..30 step 5 for three models', async (t) => {
  const runs = plan('negatives');
  t.equal(runs.length, 18);
  t.same([...new Set(runs.map((r) => r.spec.series))], [BEST_SERIES, 'PRIS-U', 'BPR']);
  for (const series of [BEST_SERIES, 'PRIS-U', 'BPR']) {
    const mine = runs.filter((r) => r.spec.series === series);
    t.same(mine.map((r) => r.config.negatives), [5, 10, 15, 20, 25, 30], series);
    t.same(mine.map((r) => r.spec.x), [5, 10, 15, 20, 25, 30]);
  }
  t.same([...new Set(runs.filter((r) => r.spec.series === 'BPR').map((r) => `${r.config.loss}/${r.config.sampler}`))], ['bpr/uniform']);
  t.equal(runs[7]!.spec.name, 'PRIS-U L=10');
});

t.test('dim: d = 8..256 doubling; clusters: K = 50..300 with cluster-popularity', async (t) => {
  const dims = plan('dim');
  t.same(dims.filter((r) => r.spec.series === 'PRIS-U').map((r) => r.config.dim), [8, 16, 32, 64, 128, 256]);
  t.equal(dims.length, 18);
  const ks = plan('clusters');
  t.same(ks.map((r) => r.config.clusters), [50, 100, 150, 200, 250, 300]);
  t.ok(ks.every((r) => r.config.sampler === 'cluster-popularity' && r.config.loss === 'pris'));
});

t.test('threads: one run per thread count; clusterSync only with one thread (as pris train)', async (t) => {
  const runs = plan('threads', { threads: [1, 2, 4] });
  t.same(runs.map((r) => r.config.threads), [1, 2, 4]);
  t.same(runs.map((r) => r.config.clusterSync), [true, false, false]);
  t.same(threadSweep(2), [1, 2]);
  t.same(threadSweep(8), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(threadSweep(48), [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 48]);
});

t.test('paper values: which dataset, which table cell', async (t) => {
  t.equal(defaultPaperDataset('citeulike-t'), 'CiteULike');
  t.equal(defaultPaperDataset('gowalla'), 'Gowalla');
  t.equal(defaultPaperDataset('ml-100k'), undefined, 'ml-100k is not the paper\'s MovieLens-10M');
  t.equal(parsePaperDataset('movielens'), 'MovieLens');
  t.same(paperValue({ table: 'table3', row: 'CP' }, 'Gowalla'), { ndcg: 0.1706, recall: 0.2803 });
  t.same(paperValue({ table: 'table2', row: 'BPR' }, 'CiteULike'), { ndcg: 0.1269, recall: 0.2772 });
  t.equal(paperValue({ table: 'table3', row: 'Exact' }, 'Amazon'), undefined, 'not run in the paper');
});

t.test('optimizers: default lr per optimizer, validation every epoch; scoped --set', async (t) => {
  const runs = plan('optimizers');
  t.same(runs.map((r) => [r.config.optimizer, r.config.lr, r.config.evalEvery]), [
    ['adagrad', 0.1, 1],
    ['adagrad-row', 0.1, 1],
    ['sgd', 0.05, 1],
    ['adam', 0.001, 1],
  ]);
  const scoped = plan('optimizers', { sets: ['adam:lr=0.01', 'eval-every=2'] });
  t.same(scoped.map((r) => [r.config.lr, r.config.evalEvery]), [[0.1, 2], [0.1, 2], [0.05, 2], [0.01, 2]], '--set wins over study defaults');
  userError(t, () => plan('optimizers', { sets: ['adamw:lr=0.01'] }), /no series or configuration of the optimizers study is called 'adamw'/);
});

t.test('--set applies to every run; a varied field stays the study\'s; seeds multiply the runs', async (t) => {
  const runs = plan('losses', { sets: ['reg=0.05', 'sampler=uniform', 'k=20,50', 'cluster-warm=true'], seeds: [1, 2] });
  t.equal(runs.length, 8);
  t.same(runs.map((r) => r.seed), [1, 2, 1, 2, 1, 2, 1, 2]);
  t.same(runs.map((r) => r.config.seed), [1, 2, 1, 2, 1, 2, 1, 2]);
  t.ok(runs.every((r) => r.config.reg === 0.05 && r.config.clusterWarm === true));
  t.same(runs[0]!.config.k, [20, 50]);
  t.same(runs.map((r) => r.config.sampler).filter((_, i) => i % 2 === 0), [BEST_SAMPLER, 'uniform', 'uniform', 'uniform']);
  const sets = ['sampler=uniform', 'reg=1'].map(parseSet);
  t.same(shadowedSets(sets, getStudy('samplers').varies).map((s) => s.key), ['sampler']);
  // lr follows an overridden optimizer unless set
  t.equal(plan('losses', { sets: ['optimizer=sgd'] })[0]!.config.lr, 0.05);
  t.equal(plan('losses', { sets: ['optimizer=sgd', 'lr=0.2'] })[0]!.config.lr, 0.2);
});

t.test('parseSet: spelling, types and errors', async (t) => {
  const s: SetOverride = parseSet('batch-size=256');
  t.same([s.key, s.value, s.scope], ['batchSize', 256, undefined]);
  t.same(parseSet('BPR:reg=0.5'), { scope: 'BPR', key: 'reg', value: 0.5, text: 'BPR:reg=0.5' });
  t.equal(parseSet('clusterSync=no').value, false);
  userError(t, () => parseSet('popularity=linear'), /--set popularity=linear: --popularity must be one of log1p, count, pow0.75 \(got 'linear'\)/);
  t.equal(parseSet('factors=64').key, 'dim', 'aliases name the same option');
  userError(t, () => parseSet('bogus=1'), /unknown setting 'bogus' \(known: dim, negatives/);
  userError(t, () => parseSet('lr'), /--set takes key=value/);
  userError(t, () => parseSet('lr=fast'), /--lr must be a number \(got 'fast'\)/);
  userError(t, () => parseSet('cluster-warm=maybe'), /--cluster-warm must be true or false/);
  userError(t, () => plan('losses', { sets: ['optimizer=rmsprop'] }), /--optimizer must be one of adagrad, adagrad-row, sgd, adam \(got 'rmsprop'\)/);
  userError(t, () => plan('losses', { sets: ['dim=10'] }), /--dim must be a multiple of 4/);
});

t.test('resolveConfig layering', async (t) => {
  const c = resolveConfig({ threads: 3, studyDefaults: { evalEvery: 1 }, flags: { epochs: 4 }, sets: [parseSet('epochs=9')], vary: { dim: 16, seed: 5 }, series: 's', x: 1 });
  t.same([c.threads, c.evalEvery, c.epochs, c.dim, c.seed, c.lr, c.clusterSync], [3, 1, 9, 16, 5, 0.1, false]);
});

/** A fake finished run. */
function record(p: PlannedRun, m: { ndcg: number; recall: number; seconds: number; pps: number; valid?: number; cluster?: number } | string): RunRecord {
  const base = { name: p.spec.name, series: p.spec.series, x: p.spec.x, seed: p.seed, config: p.config, wall_seconds: 2, ...(p.spec.paper ? { paper: p.spec.paper } : {}) };
  if (typeof m === 'string') return { ...base, status: 'failed', error: m };
  return {
    ...base,
    status: 'ok',
    metrics: {
      test: { 'ndcg@50': m.ndcg, 'recall@50': m.recall, auc: 0.9 },
      ...(m.valid !== undefined ? { valid: { 'ndcg@50': m.valid }, best_epoch: 2 } : {}),
      epochs_run: 2,
      train_seconds: m.seconds,
      eval_seconds: 0.5,
      positives_per_second: m.pps,
      draws_per_negative: 1.25,
      ...(m.cluster !== undefined ? { clustering: { refreshes: 1, seconds_total: m.cluster, seconds_per_refresh: m.cluster } } : {}),
      history: [
        { epoch: 1, seconds: m.seconds / 2, positives: 100, loss: 0.5, drawsPerNegative: 1.25, skippedUsers: 0 },
        { epoch: 2, seconds: m.seconds / 2, positives: 100, loss: 0.25, drawsPerNegative: 1.25, skippedUsers: 0, ...(m.valid !== undefined ? { valid: m.valid } : {}) },
      ],
    },
  };
}

t.test('markdown table: ours beside the paper, failures, empty columns dropped', async (t) => {
  const runs = plan('samplers', { skip: SAMPLER_KINDS.filter((k) => k !== 'uniform' && k !== 'exact') });
  const records = [record(runs[0]!, { ndcg: 0.15, recall: 0.3, seconds: 12, pps: 1234567.4, valid: 0.1 }), record(runs[1]!, 'training diverged | lr too large')];
  t.equal(
    markdownTable(getStudy('samplers'), records, { dataset: 'citeulike-t', paperDataset: 'CiteULike' }),
    [
      '| configuration | NDCG@50 | Recall@50 | paper NDCG@50 | paper Recall@50 | paper row | valid NDCG@50 | best epoch | SGD s | positives/s | draws/negative | status |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      '| uniform | 0.1500 | 0.3000 | 0.1328 | 0.2872 | Table 3 U | 0.1000 | 2 | 12.0 | 1,234,567 | 1.25 | ok |',
      '| exact | – | – | 0.1428 | 0.3017 | Table 3 Exact | – | – | – | – | – | failed: training diverged \\| lr too large |',
      '',
    ].join('\n'),
  );
  // Without a paper dataset there is no paper column.
  t.notMatch(markdownTable(getStudy('samplers'), records, { dataset: 'mine' }), /paper/);
});

t.test('markdown table: mean ± sd over seeds, speedup over the fewest threads', async (t) => {
  const runs = plan('threads', { threads: [1, 2], seeds: [1, 2] });
  const records = [
    record(runs[0]!, { ndcg: 0.1, recall: 0.2, seconds: 4, pps: 1000 }),
    record(runs[1]!, { ndcg: 0.12, recall: 0.2, seconds: 4, pps: 1000 }),
    record(runs[2]!, { ndcg: 0.1, recall: 0.2, seconds: 2, pps: 1800 }),
    record(runs[3]!, { ndcg: 0.1, recall: 0.2, seconds: 2, pps: 2200 }),
  ];
  t.equal(
    markdownTable(getStudy('threads'), records, { dataset: 'mine' }),
    [
      '| configuration | NDCG@50 | Recall@50 | positives/s | speedup | s / epoch | SGD s | status |',
      '|---|---|---|---|---|---|---|---|',
      '| threads=1 | 0.1100 ± 0.0141 | 0.2000 ± 0.0000 | 1,000 ± 0 | 1.00 ± 0.00 | 2.00 ± 0.00 | 4.00 ± 0.00 | ok (2 seeds) |',
      '| threads=2 | 0.1000 ± 0.0000 | 0.2000 ± 0.0000 | 2,000 ± 283 | 2.00 ± 0.28 | 1.00 ± 0.00 | 2.00 ± 0.00 | ok (2 seeds) |',
      '',
    ].join('\n'),
  );
  const speedup = studyCharts(getStudy('threads'), records, { dataset: 'mine' }).find((c) => c.file === 'speedup.svg')!.chart;
  t.equal(speedup.kind, 'line');
  if (speedup.kind === 'line') {
    t.same(speedup.points, [
      { series: 'PRIS', x: 1, y: 1 },
      { series: 'PRIS', x: 2, y: 2 },
      { series: 'ideal', x: 1, y: 1 },
      { series: 'ideal', x: 2, y: 2 },
    ]);
    t.same(speedup.dashed, ['ideal']);
  }
});

t.test('results.csv: one row per run, every config field, quoted errors', async (t) => {
  const runs = plan('clusters');
  const records = [record(runs[0]!, { ndcg: 0.2, recall: 0.4, seconds: 3, pps: 5000, valid: 0.15, cluster: 0.5 }), record(runs[1]!, 'bad "thing", here')];
  const lines = resultsCsv('clusters', records).split('\n');
  t.equal(lines.length, 4, 'header, two rows, final newline');
  // The config columns are TrainConfig's fields, in DEFAULTS order.
  const cfg = (r: RunRecord) => CONFIG_KEYS.map((k) => { const v = r.config[k]; return Array.isArray(v) ? v.join(';') : String(v); }).join(',');
  t.equal(
    lines[0],
    `study,name,series,x,status,${CONFIG_KEYS.join(',')},` +
      'ndcg@50,recall@50,auc,valid_ndcg@50,best_epoch,epochs_run,train_seconds,epoch_seconds,eval_seconds,positives_per_second,draws_per_negative,combine_weight,cluster_refreshes,cluster_seconds_total,cluster_seconds_per_refresh,wall_seconds,error',
  );
  t.ok(CONFIG_KEYS.slice(0, 5).join() === 'dim,negatives,loss,sampler,popularity' && CONFIG_KEYS.at(-1) === 'threads');
  t.equal(lines[1], `clusters,K=50,PRIS-CP,50,ok,${cfg(records[0]!)},0.2,0.4,0.9,0.15,2,2,3,1.5,0.5,5000,1.25,,1,0.5,0.5,2,`);
  const D = DEFAULTS;
  t.match(
    cfg(records[0]!),
    new RegExp(`^${D.dim},5,pris,cluster-popularity,log1p,${D.optimizer},0.1,128,${D.reg},${D.epochs},1,glorot,0.01,5,${D.patience},50,50,1,${D.clusterIterations},${D.clusterWarm},false,0,`),
  );
  t.equal(lines[2], `clusters,K=100,PRIS-CP,100,failed,${cfg(records[1]!)},,,,,,,,,,,,,,,,2,"bad ""thing"", here"`);
  t.equal(lines[3], '');
});

t.test('history.csv: cumulative SGD seconds per epoch', async (t) => {
  const runs = plan('optimizers');
  const text = historyCsv([record(runs[0]!, { ndcg: 0.2, recall: 0.4, seconds: 3, pps: 5000, valid: 0.15 })]);
  t.equal(text, ['name,seed,epoch,seconds,cumulative_seconds,loss,draws_per_negative,valid', 'adagrad,1,1,1.5,1.5,0.5,1.25,', 'adagrad,1,2,1.5,3,0.25,1.25,0.15', ''].join('\n'));
});

t.test('charts: paper bars beside ours, lines per series, the optimizer curve', async (t) => {
  const runs = plan('losses');
  const records = runs.map((r, i) => record(r, { ndcg: 0.1 + i / 100, recall: 0.2, seconds: 1, pps: 1 }));
  const ndcg = studyCharts(getStudy('losses'), records, { dataset: 'gowalla', paperDataset: 'Gowalla' })[0]!;
  t.equal(ndcg.file, 'ndcg.svg');
  t.equal(ndcg.chart.kind, 'bar');
  if (ndcg.chart.kind === 'bar') {
    t.same(ndcg.chart.bars.slice(0, 4), [
      { label: BEST_SERIES, value: 0.1, series: 'pris' },
      { label: BEST_SERIES, value: 0.1719, series: 'paper (Gowalla)' },
      { label: 'PRIS-U', value: 0.11, series: 'pris' },
      { label: 'PRIS-U', value: 0.14, series: 'paper (Gowalla)' },
    ]);
  }
  const neg = plan('negatives');
  const lines = studyCharts(getStudy('negatives'), neg.map((r) => record(r, { ndcg: (r.config.negatives) / 100, recall: 0.2, seconds: 1, pps: 1 })), { dataset: 'x' });
  t.same(lines.map((c) => c.file), ['ndcg.svg', 'recall.svg']);
  if (lines[0]!.chart.kind === 'line') {
    t.equal(lines[0]!.chart.points.length, 18);
    t.same(lines[0]!.chart.points.slice(0, 2), [{ series: BEST_SERIES, x: 5, y: 0.05 }, { series: BEST_SERIES, x: 10, y: 0.1 }]);
  }
  const opt = plan('optimizers');
  const curve = studyCharts(getStudy('optimizers'), opt.map((r) => record(r, { ndcg: 0.2, recall: 0.4, seconds: 2, pps: 1, valid: 0.3 })), { dataset: 'x' })[0]!;
  t.equal(curve.file, 'valid-curve.svg');
  if (curve.chart.kind === 'line') t.same(curve.chart.points, ['adagrad', 'adagrad-row', 'sgd', 'adam'].map((series) => ({ series, x: 2, y: 0.3 })));
});

t.test('the setup line names what every run shares, not what the study varies', async (t) => {
  const fake = (runs: PlannedRun[]) => runs.map((r) => record(r, { ndcg: 0.1, recall: 0.2, seconds: 1, pps: 1 }));
  const threads = defaultThreads();
  const D = DEFAULTS;
  t.equal(setupLine(fake(plan('negatives', { epochs: 10 }))), `up to 10 epochs (patience ${D.patience}), validation every 5, d=${D.dim}, ${D.optimizer}, lr 0.1, reg ${D.reg}, K=${D.clusters} clusters, ${threads} threads`);
  t.equal(
    setupLine(fake(plan('optimizers', { sets: ['patience=0', 'sampler=popularity'] }))),
    `${D.epochs} epochs, validation every 1, loss pris, sampler popularity, d=${D.dim}, L=5, reg ${D.reg}, ${threads} threads`,
  );
});
