/**
 * `pris tune`: the learning rate and regularisation (and optionally the
 * dimension and the sampler) chosen by validation NDCG@k within a time
 * budget. Each trial is one `fit` with early stopping and the same seed, so
 * trials differ only by their settings.
 *
 * The search (TuneSearch) is a compass search on a log scale:
 *   1. the start: the table's defaults (or every pair of the --lr and --reg
 *      values given), at the first --dim and --sampler;
 *   2. every other --dim/--sampler at the best lr and reg so far;
 *   3. refinement around the best: lr and reg each multiplied and divided
 *      by a step (x4 at first); when a neighbour is better the search moves
 *      there, when none is the step shrinks (x4, x2, x1.41) and the search
 *      ends after the smallest.
 * A trial starts only while the budget lasts and at least half the median
 * trial's time is left; the one running when the budget ends is stopped and
 * kept with the validations it reached.
 */
import type { LoadedDataset } from '../data/dataset.js';
import { nnz } from '../data/csr.js';
import { UserError } from '../errors.js';
import { fit, TrainingDiverged } from '../api/fit.js';
import { TrainingInterrupted } from '../train/train.js';
import type { EpochStats } from '../train/session.js';
import { resolveTrainConfig, type TrainConfig } from '../train/options.js';
import type { SamplerKind } from '../samplers/index.js';

/** The values a trial sets; everything else is the fixed configuration. */
export interface TuneSettings {
  lr: number;
  reg: number;
  dim: number;
  sampler: SamplerKind;
}

export interface TuneSpace {
  /** start values (more than one: every pair with reg is tried first) */
  lr: number[];
  reg: number[];
  /** candidates, each tried at the best lr and reg */
  dim: number[];
  sampler: SamplerKind[];
}

export type TrialStatus = 'ok' | 'budget' | 'diverged';

export interface TrialResult {
  /** best validation NDCG@k reached (undefined: no validation before it stopped or diverged) */
  score: number | undefined;
  bestEpoch: number | undefined;
  epochs: number;
  seconds: number;
  status: TrialStatus;
}

export interface Trial extends TrialResult {
  trial: number;
  settings: TuneSettings;
  /** which step of the search proposed it */
  phase: 'start' | 'candidates' | 'refine';
}

/** The multiplicative step of the refinement at the start, and the smallest one tried. */
export const FIRST_STEP = 4;
const LAST_STEP = Math.SQRT2;

const key = (s: TuneSettings) => `${s.lr}|${s.reg}|${s.dim}|${s.sampler}`;

/** Three significant digits: the values stay readable in the table and the pris train command. */
const round = (x: number) => Number(x.toPrecision(3));

/** The proposal side of the search; it holds no clock and runs nothing, so it is tested alone. */
export class TuneSearch {
  private readonly scores = new Map<string, number>();
  private queue: { settings: TuneSettings; phase: Trial['phase'] }[] = [];
  private stage: 'start' | 'candidates' | 'refine' | 'done' = 'start';
  private best: TuneSettings | undefined;
  private bestScore = -Infinity;
  private center: TuneSettings | undefined;
  private centerScore = -Infinity;
  private step: number;

  constructor(private readonly space: TuneSpace) {
    if (space.lr.length === 0 || space.reg.length === 0 || space.dim.length === 0 || space.sampler.length === 0) throw new Error('an empty search space');
    const first = { dim: space.dim[0]!, sampler: space.sampler[0]! };
    for (const lr of space.lr) for (const reg of space.reg) this.queue.push({ settings: { lr, reg, ...first }, phase: 'start' });
    // With start values given, refinement starts halfway between neighbouring ones (on a log scale).
    const ratios = [space.lr, space.reg].flatMap((v) => {
      const s = [...v].filter((x) => x > 0).sort((a, b) => a - b);
      return s.slice(1).map((x, i) => x / s[i]!);
    });
    this.step = ratios.length ? Math.max(LAST_STEP, Math.sqrt(Math.min(...ratios))) : FIRST_STEP;
  }

  /** The best settings so far and their score. */
  get leader(): { settings: TuneSettings; score: number } | undefined {
    return this.best ? { settings: this.best, score: this.bestScore } : undefined;
  }

  /** The next settings to try, or undefined when the search is over. */
  next(): { settings: TuneSettings; phase: Trial['phase'] } | undefined {
    for (;;) {
      const q = this.queue.shift();
      if (q) {
        if (!this.scores.has(key(q.settings))) return q;
        continue;
      }
      if (!this.advance()) return undefined;
    }
  }

  /** A trial's outcome: its score (-Infinity for one without a validation, or diverged). */
  report(s: TuneSettings, score: number | undefined): void {
    const v = score ?? -Infinity;
    this.scores.set(key(s), v);
    if (v > this.bestScore || !this.best) {
      this.best = s;
      this.bestScore = v;
    }
  }

  /** Queues the next stage's proposals; false when there is none. */
  private advance(): boolean {
    if (this.stage === 'start') {
      this.stage = 'candidates';
      const at = this.best!;
      for (const dim of this.space.dim) {
        for (const sampler of this.space.sampler) this.queue.push({ settings: { lr: at.lr, reg: at.reg, dim, sampler }, phase: 'candidates' });
      }
      return true;
    }
    if (this.stage === 'candidates') {
      this.stage = 'refine';
      this.center = this.best!;
      this.centerScore = this.bestScore;
      this.queueNeighbours();
      return true;
    }
    if (this.stage === 'refine') {
      // The neighbours of the center are all scored: move to a better one, or look closer.
      if (this.bestScore > this.centerScore) {
        this.center = this.best!;
        this.centerScore = this.bestScore;
      } else {
        this.step = Math.sqrt(this.step);
        if (this.step < LAST_STEP * 0.999) {
          this.stage = 'done';
          return false;
        }
      }
      this.queueNeighbours();
      return true;
    }
    return false;
  }

  private queueNeighbours(): void {
    const c = this.center!;
    const s = this.step;
    const around: Partial<TuneSettings>[] = [{ lr: round(c.lr * s) }, { lr: round(c.lr / s) }];
    // A regularisation of 0 has no neighbours on a log scale.
    if (c.reg > 0) around.push({ reg: round(c.reg * s) }, { reg: round(c.reg / s) });
    for (const d of around) this.queue.push({ settings: { ...c, ...d }, phase: 'refine' });
  }
}

export interface TuneOptions {
  /** the options every trial shares (validated), besides the searched ones */
  fixed: Partial<TrainConfig>;
  space: TuneSpace;
  budgetSeconds: number;
  /** at most this many trials */
  maxTrials?: number;
  /** after every epoch of every trial */
  onEpoch?: (trial: number, e: EpochStats) => void;
  onTrial?: (t: Trial) => void;
  /** one-line notes */
  onLog?: (line: string) => void;
  /** stops the search (the running trial is kept with what it reached) */
  signal?: AbortSignal;
  /** seconds; a clock for tests */
  now?: () => number;
  /** runs one trial; `fit` by default (tests give their own) */
  runTrial?: (config: TrainConfig, signal: AbortSignal, onEpoch: (e: EpochStats) => void) => Promise<TrialResult>;
}

export interface TuneResult {
  trials: Trial[];
  /** the best trial (the highest validation NDCG), if any validated */
  best: Trial | undefined;
  stopped: 'budget' | 'trials' | 'done' | 'interrupted';
  seconds: number;
  /** the full configuration of the best trial, as `pris train` would take it */
  bestConfig: TrainConfig | undefined;
}

/** The configuration of a trial: the fixed options, then its settings; every value checked by the table. */
export function trialConfig(fixed: Partial<TrainConfig>, s: TuneSettings): TrainConfig {
  return resolveTrainConfig({ ...fixed, lr: s.lr, reg: s.reg, dim: s.dim, sampler: s.sampler });
}

/** One trial as `fit` runs it: early stopping, the best validation NDCG it reached. */
export function fitTrial(ds: LoadedDataset): NonNullable<TuneOptions['runTrial']> {
  return async (config, signal, onEpoch) => {
    const t0 = performance.now();
    let score: number | undefined;
    let bestEpoch: number | undefined;
    let epochs = 0;
    let status: TrialStatus = 'ok';
    const seen = (e: EpochStats) => {
      epochs = e.epoch;
      if (e.valid !== undefined && Number.isFinite(e.valid) && (score === undefined || e.valid > score)) {
        score = e.valid;
        bestEpoch = e.epoch;
      }
      onEpoch(e);
    };
    try {
      const model = await fit(ds, { ...config, signal, onEpoch: seen });
      await model.close();
    } catch (e) {
      if (e instanceof TrainingDiverged) {
        await e.model.close();
        status = 'diverged';
        score = undefined;
      } else if (e instanceof TrainingInterrupted) {
        status = 'budget';
      } else {
        throw e;
      }
    }
    return { score, bestEpoch, epochs, seconds: (performance.now() - t0) / 1000, status };
  };
}

/** Checks that trials can validate on `ds` with `fixed`, before the first one starts. */
export function checkTunable(ds: LoadedDataset, fixed: Partial<TrainConfig>): void {
  const c = resolveTrainConfig(fixed);
  if (c.trainOn !== 'train') throw new UserError('--train-on train+valid leaves nothing to validate on: tune with --train-on train, then refit the best with pris train --train-on train+valid');
  if (c.evalEvery === 0) throw new UserError('--eval-every 0 turns validation off: tune chooses by validation NDCG');
  if (nnz(ds.valid) === 0) throw new UserError(`${ds.dir} has no validation split: tune chooses by validation NDCG (run 'pris data split' with a --valid-fraction)`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the search: trials one after another (each on all the threads) until the budget, --trials or the search ends. */
export async function tune(ds: LoadedDataset | undefined, o: TuneOptions): Promise<TuneResult> {
  const now = o.now ?? (() => performance.now() / 1000);
  const runTrial = o.runTrial ?? fitTrial(ds!);
  const start = now();
  const deadline = start + o.budgetSeconds;
  const search = new TuneSearch(o.space);
  const trials: Trial[] = [];
  let stopped: TuneResult['stopped'] = 'done';
  for (;;) {
    if (o.signal?.aborted) {
      stopped = 'interrupted';
      break;
    }
    if (o.maxTrials !== undefined && trials.length >= o.maxTrials) {
      stopped = 'trials';
      break;
    }
    const left = deadline - now();
    const full = trials.filter((t) => t.status !== 'budget').map((t) => t.seconds);
    if (left <= 0 || (full.length > 0 && left < 0.5 * median(full))) {
      stopped = 'budget';
      break;
    }
    const proposal = search.next();
    if (!proposal) break;
    const config = trialConfig(o.fixed, proposal.settings);
    const n = trials.length + 1;
    // The trial stops at the deadline (or on the caller's signal): what it validated counts.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), Math.max(0, left * 1000));
    const relay = () => stop.abort();
    o.signal?.addEventListener('abort', relay);
    let result: TrialResult;
    try {
      result = await runTrial(config, stop.signal, (e) => o.onEpoch?.(n, e));
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', relay);
    }
    const trial: Trial = { trial: n, settings: proposal.settings, phase: proposal.phase, ...result };
    trials.push(trial);
    search.report(proposal.settings, result.status === 'diverged' ? undefined : result.score);
    o.onTrial?.(trial);
    if (result.status === 'budget') {
      stopped = o.signal?.aborted ? 'interrupted' : 'budget';
      break;
    }
  }
  const best = trials.filter((t) => t.score !== undefined && t.status !== 'diverged').reduce<Trial | undefined>((b, t) => (!b || t.score! > b.score! ? t : b), undefined);
  return { trials, best, stopped, seconds: now() - start, bestConfig: best ? trialConfig(o.fixed, best.settings) : undefined };
}
