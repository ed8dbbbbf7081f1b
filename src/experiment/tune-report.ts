/**
 * What `pris tune` reports: the trials as a table, CSV and JSON, and the
 * `pris train` command that trains the best trial's configuration. The text
 * builders are pure functions (tested without training).
 */
import { TRAIN_OPTIONS, resolveTrainConfig, type OptionKey, type TrainConfig } from '../train/options.js';
import type { OutputKind } from '../util/output.js';
import { commandLine } from '../util/shell.js';
import { csvText } from './report.js';
import type { Trial, TuneResult } from './tune.js';

/** `pris tune --out`: a directory holding trials.csv and trials.json (src/util/output.ts). */
export const TUNE_OUTPUT: OutputKind = { name: 'tune', what: 'tuning results' };

/** The searched settings, always on the command line of the best; the rest only where it differs from the defaults. */
const SEARCHED: OptionKey[] = ['lr', 'reg', 'dim', 'sampler'];

/**
 * The flags that make `pris train` run `config`: the searched settings, and
 * every option whose value differs from what pris train would choose itself
 * (`threads` only when `keepThreads`: a command for another machine should
 * use its cores).
 */
export function trainFlags(config: TrainConfig, keepThreads: boolean): string[] {
  const defaults = resolveTrainConfig({ threads: config.threads, optimizer: config.optimizer });
  const flags: string[] = [];
  for (const o of TRAIN_OPTIONS) {
    const v = config[o.key];
    if (o.key === 'threads' ? !keepThreads : !SEARCHED.includes(o.key) && JSON.stringify(v) === JSON.stringify(defaults[o.key])) continue;
    if (typeof v === 'boolean') flags.push(v ? `--${o.flag}` : `--no-${o.flag}`);
    else flags.push(`--${o.flag}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  return flags;
}

/** `pris train <dataset> --out <out> ...` for the best trial. */
export function trainCommand(dataset: string, out: string, config: TrainConfig, keepThreads: boolean): string {
  return commandLine(['pris', 'train', dataset, '--out', out, ...trainFlags(config, keepThreads)]);
}

const HEADER = ['trial', 'phase', 'lr', 'reg', 'dim', 'sampler'];

/** trials.csv: one row per trial; the score column is named after the validation cutoff. */
export function trialsCsv(trials: Trial[], k: number): string {
  const header = [...HEADER, `valid_ndcg@${k}`, 'best_epoch', 'epochs', 'seconds', 'status'];
  return csvText(
    header,
    trials.map((t) => [t.trial, t.phase, t.settings.lr, t.settings.reg, t.settings.dim, t.settings.sampler, t.score, t.bestEpoch, t.epochs, t.seconds.toFixed(3), t.status]),
  );
}

export interface TuneMeta {
  dataset: string;
  command: string;
  date: string;
  budgetSeconds: number;
  k: number;
  /** the options the user fixed for every trial */
  fixed: Partial<TrainConfig>;
  trainCommand: string | undefined;
}

/** trials.json: the search, every trial and the best, with the command that reruns the best. */
export function trialsJson(r: TuneResult, meta: TuneMeta): string {
  return (
    JSON.stringify(
      {
        dataset: meta.dataset,
        command: meta.command,
        date: meta.date,
        budget_seconds: meta.budgetSeconds,
        seconds: r.seconds,
        stopped: r.stopped,
        metric: `valid ndcg@${meta.k}`,
        fixed: meta.fixed,
        best: r.best ? { ...r.best, config: r.bestConfig } : null,
        train_command: meta.trainCommand ?? null,
        trials: r.trials,
      },
      null,
      2,
    ) + '\n'
  );
}

/** The rows of the table printed at the end (the best marked), with the columns that vary. */
export function trialRows(r: TuneResult, k: number): { header: string[]; rows: string[][]; align: string } {
  const varies = (f: (t: Trial) => unknown) => new Set(r.trials.map(f)).size > 1;
  const showDim = varies((t) => t.settings.dim);
  const showSampler = varies((t) => t.settings.sampler);
  const header = ['trial', 'lr', 'reg', ...(showDim ? ['dim'] : []), ...(showSampler ? ['sampler'] : []), `valid NDCG@${k}`, 'best epoch', 'epochs', 'seconds', 'status'];
  const rows = r.trials.map((t) => [
    `${t === r.best ? '*' : ''}${t.trial}`,
    String(t.settings.lr),
    String(t.settings.reg),
    ...(showDim ? [String(t.settings.dim)] : []),
    ...(showSampler ? [t.settings.sampler] : []),
    t.score === undefined ? '–' : t.score.toFixed(4),
    t.bestEpoch === undefined ? '–' : String(t.bestEpoch),
    String(t.epochs),
    t.seconds.toFixed(1),
    t.status === 'ok' ? 'ok' : t.status === 'budget' ? 'stopped (budget)' : 'diverged',
  ]);
  return { header, rows, align: 'r' + 'r'.repeat(2) + (showDim ? 'r' : '') + (showSampler ? 'l' : '') + 'rrrrl' };
}
