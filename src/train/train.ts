import { emptyCsr, nnz, unionCsr, type Csr } from '../data/csr.js';
import { sampleUsersWithItems, usersWithItems } from '../eval/plan.js';
import type { LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { availableCores } from '../pool/pool.js';
import { currentClustering, restoreClustering } from '../samplers/cluster-tables.js';
import type { SchedulerState } from '../cluster/scheduler.js';
import type { Checkpoint, CheckpointArray } from './checkpoint.js';
import { divergence, EarlyStopping, Snapshot } from './early-stopping.js';
import { HISTORY_WEIGHTS, resolveAgainstData, type RunConfig, type TrainConfig } from './options.js';
import { blendUserRows } from '../model/history-blend.js';
import { checkAgainstData, checkResources, planResources, type DataShape } from './resources.js';
import { closeSession, epochProgress, runEpoch, startSession, trainingArrays, type EpochStats, type TrainSession } from './session.js';

/** What the caller hears during a run (all optional; none of it touches the disk by itself). */
export interface TrainHooks {
  /** after every epoch, with its statistics (and validation score when it validated) */
  onEpoch?: (e: EpochStats) => void;
  /** one-line notes (threads lowered to the cores, no validation split, ...) */
  log?: (line: string) => void;
  progress?: 'auto' | 'lines' | 'quiet';
  /** aborting stops the running epoch at the next user and rejects with TrainingInterrupted */
  signal?: AbortSignal;
  /**
   * called every `every` epochs (and on an interrupt) with the whole state;
   * the caller writes it. The arrays are copies that stay unchanged until the
   * returned promise settles, so the next epoch trains while it writes.
   */
  checkpoint?: { every: number; save: (cp: Checkpoint<RunState>) => Promise<void> };
  /** continue from this checkpoint (same data and options; see checkResume) */
  resume?: Checkpoint<RunState>;
}

/** Everything about a run but its arrays: what metrics.json reports and what a checkpoint restores. */
export interface RunState {
  config: RunConfig;
  /** the last completed epoch */
  epoch: number;
  history: EpochStats[];
  best?: { epoch: number; score: number };
  sinceBest: number;
  lowestLoss: number;
  sgdSeconds: number;
  evalSeconds: number;
  positives: number;
  draws: number;
  clusters?: SchedulerState & { version: number };
  /** --history-weight auto: the validation score of each weight tried */
  historyWeights?: Record<string, number>;
  /** a checkpoint taken on an interrupt carries the interrupted epoch's partial updates */
  partial?: boolean;
}

export type Outcome = { kind: 'completed' } | { kind: 'stopped-early'; afterValidations: number } | { kind: 'diverged'; epoch: number; reason: string; kept: number };

export interface Trained {
  session: TrainSession;
  state: RunState;
  outcome: Outcome;
}

/** A run stopped by its abort signal; `checkpointEpoch` is where `--resume` continues from (if a checkpoint was written). */
export class TrainingInterrupted extends Error {
  constructor(
    readonly epoch: number,
    readonly checkpointEpoch: number | undefined,
  ) {
    super(`training was interrupted after epoch ${epoch}`);
    this.name = 'TrainingInterrupted';
  }
}

/** The splits a run trains and validates on: a refit trains on train + valid and does not validate. */
export function trainingData(ds: LoadedDataset, trainOn: TrainConfig['trainOn']): LoadedDataset {
  if (trainOn === 'train') return ds;
  return { ...ds, train: unionCsr([ds.train, ds.valid]), valid: emptyCsr(ds.nUsers, ds.nItems) };
}

export function dataShape(ds: { nUsers: number; nItems: number; train: Csr; valid: Csr; test: Csr }): DataShape {
  let maxUserItems = 0;
  for (let u = 0; u < ds.nUsers; u++) maxUserItems = Math.max(maxUserItems, ds.train.indptr[u + 1]! - ds.train.indptr[u]!);
  return { nUsers: ds.nUsers, nItems: ds.nItems, train: nnz(ds.train), valid: nnz(ds.valid), test: nnz(ds.test), maxUserItems };
}

/**
 * Checks everything that can be known before the first allocation: options
 * against the data, memory against the machine; lowers --threads to the
 * cores (with a note); resolves the 'auto' options on the training data.
 * Returns the configuration the run will use.
 */
export function prepareRun(data: LoadedDataset, config: TrainConfig, log: (line: string) => void = () => {}): RunConfig {
  const shape = dataShape(data);
  let cfg = resolveAgainstData(config, shape);
  const cores = availableCores();
  if (cfg.threads > cores) {
    log(`note: --threads ${cfg.threads} is more than the ${cores} cores of this machine; using ${cores}`);
    cfg = { ...cfg, threads: cores };
  }
  if (cfg.positiveWeights !== 'none' && !data.meta.hasWeight) {
    throw new UserError(`--positive-weights ${cfg.positiveWeights}: ${data.dir} has no weight column (import a format with counts or ratings, or csv --weight-col)`);
  }
  if (cfg.positiveWeights !== 'none' && cfg.optimizer === 'adam') {
    throw new UserError(`--positive-weights scales each sample's step: use a per-sample optimizer (adagrad-row, adagrad, sgd), not --optimizer adam`);
  }
  if (cfg.historyWeight === 'auto' && shape.valid === 0) {
    throw new UserError(`--history-weight auto is chosen on validation, and ${data.dir} has an empty validation split: give a number`);
  }
  checkAgainstData(shape, cfg);
  checkResources(planResources(shape, cfg), cfg);
  return cfg;
}

/**
 * Trains a model: epochs on the pool, validation every `evalEvery` epochs
 * with early stopping, the best validated state kept, divergence caught,
 * checkpoints handed to the caller. The returned session stays open (the
 * model's workers and arena) until the caller closes it.
 */
export async function trainModel(ds: LoadedDataset, config: TrainConfig, hooks: TrainHooks = {}): Promise<Trained> {
  const data = trainingData(ds, config.trainOn);
  const cfg = prepareRun(data, config, hooks.log);
  const session = startSession(data, cfg, cfg.trainOn === 'train+valid' ? ['train', 'valid'] : ['train']);
  try {
    const run = new TrainingRun(session, data, hooks);
    if (hooks.resume) run.restore(hooks.resume);
    const outcome = await run.epochs();
    return { session, state: run.state, outcome };
  } catch (e) {
    await closeSession(session);
    throw e;
  }
}

/** One run's loop and the state around it; each part is a method. */
class TrainingRun {
  readonly state: RunState;
  private readonly stopping: EarlyStopping;
  private readonly lastGood: Snapshot;
  private lastCheckpoint = 0;
  /** the checkpoint being written, from copies (lastGood, the best state, `frozen`) that must not change meanwhile */
  private writing: Promise<void> | undefined;
  private frozen: Record<string, CheckpointArray> | undefined;
  private readonly cfg: RunConfig;
  /** lines for the log once the progress bar has gone */
  private readonly notes: string[] = [];

  constructor(
    private readonly s: TrainSession,
    private readonly data: LoadedDataset,
    private readonly hooks: TrainHooks,
  ) {
    this.cfg = s.config;
    this.state = { config: this.cfg, epoch: 0, history: [], sinceBest: 0, lowestLoss: Infinity, sgdSeconds: 0, evalSeconds: 0, positives: 0, draws: 0 };
    this.stopping = new EarlyStopping(s.model, this.cfg.patience);
    this.lastGood = new Snapshot(s.model);
  }

  private get validates(): boolean {
    return this.cfg.evalEvery > 0 && nnz(this.data.valid) > 0;
  }

  /** The epoch loop: from the first epoch not yet run to the last, or until stopped. */
  async epochs(): Promise<Outcome> {
    const cfg = this.cfg;
    if (cfg.evalEvery > 0 && !this.validates && cfg.trainOn === 'train') this.hooks.log?.('note: the validation split is empty; training without validation');
    if (this.validates && cfg.validUsers > 0) {
      const eligible = usersWithItems(this.data.valid).length;
      if (eligible > cfg.validUsers) {
        this.hooks.log?.(`note: validating on a fixed sample of ${cfg.validUsers.toLocaleString('en-US')} of the ${eligible.toLocaleString('en-US')} users with validation items (--valid-users; 0 = all)`);
      }
    }
    const perEpoch = nnz(this.data.train);
    const bar = epochProgress(cfg, perEpoch, this.hooks.progress ?? 'quiet');
    const abort = () => Atomics.store(this.s.shared.abort, 0, 1);
    this.hooks.signal?.addEventListener('abort', abort);
    try {
      for (let epoch = this.state.epoch + 1; epoch <= cfg.epochs; epoch++) {
        if (this.hooks.signal?.aborted) abort();
        const before = (epoch - 1) * perEpoch;
        const st = await runEpoch(this.s, epoch, (done) => bar.update(before + done));
        // The last checkpoint's copies are about to change: its write has had the whole epoch.
        await this.written();
        if (!st.complete) return await this.interrupted();
        const diverged = this.record(st);
        if (diverged) return await this.diverge(epoch, diverged);
        await this.s.clusters?.afterEpoch(epoch);
        const stop = this.due(cfg.evalEvery, epoch) && this.validates ? await this.validate(st) : false;
        bar.update(epoch * perEpoch, { epoch: `${epoch}/${cfg.epochs}`, loss: st.loss.toFixed(4), pos_s: Math.round(st.positives / st.seconds), ...(st.valid !== undefined ? { valid: st.valid.toFixed(4) } : {}) });
        bar.log(epochLine(st, cfg) + (stop ? ` (no improvement for ${cfg.patience} validations: stopping)` : ''));
        this.hooks.onEpoch?.(st);
        if (this.hooks.checkpoint && (this.due(this.hooks.checkpoint.every, epoch) || stop)) this.checkpoint(false);
        if (stop) return await this.finish({ kind: 'stopped-early', afterValidations: cfg.patience });
      }
      return await this.finish({ kind: 'completed' });
    } finally {
      this.hooks.signal?.removeEventListener('abort', abort);
      bar.stop();
      for (const line of this.notes.splice(0)) this.hooks.log?.(line);
      await this.s.clusters?.drain();
      await this.written().catch(() => {});
    }
  }

  /** Waits for the checkpoint being written (its failure is the run's). */
  private async written(): Promise<void> {
    const w = this.writing;
    this.writing = undefined;
    await w;
  }

  private due(every: number, epoch: number): boolean {
    return every > 0 && (epoch % every === 0 || epoch === this.cfg.epochs);
  }

  /** Adds an epoch to the history; returns why it diverged, if it did. */
  private record(st: EpochStats): string | undefined {
    if (st.epoch === 1 && st.positives === 0 && this.state.epoch === 0) {
      throw new UserError(
        `no positive was trained in epoch 1: all ${st.skippedUsers} users with training items were skipped ` +
          '(the sampler had no item left to draw for any of them; see --sampler, --exact-mask-top, or a dataset with more items)',
      );
    }
    const st2 = this.state;
    st2.history.push(st);
    const reason = divergence(st.loss, st2.lowestLoss);
    if (reason) return reason;
    st2.epoch = st.epoch;
    st2.lowestLoss = Math.min(st2.lowestLoss, st.loss);
    st2.sgdSeconds += st.seconds;
    st2.positives += st.positives;
    st2.draws += st.drawsPerNegative * st.positives;
    this.lastGood.take(this.s.model, st.epoch);
    return undefined;
  }

  /** Validation NDCG at the first cutoff; true when early stopping says stop. */
  private async validate(st: EpochStats): Promise<boolean> {
    st.valid = await this.validationScore();
    const stop = this.stopping.observe(st.epoch, st.valid, this.s.model);
    this.state.best = { epoch: this.stopping.bestEpoch, score: this.stopping.bestScore };
    this.state.sinceBest = this.stopping.sinceBest;
    return stop;
  }

  /** Validation NDCG at the first cutoff, on the same users every time (and for every run with this seed). */
  private async validationScore(): Promise<number> {
    const v = await this.s.pool.evaluate({
      target: 'valid',
      exclude: ['train'],
      ks: [this.cfg.k[0]!],
      ...(this.cfg.validUsers > 0 ? { sampleUsers: this.cfg.validUsers, sampleSeed: this.cfg.seed } : {}),
    });
    this.state.evalSeconds += v.seconds;
    return v.perK[0]!.ndcg;
  }

  /** The best validated state replaces the last one (when there was validation); the last checkpoint is on disk. */
  private async finish(o: Outcome): Promise<Outcome> {
    await this.written();
    if (this.stopping.bestEpoch > 0) this.stopping.best.restore(this.s.model);
    await this.blendHistory();
    return o;
  }

  /**
   * --history-weight: the kept user rows blended with each user's training
   * items (src/model/history-blend.ts), after the last checkpoint, so a
   * resumed run blends the raw rows again. 'auto' tries each weight on the
   * validation sample early stopping used and keeps the best (0 among them);
   * config.json then records the weight chosen.
   */
  private async blendHistory(): Promise<void> {
    const m = this.s.model;
    const w = this.cfg.historyWeight;
    const history = [this.data.train];
    if (w !== 'auto') {
      if (w > 0) blendUserRows(m.user, m.item, m.dim, history, w);
      return;
    }
    // Validation reads only its sample's rows, so each weight tried blends
    // those; the whole table is blended once, at the weight chosen.
    const raw = m.user.slice();
    const scored = this.cfg.validUsers > 0 ? sampleUsersWithItems(this.data.valid, this.cfg.validUsers, this.cfg.seed) : usersWithItems(this.data.valid);
    const scores: Record<string, number> = {};
    let best = 0;
    for (const x of HISTORY_WEIGHTS) {
      blendUserRows(m.user, m.item, m.dim, history, x, raw, scored);
      scores[String(x)] = await this.validationScore();
      if (scores[String(x)]! > scores[String(best)]!) best = x;
    }
    blendUserRows(m.user, m.item, m.dim, history, best, raw);
    this.cfg.historyWeight = best;
    this.state.historyWeights = scores;
    this.notes.push(`history weight ${best}: valid ndcg@${this.cfg.k[0]} ${scores[String(best)]!.toFixed(4)} (${scores['0']!.toFixed(4)} without)`);
  }

  /** Divergence: the best validated state if any, else the last good epoch; nothing good at all is an error. */
  private async diverge(epoch: number, reason: string): Promise<Outcome> {
    await this.written();
    const kept = this.stopping.bestEpoch > 0 ? this.stopping.best : this.lastGood.epoch > 0 ? this.lastGood : undefined;
    if (!kept) {
      throw new UserError(`training diverged in epoch ${epoch}: ${reason}. The learning rate (--lr ${this.cfg.lr}) is probably too large for --optimizer ${this.cfg.optimizer}; try a smaller one. No epoch trained well: nothing was kept.`);
    }
    kept.restore(this.s.model);
    await this.blendHistory();
    return { kind: 'diverged', epoch, reason, kept: kept.epoch };
  }

  /** An abort cut the epoch short: keep a checkpoint if the last one is older than the last completed epoch. */
  private async interrupted(): Promise<never> {
    let at: number | undefined = this.lastCheckpoint > 0 ? this.lastCheckpoint : undefined;
    if (this.hooks.checkpoint && this.lastCheckpoint < this.state.epoch) {
      // The embeddings of the last completed epoch (lastGood); the optimizer state includes the cut epoch's steps.
      this.checkpoint(true);
      await this.written();
      at = this.state.epoch;
    }
    throw new TrainingInterrupted(this.state.epoch, at);
  }

  /**
   * Starts writing a checkpoint of the last completed epoch. The embeddings
   * come from lastGood and the best state (unchanged until the next epoch
   * ends or the next validation), the rest from copies made here, so SGD
   * goes on while the file is written.
   */
  private checkpoint(partial: boolean): void {
    const { user: _u, item: _i, ...rest } = trainingArrays(this.s);
    this.frozen ??= Object.fromEntries(Object.entries(rest).map(([k, a]) => [k, a.slice()])) as Record<string, CheckpointArray>;
    for (const [k, a] of Object.entries(rest)) (this.frozen[k] as Float32Array).set(a as Float32Array);
    const arrays: Record<string, CheckpointArray> = { user: this.lastGood.user, item: this.lastGood.item, ...this.frozen };
    if (this.stopping.bestEpoch > 0) Object.assign(arrays, { bestUser: this.stopping.best.user, bestItem: this.stopping.best.item });
    const tables = this.s.cluster?.tables.clusters;
    const published = tables ? currentClustering(tables) : undefined;
    if (published) Object.assign(arrays, { clusterCenters: published.centers, clusterLabels: published.labels });
    const state: RunState = { ...this.state, history: [...this.state.history], ...(partial ? { partial } : {}) };
    if (this.s.clusters) state.clusters = { ...this.s.clusters.state(), version: published?.version ?? 0 };
    this.writing = this.hooks.checkpoint!.save({ state, arrays });
    this.lastCheckpoint = this.state.epoch;
  }

  /** Puts a checkpoint's state back; the arrays must have this run's shapes. */
  restore(cp: Checkpoint<RunState>): void {
    const live = trainingArrays(this.s);
    for (const [name, a] of Object.entries(live)) {
      const saved = cp.arrays[name];
      if (!saved) throw new UserError(`the checkpoint has no '${name}' state: it was written by a run with other options`);
      // adam's per-shard step counts follow --threads; everything else must match exactly.
      if (saved.length !== a.length && name !== 'adamSteps') throw new UserError(`the checkpoint's '${name}' has ${saved.length} values, this run ${a.length}: other data or options`);
      a.set(saved.subarray(0, Math.min(a.length, saved.length)));
    }
    const st = cp.state;
    Object.assign(this.state, { ...st, config: this.cfg, history: [...st.history], partial: undefined });
    this.lastGood.take(this.s.model, st.epoch);
    this.lastCheckpoint = st.epoch;
    if (st.best && cp.arrays.bestUser && cp.arrays.bestItem) {
      this.stopping.best.user.set(cp.arrays.bestUser as Float32Array);
      this.stopping.best.item.set(cp.arrays.bestItem as Float32Array);
      this.stopping.best.epoch = st.best.epoch;
      this.stopping.bestScore = st.best.score;
      this.stopping.sinceBest = st.sinceBest;
    }
    const tables = this.s.cluster?.tables.clusters;
    if (tables && st.clusters && st.clusters.version > 0 && cp.arrays.clusterCenters && cp.arrays.clusterLabels) {
      restoreClustering(tables, { version: st.clusters.version, centers: cp.arrays.clusterCenters as Float32Array, labels: cp.arrays.clusterLabels as Int32Array }, this.s.cluster!.tables.popularity?.f);
    }
    if (st.clusters) this.s.clusters?.restore(st.clusters);
  }
}

function epochLine(st: EpochStats, cfg: RunConfig): string {
  let line = `epoch ${st.epoch}/${cfg.epochs} loss ${st.loss.toFixed(4)} ${Math.round(st.positives / st.seconds)} pos/s ${st.seconds.toFixed(2)}s`;
  if (st.valid !== undefined) line += ` valid ndcg@${cfg.k[0]} ${st.valid.toFixed(4)}`;
  return line;
}

/** Per-run figures for metrics.json (the caller adds test metrics and timings of its own). */
export function runSummary(t: Trained): Record<string, unknown> {
  const st = t.state;
  const o = t.outcome;
  return {
    status: o.kind === 'diverged' ? 'diverged' : 'ok',
    ...(o.kind === 'diverged' ? { diverged_at_epoch: o.epoch, divergence: o.reason, kept_epoch: o.kept } : {}),
    ...(o.kind === 'stopped-early' ? { stopped_early: true } : {}),
    ...(st.best ? { best_epoch: st.best.epoch, valid: { [`ndcg@${st.config.k[0]}`]: st.best.score } } : {}),
    // auto may choose 0: its scores are reported all the same.
    ...(st.config.historyWeight !== 0 || st.historyWeights ? { history_weight: st.config.historyWeight, ...(st.historyWeights ? { history_weight_valid: st.historyWeights } : {}) } : {}),
    epochs_run: st.history.length,
    train_seconds: st.sgdSeconds,
    positives_per_second: st.sgdSeconds > 0 ? st.positives / st.sgdSeconds : 0,
    eval_seconds: st.evalSeconds,
    draws_per_negative: st.positives > 0 ? st.draws / st.positives : 0,
    skipped_users: st.history.at(-1)?.skippedUsers ?? 0,
    threads: st.config.threads,
    ...(t.session.clusters?.summary() ? { clustering: t.session.clusters.summary() } : {}),
    history: st.history,
  };
}
