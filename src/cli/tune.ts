import * as path from 'node:path';
import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { dataShape, findOption, loadDataset, parseValue, resolveAgainstData, resolveTrainConfig, type TrainConfig } from '../index.js';
import { checkTunable, FIRST_STEP, trialConfig, tune, type Trial, type TuneSpace } from '../experiment/tune.js';
import { trainCommand, trialRows, trialsCsv, trialsJson, TUNE_OUTPUT } from '../experiment/tune-report.js';
import { openOutput } from '../util/output.js';
import { createProgress, duration } from '../util/progress.js';
import { commandLine } from '../util/shell.js';
import { parseCount } from './args.js';
import { interruptible } from './interrupt.js';
import { formatTable } from './tables.js';
import { addTrainOptions, givenTrainOptions } from './train-options.js';

/**
 * `pris tune <dataset>`: lr and reg (and optionally --dim and --sampler
 * lists) chosen by validation NDCG within a time budget; the search is
 * src/experiment/tune.ts. Every value goes through the options table.
 */

const SEARCHED = new Set(['lr', 'reg', 'dim', 'sampler']);

/** The longest budget: a timer of more than 2^31 ms would fire at once. */
const MAX_BUDGET_SECONDS = 7 * 24 * 3600;

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `10m`, `1h30m`, `2h`: seconds. A bare number is refused (seconds or minutes?). */
export function parseBudget(v: string): number {
  const text = v.trim().toLowerCase();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (text === '' || parts.map((p) => p[0]).join('') !== text) {
    throw new UserError(`--budget takes a duration with units: 90s, 10m, 1h30m (got '${v}')`);
  }
  const seconds = parts.reduce((s, p) => s + Number(p[1]) * UNIT[p[2]!]!, 0);
  if (seconds <= 0) throw new UserError(`--budget must be longer than nothing (got '${v}')`);
  if (seconds > MAX_BUDGET_SECONDS) throw new UserError(`--budget ${v} is more than 7 days`);
  return seconds;
}

/** A comma-separated list of one option's values, each checked by the options table. */
function listOf<K extends 'lr' | 'reg' | 'dim' | 'sampler'>(key: K, v: unknown): TrainConfig[K][] | undefined {
  if (v === undefined) return undefined;
  const o = findOption(key)!;
  const items = String(v)
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  if (items.length === 0) throw new UserError(`--${o.flag} needs at least one value`);
  return [...new Set(items.map((x) => parseValue(o, x) as TrainConfig[K]))];
}

function describeList(key: string, what: string): string {
  const o = findOption(key)!;
  return `${what} (comma-separated values of --${o.flag}: ${o.help})`;
}

function trialLine(t: Trial, k: number): string {
  const s = t.settings;
  const score = t.score === undefined ? 'no validation' : `valid NDCG@${k} ${t.score.toFixed(4)} (best epoch ${t.bestEpoch} of ${t.epochs})`;
  const status = t.status === 'ok' ? '' : t.status === 'budget' ? ', stopped by the budget' : ', diverged';
  return `trial ${t.trial} (${t.phase}): lr ${s.lr} reg ${s.reg} dim ${s.dim} ${s.sampler}: ${score}, ${t.seconds.toFixed(1)} s${status}`;
}

export function registerTuneCommand(y: Argv, rawArgs: readonly string[]): Argv {
  return y.command(
    'tune <dataset>',
    'choose lr and reg (and --dim, --sampler) by validation NDCG within a time budget; prints the pris train command of the best',
    (c) =>
      addTrainOptions(
        c
          .usage(
            '$0 tune <dataset> [--budget 10m] [--lr 0.05,0.2] [--reg 0.01,0.05] [--dim 32,64] [--sampler popularity,cluster-popularity] [training options]\n\n' +
              'Each trial is a pris train run (no files written) with early stopping and the same seed, scored by its best ' +
              'validation NDCG@k. The search is a compass search on a log scale: it starts from the defaults (or every pair of ' +
              'the --lr and --reg values given), tries every other --dim/--sampler at the best lr and reg, then multiplies and ' +
              `divides lr and reg by a step around the best (x${FIRST_STEP} at first), moving to a better neighbour while ` +
              'there is one and halving the step (on a log scale) when there is none, down to x1.41. A trial starts while ' +
              "the budget lasts and at least half the median trial's time is left; one still running when the budget ends " +
              'is stopped and kept with the validations it reached. With --threads 1 every trial is reproducible, so the same ' +
              'trials give the same table (--trials N makes the count independent of the machine). Training options other ' +
              'than the searched ones are fixed for every trial; --patience is pris train\'s, or 3 where that is 0 (every trial stops early).',
          )
          .positional('dataset', { type: 'string', describe: 'dataset directory (pris data import + split, with a validation split)' })
          .option('budget', { type: 'string', default: '10m', describe: 'time for the whole search: 90s, 10m, 1h30m' })
          .option('trials', { type: 'number', requiresArg: true, describe: 'at most N trials' })
          .option('lr', { alias: findOption('lr')!.aliases, type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: describeList('lr', 'start values of the learning rate') })
          .option('reg', { alias: findOption('reg')!.aliases, type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: describeList('reg', 'start values of the regularisation') })
          .option('dim', { alias: findOption('dim')!.aliases, type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: describeList('dim', 'dimensions to compare') })
          .option('sampler', { type: 'string', requiresArg: true, defaultDescription: "pris train's", describe: describeList('sampler', 'samplers to compare') })
          .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'also write trials.csv and trials.json into this directory' })
          .option('force', { type: 'boolean', default: false, describe: 'replace earlier tuning results at --out' })
          .option('json', { type: 'boolean', default: false, describe: 'print trials.json to stdout instead of the table' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' }),
        SEARCHED,
      )
        // Every trial must stop by itself (see the handler).
        .option('patience', { defaultDescription: "pris train's, or 3 where that is 0" })
        .example('$0 tune data/gowalla --budget 30m', 'lr and reg around the defaults for half an hour')
        .example('$0 tune data/ml --budget 1h --dim 32,64 --sampler popularity,cluster-popularity --out runs/tune-ml', 'also compare two dimensions and two samplers; the trials in runs/tune-ml')
        .example('$0 tune data/ml --threads 1 --trials 12 --budget 2h', 'reproducible: the same 12 trials on any machine'),
    async (argv) => {
      const a = argv as unknown as Record<string, unknown> & { dataset: string; budget: string; out?: string; force: boolean; json: boolean; quiet: boolean };
      // Every flag is checked before the dataset is read.
      const budgetSeconds = parseBudget(a.budget);
      const maxTrials = a.trials === undefined ? undefined : parseCount('trials', a.trials);
      const given = givenTrainOptions(a, SEARCHED);
      // Every trial must stop by itself: pris train's patience, or 3 validations where that is 0 (run every epoch).
      const fixed: Partial<TrainConfig> = { ...given, patience: given.patience ?? (resolveTrainConfig({}).patience || 3) };
      const defaults = resolveTrainConfig(fixed);
      const regs = listOf('reg', a.reg) ?? [defaults.reg];
      const space: Omit<TuneSpace, 'reg'> = {
        lr: listOf('lr', a.lr) ?? [defaults.lr],
        dim: listOf('dim', a.dim) ?? [defaults.dim],
        sampler: listOf('sampler', a.sampler) ?? [defaults.sampler],
      };
      for (const dim of space.dim) for (const sampler of space.sampler) trialConfig(fixed, { lr: space.lr[0]!, reg: 0, dim, sampler });
      using out = a.out !== undefined ? await openOutput({ path: a.out, kind: TUNE_OUTPUT, force: a.force, reads: [a.dataset] }) : undefined;
      const ds = await loadDataset(a.dataset);
      // --reg auto (pris train's default) starts from the value it takes on this dataset.
      const autoReg = resolveAgainstData({ ...defaults, reg: 'auto' }, dataShape(ds)).reg;
      const search: TuneSpace = { ...space, reg: [...new Set(regs.map((r) => (r === 'auto' ? autoReg : r)))] };
      checkTunable(ds, fixed);
      const k = defaults.k[0]!;
      const log = (line: string) => process.stderr.write(line + '\n');
      if (!a.quiet) log(`tuning on ${ds.dir} (${ds.nUsers.toLocaleString('en-US')} users, ${ds.nItems.toLocaleString('en-US')} items) for ${duration(budgetSeconds)}${maxTrials ? ` or ${maxTrials} trials` : ''}, by validation NDCG@${k}`);
      const bar = createProgress({ label: 'tune (seconds)', total: Math.ceil(budgetSeconds), fields: ['trial', 'best'], mode: a.quiet || a.json ? 'quiet' : 'auto' });
      const t0 = performance.now();
      let best: number | undefined;
      const done: Trial[] = [];
      const stop = interruptible('stopping the running trial; the trials so far are kept');
      const meta = { dataset: a.dataset, command: commandLine(['pris', ...rawArgs]), date: new Date().toISOString(), budgetSeconds, k, fixed };
      const modelOut = path.join('models', `${path.basename(path.resolve(a.dataset))}-tuned`);
      const keepThreads = given.threads !== undefined;
      let result;
      try {
        result = await tune(ds, {
          fixed,
          space: search,
          budgetSeconds,
          ...(maxTrials !== undefined ? { maxTrials } : {}),
          signal: stop.signal,
          onEpoch: (n) => bar.update(Math.min(Math.ceil(budgetSeconds), Math.round((performance.now() - t0) / 1000)), { trial: n, best: best?.toFixed(4) ?? '-' }),
          onTrial: (t) => {
            if (t.score !== undefined && t.status !== 'diverged' && (best === undefined || t.score > best)) best = t.score;
            bar.log(trialLine(t, k));
            // The trials so far are on disk after each one, should the process be killed.
            done.push(t);
            out?.writeFile('trials.csv', trialsCsv(done, k));
          },
        });
      } finally {
        bar.stop();
        stop.dispose();
      }
      const command = result.bestConfig ? trainCommand(a.dataset, modelOut, result.bestConfig, keepThreads) : undefined;
      if (out) {
        out.writeFile('trials.csv', trialsCsv(result.trials, k));
        out.writeFile('trials.json', trialsJson(result, { ...meta, trainCommand: command }));
        out.finish();
      }
      if (a.json) {
        process.stdout.write(trialsJson(result, { ...meta, trainCommand: command }));
      } else {
        const { header, rows, align } = trialRows(result, k);
        const why = { budget: 'the budget ran out', trials: `--trials ${maxTrials} reached`, done: 'the search ended (the smallest step found nothing better)', interrupted: 'interrupted' }[result.stopped];
        process.stdout.write(formatTable(header, rows, align));
        process.stdout.write(`${result.trials.length} trial${result.trials.length === 1 ? '' : 's'} in ${duration(result.seconds)}; stopped: ${why}${out ? `; trials in ${a.out}` : ''}\n`);
        if (result.best) process.stdout.write(`best: trial ${result.best.trial}, valid NDCG@${k} ${result.best.score!.toFixed(4)}; train it with:\n  ${command}\n`);
      }
      if (stop.exitCode() !== undefined) throw new UserError('interrupted: the trials so far are above' + (out ? ` and in ${a.out}` : ''), stop.exitCode());
      if (!result.best) throw new UserError(`no trial reached a validation within the budget: give a longer --budget (validation runs every --eval-every epochs)`);
    },
  );
}
