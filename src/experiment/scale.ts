/**
 * `pris experiment scale`: the whole pipeline (generate, import, split, train,
 * evaluate) on Echonest-shaped files at growing fractions of the full Taste
 * Profile, each step in its own process so its time and peak memory are its
 * own, with the C reference loop on the same training pairs beside pris's
 * throughput. Writes results.json, results.csv, table.md and log-log plots
 * under --out (docs/scale.md); the generated files live in --out's `work/`
 * while a scale runs and are removed after it unless kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../data/dataset.js';
import { nnz } from '../data/csr.js';
import { UserError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { defaultThreads } from '../pool/pool.js';
import { jsonOutputKind, openOutput, type OutputDir } from '../util/output.js';
import { canPlot, renderSvg, type Chart, type LinePoint } from '../util/plot.js';
import { buildCReference, C_REFERENCE_SOURCE, runCReference, writeLightGcnLines } from './c-reference.js';
import { DEFAULTS as ECHONEST_DEFAULTS, shapeOf, writeTriplets } from './echonest-shape.js';
import { csvText } from './report.js';

export const DEFAULT_SCALES = [0.01, 0.03, 0.1, 0.3, 1];

export interface ScaleRequest {
  scales: number[];
  /** epochs of each training (the first is JIT warm-up, left out of the rates) */
  epochs: number;
  /** default: every core */
  threads?: number;
  seed: number;
  /** users of the sampled test evaluation (0: every user) */
  testUsers: number;
  out: string;
  force: boolean;
  /** keep each scale's triplets, dataset and model under out/work */
  keepData: boolean;
  /** run the C reference beside pris (needs gcc and ../shared/bench) */
  cLoop: boolean;
  command: string;
  log: (text: string) => void;
}

/** One scale's figures; seconds are wall clock, memory in MiB. */
export interface ScaleRow {
  scale: number;
  rows: number;
  file_mib: number;
  users: number;
  items: number;
  train_positives: number;
  generate_s: number;
  import_s: number;
  import_peak_rss_mib: number;
  split_s: number;
  split_peak_rss_mib: number;
  epochs: number;
  epoch_s: number;
  pris_pos_per_s: number;
  c_pos_per_s: number | null;
  pris_over_c: number | null;
  eval_users: number;
  eval_s: number;
  train_peak_rss_mib: number;
  shared_memory_mib: number;
  /** the whole `pris train`, start to exit */
  train_process_s: number;
}

export const SCALE_OUTPUT = jsonOutputKind('scale-experiment', "the scale experiment's results", (j) => j.experiment === 'scale');

interface StepResult {
  seconds: number;
  /** the process's high-water RSS (Linux: VmHWM, read until it exits), MiB; NaN where unknown */
  peakRssMib: number;
  stdout: string;
}

/** The high-water resident set of a running process, MiB (Linux only). */
function highWater(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Runs the pris CLI in a child process; its progress goes to our stderr. */
function runPris(args: string[]): Promise<StepResult> {
  const cli = path.join(packageRoot(), 'dist', 'src', 'cli.js');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let peak = NaN;
    // VmHWM only grows, so the last reading before exit is the peak (short of the final ~50 ms).
    const poll = setInterval(() => {
      const v = highWater(child.pid!);
      if (Number.isFinite(v)) peak = v;
    }, 50);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.on('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, peakRssMib: peak, stdout });
      else reject(new UserError(`pris ${args.slice(0, 3).join(' ')} … failed (${signal ?? 'exit ' + code}); see its message above`, 1));
    });
  });
}

function checkScales(scales: number[]): void {
  for (const s of scales) {
    if (!(s >= 0.01 && s <= 1)) throw new UserError(`--scales: each scale is a fraction of the full Echonest set, 0.01 to 1 (got ${s})`);
  }
}

const mib = (bytes: number) => bytes / 2 ** 20;

interface Metrics {
  history: { epoch: number; seconds: number; positives: number }[];
  shared_memory_mb: number;
  peak_rss_mb: number;
  test_users?: number;
  test_eval_seconds?: number;
}

/** Seconds per epoch and positives per second over the epochs after the first (JIT warm-up), or all when there is one. */
function epochRates(m: Metrics): { epochSeconds: number; perSecond: number } {
  const h = m.history.length > 1 ? m.history.slice(1) : m.history;
  const seconds = h.reduce((a, e) => a + e.seconds, 0);
  const positives = h.reduce((a, e) => a + e.positives, 0);
  return { epochSeconds: seconds / h.length, perSecond: positives / seconds };
}

async function runScale(scale: number, req: ScaleRequest & { threads: number }, work: string, cBin: string | undefined): Promise<ScaleRow> {
  const log = req.log;
  const tag = `scale ${scale}`;
  const params = { ...ECHONEST_DEFAULTS, scale, seed: req.seed };
  const shape = shapeOf(params);
  const triplets = path.join(work, `triplets-${scale}.txt`);
  const data = path.join(work, `dataset-${scale}`);
  const model = path.join(work, `model-${scale}`);

  log(`${tag}: generating ${shape.rows.toLocaleString('en-US')} triplets\n`);
  let t0 = performance.now();
  const bytes = await writeTriplets(params, triplets, false, true);
  const generateSeconds = (performance.now() - t0) / 1000;

  log(`${tag}: pris data import triplets\n`);
  const imported = await runPris(['data', 'import', 'triplets', triplets, '--out', data, '--force']);
  log(`${tag}: pris data split\n`);
  const split = await runPris(['data', 'split', data, '--seed', String(req.seed), '--force']);

  const ds = loadDataset(data);
  const trainPositives = nnz(ds.train);
  let cRate: number | null = null;
  if (cBin) {
    const pairs = path.join(work, `train-${scale}.txt`);
    writeLightGcnLines(ds.train, pairs);
    log(`${tag}: the C reference on the same ${trainPositives.toLocaleString('en-US')} training pairs\n`);
    cRate = runCReference(cBin, pairs, req.threads, Math.max(2, req.epochs));
    removeWork(pairs);
  }

  log(`${tag}: pris train (defaults, ${req.epochs} epochs, no validation, test on ${req.testUsers || 'every'} users)\n`);
  t0 = performance.now();
  const trained = await runPris([
    'train', data, '--out', model, '--force', '--epochs', String(req.epochs), '--eval-every', '0', '--checkpoint-every', '0',
    '--threads', String(req.threads), '--seed', String(req.seed), '--test-users', String(req.testUsers),
  ]);
  const trainProcessSeconds = (performance.now() - t0) / 1000;
  const metrics = JSON.parse(readFileSync(path.join(model, 'metrics.json'), 'utf8')) as Metrics;
  const { epochSeconds, perSecond } = epochRates(metrics);

  if (!req.keepData) for (const p of [triplets, data, model]) removeWork(p);
  return {
    scale,
    rows: shape.rows,
    file_mib: mib(bytes),
    users: ds.nUsers,
    items: ds.nItems,
    train_positives: trainPositives,
    generate_s: generateSeconds,
    import_s: imported.seconds,
    import_peak_rss_mib: imported.peakRssMib,
    split_s: split.seconds,
    split_peak_rss_mib: split.peakRssMib,
    epochs: metrics.history.length,
    epoch_s: epochSeconds,
    pris_pos_per_s: perSecond,
    c_pos_per_s: cRate,
    pris_over_c: cRate ? perSecond / cRate : null,
    eval_users: metrics.test_users ?? 0,
    eval_s: metrics.test_eval_seconds ?? NaN,
    train_peak_rss_mib: Number.isFinite(trained.peakRssMib) ? trained.peakRssMib : metrics.peak_rss_mb,
    shared_memory_mib: metrics.shared_memory_mb,
    train_process_s: trainProcessSeconds,
  };
}

/** Removes a file or directory of this experiment's own work area (out/work, claimed through the output contract). */
function removeWork(p: string): void {
  rmSync(p, { recursive: true, force: true });
}

const COLUMNS: [keyof ScaleRow, string, (v: number) => string][] = [
  ['scale', 'scale', (v) => String(v)],
  ['rows', 'triplets', (v) => v.toLocaleString('en-US')],
  ['users', 'users', (v) => v.toLocaleString('en-US')],
  ['items', 'items', (v) => v.toLocaleString('en-US')],
  ['train_positives', 'train positives', (v) => v.toLocaleString('en-US')],
  ['import_s', 'import s', (v) => v.toFixed(1)],
  ['import_peak_rss_mib', 'import peak RSS MiB', (v) => v.toFixed(0)],
  ['split_s', 'split s', (v) => v.toFixed(1)],
  ['split_peak_rss_mib', 'split peak RSS MiB', (v) => v.toFixed(0)],
  ['epoch_s', 's / epoch', (v) => v.toFixed(2)],
  ['pris_pos_per_s', 'pris M pos/s', (v) => (v / 1e6).toFixed(2)],
  ['c_pos_per_s', 'C M pos/s', (v) => (v / 1e6).toFixed(2)],
  ['pris_over_c', 'pris / C', (v) => v.toFixed(2)],
  ['eval_users', 'test users', (v) => v.toLocaleString('en-US')],
  ['eval_s', 'test eval s', (v) => v.toFixed(1)],
  ['train_peak_rss_mib', 'train peak RSS MiB', (v) => v.toFixed(0)],
  ['shared_memory_mib', 'shared memory MiB', (v) => v.toFixed(0)],
];

export function scaleTable(rows: ScaleRow[]): string {
  const cell = (r: ScaleRow, [key, , f]: (typeof COLUMNS)[number]) => {
    const v = r[key];
    return typeof v === 'number' && Number.isFinite(v) ? f(v) : '–';
  };
  return [
    `| ${COLUMNS.map((c) => c[1]).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${COLUMNS.map((c) => cell(r, c)).join(' | ')} |`),
  ].join('\n') + '\n';
}

export function scaleCharts(rows: ScaleRow[]): { file: string; chart: Chart }[] {
  const x = { title: 'triplets (log)', scale: 'log10' as const, format: '~s' };
  const series = (name: string, y: (r: ScaleRow) => number | null): LinePoint[] =>
    rows.map((r) => ({ series: name, x: r.rows, y: y(r) ?? NaN })).filter((p) => Number.isFinite(p.y) && p.y > 0);
  return [
    {
      file: 'seconds.svg',
      chart: {
        kind: 'line', title: 'Seconds per step against data size', legend: 'step', x, y: { title: 'seconds (log)', scale: 'log10', format: '~g' },
        points: [
          ...series('import', (r) => r.import_s), ...series('split', (r) => r.split_s),
          ...series('one epoch', (r) => r.epoch_s), ...series('test evaluation', (r) => r.eval_s),
        ],
      },
    },
    {
      file: 'memory.svg',
      chart: {
        kind: 'line', title: 'Peak memory against data size', legend: 'what', x, y: { title: 'MiB (log)', scale: 'log10', format: '~g' },
        points: [
          ...series('import peak RSS', (r) => r.import_peak_rss_mib), ...series('split peak RSS', (r) => r.split_peak_rss_mib),
          ...series('train peak RSS', (r) => r.train_peak_rss_mib), ...series('train shared memory', (r) => r.shared_memory_mib),
        ],
      },
    },
    {
      file: 'throughput.svg',
      chart: {
        kind: 'line', title: 'Training throughput against data size', legend: 'loop', x, y: { title: 'M positives / s', zero: true },
        points: [...series('pris', (r) => r.pris_pos_per_s / 1e6), ...series('C reference', (r) => (r.c_pos_per_s ?? NaN) / 1e6)],
      },
    },
  ];
}

async function writeResults(out: OutputDir, req: ScaleRequest, rows: ScaleRow[], plots: boolean, started: string): Promise<void> {
  const json = {
    experiment: 'scale',
    command: req.command,
    date: started,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', memory_gib: os.totalmem() / 2 ** 30, node: process.version },
    setup: {
      generator: 'Echonest-shaped triplets (scripts/gen-echonest.ts), seed ' + req.seed,
      train: `pris train defaults, ${req.epochs} epochs, --eval-every 0, --threads ${req.threads}, test on ${req.testUsers || 'every'} users`,
      c_reference: req.cLoop ? 'hogwild_ref.c (uniform sampler, SGD, d 32, L 5) on the same training pairs, same threads' : null,
    },
    rows,
  };
  out.writeFile('results.json', JSON.stringify(json, null, 2) + '\n');
  out.writeFile('results.csv', csvText(COLUMNS.map((c) => c[0]), rows.map((r) => COLUMNS.map((c) => r[c[0]] ?? ''))));
  out.writeFile('table.md', `Command: \`${req.command}\`\n\n${scaleTable(rows)}`);
  if (plots) for (const { file, chart } of scaleCharts(rows)) out.writeFile(file, await renderSvg(chart));
}

export async function runScaleExperiment(request: ScaleRequest): Promise<{ dir: string; rows: ScaleRow[]; table: string }> {
  const req = { ...request, threads: request.threads ?? defaultThreads() };
  checkScales(req.scales);
  using out = await openOutput({ path: req.out, kind: SCALE_OUTPUT, force: req.force });
  const plots = await canPlot();
  if (!plots) req.log('note: no plots will be drawn (the optional packages vega and vega-lite are missing)\n');
  let cBin: string | undefined;
  out.remove('work');
  const work = out.claim('work');
  mkdirSync(work, { recursive: true });
  if (req.cLoop) {
    if (!existsSync(C_REFERENCE_SOURCE)) req.log(`note: ${C_REFERENCE_SOURCE} is missing: no C reference column\n`);
    else cBin = buildCReference(work);
  }
  const started = new Date().toISOString();
  const rows: ScaleRow[] = [];
  for (const scale of req.scales) {
    rows.push(await runScale(scale, req, work, cBin));
    await writeResults(out, req, rows, plots, started);
    req.log(scaleTable(rows.slice(-1)));
  }
  if (!req.keepData) out.remove('work');
  out.finish();
  return { dir: out.path, rows, table: scaleTable(rows) };
}

export const SCALE_DEFAULTS = { scales: DEFAULT_SCALES, epochs: 3, seed: 1, testUsers: 10_000 };
