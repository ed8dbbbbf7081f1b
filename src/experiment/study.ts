/**
 * `pris experiment <study>`: runs a study's configurations one after another
 * in this process and writes results.json, results.csv, history.csv, table.md
 * and SVG plots into its output directory (docs/experiments.md). It writes
 * only under `out` (default runs/experiments/<study>-<dataset> in the working
 * directory), and a known dataset's import under runs/datasets/ (datasets.ts).
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { defaultThreads } from '../pool/pool.js';
import { readJson } from '../model/io.js';
import { openOutput } from '../util/output.js';
import { canPlot, PLOTS_MISSING } from '../util/plot.js';
import { parseSet, shadowedSets, type ConfigPatch } from './config.js';
import { datasetLabel, resolveDataset } from './dataset.js';
import { EXPERIMENT_OUTPUT, markdownTable, writeReport, type ReportContext } from './report.js';
import { planRuns, runAll, type RunRecord } from './run.js';
import { defaultPaperDataset, parsePaperDataset, PAPER_DATASETS, type PaperDataset } from './paper.js';
import { getStudy, studyRuns, threadSweep } from './studies.js';

export interface StudyRequest {
  study: string;
  /** a dataset directory or a known dataset's name (datasets.ts) */
  dataset: string;
  epochs?: number;
  /** one count, or the threads study's sweep */
  threads?: number[];
  seeds?: number[];
  out?: string;
  force?: boolean;
  /** `[scope:]key=value` settings */
  set?: string[];
  /** configuration names to leave out */
  skip?: string[];
  /** a paper dataset's name, or 'none' */
  paper?: string;
  validUsers?: number;
  keepModels?: boolean;
  verbose?: boolean;
  /** the command line, recorded with the results */
  command: string;
  /** progress and notes (stderr) */
  log: (text: string) => void;
}

export interface StudyOutcome {
  /** the output directory */
  dir: string;
  records: RunRecord[];
  /** the markdown table of the results */
  table: string;
  failed: number;
}

/** A path relative to `base` when it lies inside it, else absolute. */
function displayPath(p: string, base = process.cwd()): string {
  const rel = path.relative(base, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel || '.';
}

function paperOption(value: string | undefined): PaperDataset | undefined {
  if (value === undefined || value.toLowerCase() === 'none') return undefined;
  const d = parsePaperDataset(value);
  if (!d) throw new UserError(`--paper must be one of ${PAPER_DATASETS.join(', ')} or none (got '${value}')`);
  return d;
}

/** Why plots cannot be drawn here, or undefined when they can. */
async function plotsMissing(): Promise<string | undefined> {
  return (await canPlot()) ? undefined : PLOTS_MISSING;
}

/** Runs a study; everything the user typed is checked before the dataset is imported or anything runs. */
export async function runStudy(req: StudyRequest): Promise<StudyOutcome> {
  const study = getStudy(req.study);
  const sets = (req.set ?? []).map(parseSet);
  const flags: ConfigPatch = {};
  if (req.epochs !== undefined) flags.epochs = req.epochs;
  if (req.validUsers !== undefined) flags.validUsers = req.validUsers;
  const threadList = req.threads;
  if (threadList && threadList.length > 1 && study.name !== 'threads') throw new UserError('--threads takes one number (a list only for the threads study)');
  const maxThreads = threadList ? Math.max(...threadList) : defaultThreads();
  const sweep = threadList && threadList.length > 1 ? threadList : threadSweep(maxThreads);
  const specs = studyRuns(study, { threads: study.name === 'threads' ? sweep : [maxThreads] }, (req.skip ?? []).flatMap((s) => s.split(',')).filter(Boolean));
  const seedSet = sets.find((s) => s.key === 'seed' && !s.scope);
  const seeds = req.seeds ?? [seedSet ? (seedSet.value as number) : 1];
  let paperDataset = paperOption(req.paper);
  const plan = planRuns(study, specs, { seeds, threads: maxThreads, flags, sets: sets.filter((s) => s.key !== 'seed') });

  // The output is checked and locked before the dataset is imported or anything runs.
  const outArg = req.out ?? path.join('runs', 'experiments', `${study.name}-${datasetLabel(req.dataset)}`);
  using out = await openOutput({ path: outArg, kind: EXPERIMENT_OUTPUT, force: req.force, reads: existsSync(req.dataset) ? [req.dataset] : [] });
  const log = req.log;
  const noPlots = await plotsMissing();
  if (noPlots) log(`note: no plots will be drawn: ${noPlots}\n`);
  const dataset = await resolveDataset(req.dataset);
  if (req.paper === undefined && dataset.known) paperDataset = defaultPaperDataset(dataset.known);
  const ctx: ReportContext = { dataset: dataset.label, ...(paperDataset ? { paperDataset } : {}) };
  const meta = {
    command: req.command,
    date: new Date().toISOString(),
    datasetDir: displayPath(dataset.dir, packageRoot()),
    seeds,
    ...(noPlots ? { noPlots } : {}),
  };
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version };

  for (const s of shadowedSets(sets, study.varies)) log(`note: --set ${s.text} is ignored where the ${study.name} study sets ${s.key} itself\n`);
  const first = plan[0]!.config;
  log(
    `${study.name} on ${dataset.label} (${dataset.meta.users.toLocaleString('en-US')} users, ${dataset.meta.items.toLocaleString('en-US')} items): ` +
      `${specs.length} configurations x ${seeds.length} seed(s) = ${plan.length} runs, ${first.epochs} epochs each -> ${displayPath(out.path)}\n`,
  );
  // Models of an earlier study in the output go now (its results stay until this study's first run replaces them).
  out.remove('models');
  const workDir = out.claim('models');
  const records = await runAll(plan, {
    dataset: dataset.dir,
    workDir,
    keepModels: req.keepModels ?? false,
    progress: req.verbose ? 'lines' : 'quiet',
    ...(study.refit ? { refit: true } : {}),
    log,
    onRecord: (rs) => writeReport(out, study, rs, ctx, meta, machine),
  });
  if (!req.keepModels) out.remove('models');
  out.finish();
  const failed = records.filter((r) => r.status === 'failed').length;
  const files = ['table.md', 'results.csv', 'results.json', ...(noPlots ? [] : study.plots.map((p) => p.file))];
  log(`${records.length - failed}/${records.length} runs succeeded; results in ${displayPath(out.path)}/ (${files.join(', ')})\n`);
  return { dir: out.path, records, table: markdownTable(study, records, ctx), failed };
}

interface SavedResults {
  study: string;
  dataset: string;
  dataset_dir: string;
  paper_dataset: PaperDataset | null;
  command: string;
  date: string;
  seeds: number[];
  cpus?: number;
  cpu?: string;
  node?: string;
  runs: RunRecord[];
}

/**
 * `pris experiment report <dir>`: rewrites table.md, the CSVs and the plots
 * from results.json (after an interrupted study, or to put another paper
 * dataset beside it). Returns the markdown table.
 */
export async function rewriteReport(dir: string, paper: string | undefined, log: (text: string) => void): Promise<string> {
  const saved = readJson<SavedResults>(path.join(dir, 'results.json'));
  using out = await openOutput({ path: dir, flag: 'report', kind: EXPERIMENT_OUTPUT, update: true });
  const study = getStudy(saved.study);
  const paperDataset = paper !== undefined ? paperOption(paper) : (saved.paper_dataset ?? undefined);
  const ctx: ReportContext = { dataset: saved.dataset, ...(paperDataset ? { paperDataset } : {}) };
  const noPlots = await plotsMissing();
  if (noPlots) log(`note: no plots will be drawn: ${noPlots}\n`);
  const meta = { command: saved.command, date: saved.date, datasetDir: saved.dataset_dir, seeds: saved.seeds, ...(noPlots ? { noPlots } : {}) };
  const machine = { cpus: saved.cpus, cpu: saved.cpu, node: saved.node };
  await writeReport(out, study, saved.runs, ctx, meta, machine);
  out.finish();
  return markdownTable(study, saved.runs, ctx);
}
