/**
 * What a study leaves in its output directory, from its run records:
 *   results.json  everything (configs, metrics, per-epoch history)
 *   results.csv   one row per run
 *   history.csv   one row per run and epoch (loss, seconds, validation)
 *   table.md      one row per configuration (mean ± sd over seeds), the
 *                 paper's Table 2/3 value beside ours where it has one
 *   *.svg         the study's plots
 * The text builders are pure functions (tested without training).
 */
import { readdirSync } from 'node:fs';
import { legacyByJson, type OutputDir, type OutputKind } from '../util/output.js';
import { renderSvg, type BarDatum, type Chart, type LinePoint } from '../util/plot.js';
import type { TrainConfig } from '../train/options.js';
import { CONFIG_KEYS } from './config.js';
import type { RunRecord } from './run.js';
import { paperValue, tableLabel, type PaperDataset } from './paper.js';
import type { MetricKey, PlotSpec, Study } from './studies.js';

export interface ReportContext {
  /** the dataset's short name (gowalla, or the directory's base name) */
  dataset: string;
  /** the paper dataset whose Table 2/3 values go beside ours, if any */
  paperDataset?: PaperDataset;
}

/** One configuration of a study with its runs (one per seed), in the study's order. */
export interface Group {
  name: string;
  series: string;
  x: number | string;
  runs: RunRecord[];
  ok: RunRecord[];
}

export function groupRuns(records: RunRecord[]): Group[] {
  const byName = new Map<string, Group>();
  for (const r of records) {
    let g = byName.get(r.name);
    if (!g) byName.set(r.name, (g = { name: r.name, series: r.series, x: r.x, runs: [], ok: [] }));
    g.runs.push(r);
    if (r.status === 'ok') g.ok.push(r);
  }
  return [...byName.values()];
}

/** The cutoff the tables report: the first of --k (also the validation cutoff), 50 by default. */
export function reportK(records: RunRecord[]): number {
  return records[0]?.config.k[0] ?? 50;
}

/** One run's value of a metric (NaN where it has none: a failed run, no validation, no clustering). */
export function runValue(r: RunRecord, key: Exclude<MetricKey, 'speedup'>, k: number): number {
  if (key === 'lr') return r.config.lr;
  const m = r.metrics;
  if (!m) return NaN;
  switch (key) {
    case 'ndcg':
      return m.test[`ndcg@${k}`] ?? NaN;
    case 'recall':
      return m.test[`recall@${k}`] ?? NaN;
    case 'valid':
      return m.valid?.[`ndcg@${k}`] ?? NaN;
    case 'best_epoch':
      return m.best_epoch ?? NaN;
    case 'epochs_run':
      return m.epochs_run;
    case 'train_seconds':
      return m.train_seconds;
    case 'epoch_seconds':
      return m.train_seconds / m.epochs_run;
    case 'positives_per_second':
      return m.positives_per_second;
    case 'draws_per_negative':
      return m.draws_per_negative;
    case 'cluster_seconds':
      return m.clustering?.seconds_total ?? NaN;
    case 'selection_seconds':
      return m.selection_seconds ?? NaN;
  }
}

export interface Stat {
  mean: number;
  sd: number;
  n: number;
}

function stat(values: number[]): Stat {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd, n: v.length };
}

/**
 * A configuration's value over its successful seeds. Speedup is throughput
 * relative to the same series' configuration with the fewest threads (the
 * smallest numeric axis value that has a result).
 */
export function groupValue(g: Group, key: MetricKey, k: number, all: Group[]): Stat {
  if (key !== 'speedup') return stat(g.ok.map((r) => runValue(r, key, k)));
  const base = all
    .filter((b) => b.series === g.series && typeof b.x === 'number' && b.ok.length > 0)
    .sort((a, b) => (a.x as number) - (b.x as number))[0];
  if (!base) return { mean: NaN, sd: NaN, n: 0 };
  const ref = stat(base.ok.map((r) => runValue(r, 'positives_per_second', k))).mean;
  return stat(g.ok.map((r) => runValue(r, 'positives_per_second', k) / ref));
}

export function metricLabel(key: MetricKey, k: number): string {
  const labels: Record<MetricKey, string> = {
    ndcg: `NDCG@${k}`,
    recall: `Recall@${k}`,
    valid: `valid NDCG@${k}`,
    best_epoch: 'best epoch',
    epochs_run: 'epochs',
    train_seconds: 'SGD s',
    epoch_seconds: 's / epoch',
    positives_per_second: 'positives/s',
    speedup: 'speedup',
    draws_per_negative: 'draws/negative',
    cluster_seconds: 'clustering s',
    selection_seconds: 'validated run SGD s',
    lr: 'lr',
  };
  return labels[key];
}

function formatNumber(key: MetricKey, v: number): string {
  if (!Number.isFinite(v)) return '–';
  switch (key) {
    case 'ndcg':
    case 'recall':
    case 'valid':
      return v.toFixed(4);
    case 'best_epoch':
    case 'epochs_run':
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
    case 'positives_per_second':
      return Math.round(v).toLocaleString('en-US');
    case 'speedup':
    case 'draws_per_negative':
      return v.toFixed(2);
    case 'lr':
      return String(v);
    default:
      return v < 10 ? v.toFixed(2) : v.toFixed(1);
  }
}

export function formatStat(key: MetricKey, s: Stat): string {
  if (s.n === 0) return '–';
  return s.n > 1 && key !== 'lr' ? `${formatNumber(key, s.mean)} ± ${formatNumber(key, s.sd)}` : formatNumber(key, s.mean);
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function status(g: Group): string {
  if (g.ok.length === g.runs.length) return g.runs.length > 1 ? `ok (${g.runs.length} seeds)` : 'ok';
  const failed = g.runs.filter((r) => r.status === 'failed');
  const head = g.runs.length > 1 ? `failed ${failed.length}/${g.runs.length}: ` : 'failed: ';
  return head + (failed[0]?.error ?? '');
}

/** The paper's value for a configuration, when the paper has one for this dataset (at k = 50 only). */
function paperFor(g: Group, ctx: ReportContext, k: number): { ndcg: number; recall: number; source: string } | undefined {
  const ref = g.runs[0]?.paper;
  if (!ref || !ctx.paperDataset || k !== 50) return undefined;
  const v = paperValue(ref, ctx.paperDataset);
  return v ? { ...v, source: `${tableLabel(ref.table)} ${ref.row}` } : undefined;
}

/**
 * The markdown table: one row per configuration. Columns that are empty for
 * every row (clustering time without a cluster sampler, best epoch without
 * validation) are left out.
 */
export function markdownTable(study: Study, records: RunRecord[], ctx: ReportContext): string {
  const k = reportK(records);
  const groups = groupRuns(records);
  const header = ['configuration', metricLabel('ndcg', k), metricLabel('recall', k)];
  const rows = groups.map((g) => [g.name, formatStat('ndcg', groupValue(g, 'ndcg', k, groups)), formatStat('recall', groupValue(g, 'recall', k, groups))]);
  const paper = groups.map((g) => paperFor(g, ctx, k));
  if (paper.some((p) => p)) {
    header.push(`paper NDCG@${k}`, `paper Recall@${k}`, 'paper row');
    rows.forEach((row, i) => {
      const p = paper[i];
      row.push(p ? p.ndcg.toFixed(4) : '–', p ? p.recall.toFixed(4) : '–', p ? p.source : '–');
    });
  }
  for (const key of study.columns) {
    const cells = groups.map((g) => formatStat(key, groupValue(g, key, k, groups)));
    if (cells.every((c) => c === '–')) continue;
    header.push(metricLabel(key, k));
    rows.forEach((row, i) => row.push(cells[i]!));
  }
  header.push('status');
  rows.forEach((row, i) => row.push(status(groups[i]!)));
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

export interface ReportMeta {
  command: string;
  date: string;
  datasetDir: string;
  seeds: number[];
  /** why no plots are drawn (the optional plotting packages are missing), if so */
  noPlots?: string;
}

/**
 * The settings every run shares, in words; what differs between runs is what
 * the study varies, and the table's rows say it.
 */
export function setupLine(records: RunRecord[]): string {
  const configs = records.map((r) => r.config);
  const same = <K extends keyof TrainConfig>(k: K): boolean => configs.every((c) => JSON.stringify(c[k]) === JSON.stringify(configs[0]![k]));
  const c = configs[0]!;
  const parts: string[] = [];
  if (same('epochs')) parts.push(c.patience > 0 && same('patience') ? `up to ${c.epochs} epochs (patience ${c.patience})` : `${c.epochs} epochs`);
  if (same('evalEvery')) parts.push(c.evalEvery > 0 ? `validation every ${c.evalEvery}` : 'no validation');
  if (same('loss')) parts.push(`loss ${c.loss}`);
  if (same('sampler')) parts.push(`sampler ${c.sampler}`);
  if (same('dim')) parts.push(`d=${c.dim}`);
  if (same('negatives')) parts.push(`L=${c.negatives}`);
  if (same('optimizer')) parts.push(c.optimizer === 'adam' && same('batchSize') ? `adam (batch ${c.batchSize})` : c.optimizer);
  if (same('lr')) parts.push(`lr ${c.lr}`);
  if (same('reg')) parts.push(`reg ${c.reg}`);
  if (configs.some((x) => x.sampler.startsWith('cluster-')) && same('clusters')) parts.push(`K=${c.clusters} clusters`);
  if (same('threads')) parts.push(`${c.threads} thread${c.threads > 1 ? 's' : ''}`);
  return parts.join(', ');
}

/** table.md: a heading saying what was run and what it reproduces, the table, and notes. */
export function markdownReport(study: Study, records: RunRecord[], ctx: ReportContext, meta: ReportMeta): string {
  const setup = records.length > 0 ? `${setupLine(records)}; seeds ${meta.seeds.join(', ')}` : 'no runs';
  const k = reportK(records);
  const paperNote =
    ctx.paperDataset && k === 50
      ? `Paper columns: the published ${ctx.paperDataset} values (pris-www20 Tables 2 and 3; PRIS in Table 2 used its best sampler, CPJ).`
      : 'No paper column: the paper publishes numbers (Tables 2 and 3, at k = 50) only for its own datasets, CiteULike and Gowalla among those here (--paper NAME puts one beside any run); its figures have no published values.';
  return [
    `# ${study.name} on ${ctx.dataset}`,
    '',
    `${study.title}. Reproduces: ${study.reproduces}.`,
    '',
    `Setup: ${setup}. Test metrics are on the held-out test split with training and validation items excluded; with validation, the model tested is the best validated epoch.`,
    '',
    markdownTable(study, records, ctx),
    paperNote,
    '',
    ...(meta.noPlots ? [`No plots: ${meta.noPlots}.`, ''] : study.plots.flatMap((p) => [`![${p.title}](${p.file})`, ''])),
    `Command: \`${meta.command}\` (${meta.date}). Dataset: ${meta.datasetDir}.`,
    '',
  ].join('\n');
}

function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' && !Number.isFinite(v)) return '';
  const s = Array.isArray(v) ? v.join(';') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text: a header and rows, fields quoted where they need it, arrays joined by semicolons. */
export function csvText(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** results.csv: one row per run; every config field, every test metric, timings, and the error of a failed run. */
export function resultsCsv(study: string, records: RunRecord[]): string {
  const testKeys = [...new Set(records.flatMap((r) => Object.keys(r.metrics?.test ?? {})))];
  const validKeys = [...new Set(records.flatMap((r) => Object.keys(r.metrics?.valid ?? {})))];
  const header = [
    'study', 'name', 'series', 'x', 'status',
    ...CONFIG_KEYS,
    ...testKeys, ...validKeys.map((k) => `valid_${k}`),
    'best_epoch', 'epochs_run', 'train_seconds', 'epoch_seconds', 'eval_seconds', 'positives_per_second', 'draws_per_negative', 'combine_weight',
    'cluster_refreshes', 'cluster_seconds_total', 'cluster_seconds_per_refresh', 'wall_seconds', 'error',
  ];
  const rows = records.map((r) => {
    const m = r.metrics;
    return [
      study, r.name, r.series, r.x, r.status,
      ...CONFIG_KEYS.map((k) => r.config[k]),
      ...testKeys.map((k) => m?.test[k]), ...validKeys.map((k) => m?.valid?.[k]),
      m?.best_epoch, m?.epochs_run, m?.train_seconds, m ? m.train_seconds / m.epochs_run : undefined, m?.eval_seconds,
      m?.positives_per_second, m?.draws_per_negative, m?.combine_weight,
      m?.clustering?.refreshes, m?.clustering?.seconds_total, m?.clustering?.seconds_per_refresh,
      r.wall_seconds, r.error,
    ];
  });
  return csvText(header, rows);
}

/** history.csv: each run's epochs, with cumulative SGD seconds (the x of the optimizers curve). */
export function historyCsv(records: RunRecord[]): string {
  const header = ['name', 'seed', 'epoch', 'seconds', 'cumulative_seconds', 'loss', 'draws_per_negative', 'valid'];
  const rows: unknown[][] = [];
  for (const r of records) {
    let t = 0;
    for (const h of r.metrics?.history ?? []) {
      t += h.seconds;
      rows.push([r.name, r.seed, h.epoch, h.seconds, t, h.loss, h.drawsPerNegative, h.valid]);
    }
  }
  return csvText(header, rows);
}

/** Validation points of a configuration against cumulative SGD seconds, averaged over seeds epoch by epoch. */
function curvePoints(g: Group): LinePoint[] {
  const byEpoch = new Map<number, { t: number[]; v: number[] }>();
  for (const r of g.ok) {
    let t = 0;
    for (const h of r.metrics!.history) {
      t += h.seconds;
      if (h.valid === undefined) continue;
      const e = byEpoch.get(h.epoch) ?? { t: [], v: [] };
      e.t.push(t);
      e.v.push(h.valid);
      byEpoch.set(h.epoch, e);
    }
  }
  return [...byEpoch.values()].map((e) => ({ series: g.series, x: stat(e.t).mean, y: stat(e.v).mean }));
}

/** Quality differences between samplers are often in the third decimal: label bars with four. */
function barLabelFormat(key: MetricKey): string {
  return key === 'ndcg' || key === 'recall' || key === 'valid' ? '.4f' : key === 'positives_per_second' ? '.3~s' : '.2f';
}

function chartFor(study: Study, p: PlotSpec, records: RunRecord[], ctx: ReportContext): Chart {
  const k = reportK(records);
  const groups = groupRuns(records);
  const title = `${p.title} (${ctx.dataset})`;
  if (p.kind === 'curve') {
    return {
      kind: 'line',
      title,
      legend: study.axis.title,
      x: { title: 'SGD seconds (cumulative)', zero: true },
      y: { title: `validation NDCG@${k}` },
      points: groups.flatMap(curvePoints),
    };
  }
  if (p.kind === 'bars') {
    return {
      kind: 'bar',
      title,
      legend: '',
      x: { title: study.axis.title },
      y: { title: p.yTitle },
      bars: groups.flatMap((g) => p.ys.map((key) => ({ label: String(g.x), series: metricLabel(key, k), value: groupValue(g, key, k, groups).mean }))),
      labelFormat: barLabelFormat(p.ys[0]!),
    };
  }
  const yTitle = metricLabel(p.y, k);
  if (study.axis.categorical) {
    const bars: BarDatum[] = [];
    const paper = p.with === 'paper' && groups.some((g) => paperFor(g, ctx, k));
    for (const g of groups) {
      bars.push({ label: String(g.x), value: groupValue(g, p.y, k, groups).mean, ...(paper ? { series: 'pris' } : {}) });
      const pv = paper ? paperFor(g, ctx, k) : undefined;
      if (pv && (p.y === 'ndcg' || p.y === 'recall')) bars.push({ label: String(g.x), value: pv[p.y], series: `paper (${ctx.paperDataset})` });
    }
    return { kind: 'bar', title, legend: '', x: { title: study.axis.title }, y: { title: yTitle }, bars, labelFormat: barLabelFormat(p.y) };
  }
  const points: LinePoint[] = groups.map((g) => ({ series: g.series, x: g.x as number, y: groupValue(g, p.y, k, groups).mean }));
  const dashed: string[] = [];
  if (p.with === 'ideal') {
    // Linear speedup from the smallest thread count measured.
    const xs = [...new Set(points.filter((q) => Number.isFinite(q.y)).map((q) => q.x))].sort((a, b) => a - b);
    if (xs.length > 0) points.push(...xs.map((x) => ({ series: 'ideal', x, y: x / xs[0]! })));
    dashed.push('ideal');
  }
  return {
    kind: 'line',
    title,
    x: { title: study.axis.title, ticksAtData: true, ...(study.axis.scale ? { scale: study.axis.scale } : {}) },
    // Times and rates from zero (their ratios matter); quality zoomed to the differences.
    y: { title: yTitle, zero: !['ndcg', 'recall', 'valid'].includes(p.y) },
    points,
    dashed,
  };
}

/** The study's charts with their file names. */
export function studyCharts(study: Study, records: RunRecord[], ctx: ReportContext): { file: string; chart: Chart }[] {
  return study.plots.map((p) => ({ file: p.file, chart: chartFor(study, p, records, ctx) }));
}

const REPORT_FILES = ['results.json', 'results.csv', 'history.csv', 'table.md'];

/**
 * A study's output directory (src/util/output.ts): the files above and, with
 * --keep-models, `models/`. One written before outputs carried a marker is
 * recognised by its results.json.
 */
export const EXPERIMENT_OUTPUT: OutputKind = {
  name: 'experiment',
  what: "a study's results",
  legacyFiles: legacyByJson(
    'results.json',
    (j) => typeof j.study === 'string' && Array.isArray(j.runs),
    (dir) => readdirSync(dir).filter((f) => REPORT_FILES.includes(f) || f.endsWith('.svg') || f === 'models'),
  ),
};

/** Writes every output file (atomically, each one); called after every run, so partial results are always on disk. */
export async function writeReport(out: OutputDir, study: Study, records: RunRecord[], ctx: ReportContext, meta: ReportMeta, extra: Record<string, unknown>): Promise<void> {
  const json = {
    study: study.name,
    title: study.title,
    reproduces: study.reproduces,
    dataset: ctx.dataset,
    dataset_dir: meta.datasetDir,
    paper_dataset: ctx.paperDataset ?? null,
    command: meta.command,
    date: meta.date,
    seeds: meta.seeds,
    ...extra,
    runs: records,
  };
  out.writeFile('results.json', JSON.stringify(json, null, 2) + '\n');
  out.writeFile('results.csv', resultsCsv(study.name, records));
  out.writeFile('history.csv', historyCsv(records));
  out.writeFile('table.md', markdownReport(study, records, ctx, meta));
  if (meta.noPlots) return;
  for (const { file, chart } of studyCharts(study, records, ctx)) out.writeFile(file, await renderSvg(chart));
}
