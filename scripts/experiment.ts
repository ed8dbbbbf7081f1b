/**
 * The paper's studies on any dataset: runs a study's configurations one after
 * another in this process and writes results.json, results.csv, history.csv,
 * table.md and SVG plots into the output directory. See docs/experiments.md.
 *
 *   node dist/scripts/experiment.js <study> --dataset <dir | gowalla | citeulike-t | ml-100k | lastfm>
 *       [--epochs N] [--threads N] [--seeds 1,2] [--out DIR] [--set key=value ...] [--skip NAME,...]
 *       [--paper citeulike|gowalla|amazon|movielens|echonest|none] [--valid-users N] [--keep-models] [--force] [--verbose]
 *
 * It writes only under --out (default runs/experiments/<study>-<dataset> in
 * the working directory), and a known dataset's import under runs/datasets/
 * (see scripts/lib/datasets.ts).
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { packageRoot } from '../src/paths.js';
import { defaultThreads } from '../src/pool/pool.js';
import { parseSet, shadowedSets, type ConfigPatch } from './lib/experiment-config.js';
import { datasetLabel, resolveDataset } from './lib/experiment-dataset.js';
import { EXPERIMENT_OUTPUT, writeReport, markdownTable, type ReportContext } from './lib/experiment-report.js';
import { openOutput } from '../src/util/output.js';
import { planRuns, runAll, type RunRecord } from './lib/experiment-run.js';
import { readJson } from '../src/model/io.js';
import { defaultPaperDataset, parsePaperDataset, PAPER_DATASETS, type PaperDataset } from './lib/paper.js';
import { runScript, scriptArgs } from './lib/script.js';
import { parseCount, parseCountList } from '../src/cli/args.js';
import { getStudy, studyRuns, threadSweep, STUDY_NAMES } from './lib/studies.js';

const USAGE = `usage: node dist/scripts/experiment.js <study> --dataset <dir | gowalla | citeulike-t | ml-100k | lastfm> [options]
       node dist/scripts/experiment.js report <output dir> [--paper NAME]   (rewrite tables and plots from results.json)

studies: ${STUDY_NAMES.join(', ')}

options:
  --dataset D       a dataset directory (pris data import + pris data split) or a known dataset name
  --epochs N        epochs per run (default 60, as pris train)
  --threads N       threads per run (default: every core); the threads study sweeps 1..N
                    (above 8: 1..8, powers of two, N) or a list: --threads 1,2,4
  --seeds 1,2       run every configuration once per training seed (tables show mean ± sd)
  --out DIR         output directory, the only one written (default runs/experiments/<study>-<dataset>,
                    under the working directory)
  --force           replace an earlier study's results in --out
  --set key=value   override a training setting for every run (repeatable; e.g. lr=0.2, reg=0.05, eval-every=1);
                    scope:key=value only for one series or configuration (e.g. BPR:reg=0.5, adam:lr=0.01)
  --skip A,B        leave out configurations by name (e.g. --skip exact on a large catalogue)
  --paper NAME      paper dataset whose Table 2/3 values go beside ours (${PAPER_DATASETS.join(', ')}, none);
                    default: CiteULike for citeulike-t, Gowalla for gowalla
  --valid-users N   validate on a fixed random subset of N users (default all)
  --keep-models     keep each run's model directory (under --out, in models/)
  --verbose         print each run's per-epoch lines
`;

const OPTIONS = {
  allowPositionals: true,
  options: {
    dataset: { type: 'string' },
    epochs: { type: 'string' },
    threads: { type: 'string' },
    seeds: { type: 'string' },
    out: { type: 'string' },
    set: { type: 'string', multiple: true },
    skip: { type: 'string', multiple: true },
    paper: { type: 'string' },
    'valid-users': { type: 'string' },
    'keep-models': { type: 'boolean' },
    force: { type: 'boolean' },
    verbose: { type: 'boolean' },
  },
} as const;

/** A path relative to `base` when it lies inside it, else absolute. */
function displayPath(p: string, base = process.cwd()): string {
  const rel = path.relative(base, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel || '.';
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function paperOption(value: string | undefined): PaperDataset | undefined {
  if (value === undefined || value.toLowerCase() === 'none') return undefined;
  const d = parsePaperDataset(value);
  if (!d) throw new UserError(`--paper must be one of ${PAPER_DATASETS.join(', ')} or none (got '${value}')`);
  return d;
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
 * `report <dir>`: rewrites table.md, the CSVs and the plots from results.json
 * (after an interrupted study, or to put another paper dataset beside it).
 */
async function rewriteReport(dirs: string[], paper: string | undefined): Promise<number> {
  if (dirs.length !== 1) throw new UserError('usage: node dist/scripts/experiment.js report <output directory> [--paper NAME]');
  const dir = path.resolve(dirs[0]!);
  const saved = readJson<SavedResults>(path.join(dir, 'results.json'));
  using out = await openOutput({ path: dirs[0]!, flag: 'report', kind: EXPERIMENT_OUTPUT, update: true });
  const study = getStudy(saved.study);
  const paperDataset = paper !== undefined ? paperOption(paper) : (saved.paper_dataset ?? undefined);
  const ctx: ReportContext = { dataset: saved.dataset, ...(paperDataset ? { paperDataset } : {}) };
  const meta = { command: saved.command, date: saved.date, datasetDir: saved.dataset_dir, seeds: saved.seeds };
  const machine = { cpus: saved.cpus, cpu: saved.cpu, node: saved.node };
  await writeReport(out, study, saved.runs, ctx, meta, machine);
  out.finish();
  process.stdout.write(markdownTable(study, saved.runs, ctx));
  return 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { values: v, positionals } = scriptArgs(USAGE, OPTIONS);
  if (positionals[0] === 'report') return rewriteReport(positionals.slice(1), v.paper);
  if (positionals.length !== 1) throw new UserError(`expected one study (${STUDY_NAMES.join(', ')})\n\n${USAGE}`);
  const study = getStudy(positionals[0]!);
  if (!v.dataset) throw new UserError(`--dataset is required\n\n${USAGE}`);

  // Everything the user typed is checked before the dataset is imported or anything runs.
  const sets = (v.set ?? []).map(parseSet);
  const flags: ConfigPatch = {};
  if (v.epochs !== undefined) flags.epochs = parseCount('epochs', v.epochs);
  if (v['valid-users'] !== undefined) flags.validUsers = parseCount('valid-users', v['valid-users'], 0);
  const threadList = v.threads !== undefined ? parseCountList('threads', v.threads) : undefined;
  if (threadList && threadList.length > 1 && study.name !== 'threads') throw new UserError('--threads takes one number (a list only for the threads study)');
  const maxThreads = threadList ? Math.max(...threadList) : defaultThreads();
  const sweep = threadList && threadList.length > 1 ? threadList : threadSweep(maxThreads);
  const specs = studyRuns(study, { threads: study.name === 'threads' ? sweep : [maxThreads] }, (v.skip ?? []).flatMap((s) => s.split(',')).filter(Boolean));
  const seedSet = sets.find((s) => s.key === 'seed' && !s.scope);
  const seeds = v.seeds !== undefined ? parseCountList('seeds', v.seeds, 0) : [seedSet ? (seedSet.value as number) : 1];
  let paperDataset = paperOption(v.paper);
  const plan = planRuns(study, specs, { seeds, threads: maxThreads, flags, sets: sets.filter((s) => s.key !== 'seed') });

  // The output is checked and locked before the dataset is imported or anything runs.
  const outArg = v.out ?? path.join('runs', 'experiments', `${study.name}-${datasetLabel(v.dataset)}`);
  using out = await openOutput({ path: outArg, kind: EXPERIMENT_OUTPUT, force: v.force, reads: existsSync(v.dataset) ? [v.dataset] : [] });
  const outDir = out.path;
  const dataset = await resolveDataset(v.dataset);
  if (v.paper === undefined && dataset.known) paperDataset = defaultPaperDataset(dataset.known);
  const root = packageRoot();
  const ctx: ReportContext = { dataset: dataset.label, ...(paperDataset ? { paperDataset } : {}) };
  const meta = {
    command: ['node', 'dist/scripts/experiment.js', ...argv].map(shellQuote).join(' '),
    date: new Date().toISOString(),
    datasetDir: displayPath(dataset.dir, root),
    seeds,
  };
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version };

  const log = (s: string) => process.stderr.write(s);
  for (const s of shadowedSets(sets, study.varies)) log(`note: --set ${s.text} is ignored where the ${study.name} study sets ${s.key} itself\n`);
  const first = plan[0]!.config;
  log(
    `${study.name} on ${dataset.label} (${dataset.meta.users.toLocaleString('en-US')} users, ${dataset.meta.items.toLocaleString('en-US')} items): ` +
      `${specs.length} configurations x ${seeds.length} seed(s) = ${plan.length} runs, ${first.epochs} epochs each -> ${displayPath(outDir)}\n`,
  );
  // Models of an earlier study in --out go now (its results stay until this study's first run replaces them).
  out.remove('models');
  const workDir = out.claim('models');
  const records = await runAll(plan, {
    dataset: dataset.dir,
    workDir,
    keepModels: v['keep-models'] ?? false,
    progress: v.verbose ? 'lines' : 'quiet',
    log,
    onRecord: (rs) => writeReport(out, study, rs, ctx, meta, machine),
  });
  if (!v['keep-models']) out.remove('models');
  out.finish();
  process.stdout.write(markdownTable(study, records, ctx));
  const failed = records.filter((r) => r.status === 'failed').length;
  log(`${records.length - failed}/${records.length} runs succeeded; results in ${displayPath(outDir)}/ (table.md, results.csv, results.json, ${study.plots.map((p) => p.file).join(', ')})\n`);
  return failed === records.length ? 1 : 0;
}

runScript('experiment', main);
