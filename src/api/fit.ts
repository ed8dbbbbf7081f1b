import * as path from 'node:path';
import type { LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { EpochStats } from '../train/session.js';
import { resolveTrainConfig, type TrainConfig } from '../train/options.js';
import { runSummary, trainModel, type RunState, type TrainHooks } from '../train/train.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { PrisModel } from './model.js';

/** What `fit` takes: any training option of the table (src/train/options.ts, `pris train --help`), plus hooks. */
export interface FitOptions extends Partial<TrainConfig> {
  /** after every epoch: its loss, speed and validation NDCG when it validated */
  onEpoch?: (e: EpochStats) => void;
  /** one-line notes (threads lowered to the cores, no validation split) */
  onLog?: (line: string) => void;
  /** a progress bar or lines on stderr (default: none) */
  progress?: 'auto' | 'lines' | 'quiet';
  /** stops training at the next user: fit rejects with TrainingInterrupted */
  signal?: AbortSignal;
  /** checkpoints handed to `save` every `every` epochs (fit itself writes nothing) */
  checkpoint?: { every: number; save: (cp: Checkpoint<RunState>) => Promise<void> };
  /** continue a run from its checkpoint */
  resume?: Checkpoint<RunState>;
}

/** Training went wrong: `model` holds the best state reached before it did (saved by `pris train`). */
export class TrainingDiverged extends UserError {
  constructor(
    message: string,
    readonly model: PrisModel,
    readonly summary: Record<string, unknown>,
  ) {
    super(message);
  }
}

function configOf(o: FitOptions): Partial<TrainConfig> {
  const { onEpoch: _a, onLog: _b, progress: _c, signal: _d, checkpoint: _e, resume: _f, ...config } = o;
  return config;
}

/**
 * Trains a model on a dataset (`loadDataset`) with the PRIS loss on every
 * core; no disk I/O. Returns the model with its workers ready for queries.
 */
export async function fit(ds: LoadedDataset, options: FitOptions = {}): Promise<PrisModel> {
  const config = resolveTrainConfig(configOf(options));
  const hooks: TrainHooks = {
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    ...(options.onLog ? { log: options.onLog } : {}),
    progress: options.progress ?? 'quiet',
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
    ...(options.resume ? { resume: options.resume } : {}),
  };
  const trained = await trainModel(ds, config, hooks);
  const summary = runSummary(trained);
  const s = trained.session;
  const model = new PrisModel(
    s.model,
    s.arena,
    { config: s.config, dataset: { dir: path.resolve(ds.dir), ...(ds.meta.split?.fingerprint ? { fingerprint: ds.meta.split.fingerprint } : {}) }, summary },
    {},
    ds,
    s.pool,
  );
  const o = trained.outcome;
  if (o.kind === 'diverged') {
    throw new TrainingDiverged(
      `training diverged in epoch ${o.epoch}: ${o.reason}. The learning rate (--lr ${config.lr}) is probably too large for --optimizer ${config.optimizer}; try a smaller one. ` +
        `Kept the ${trained.state.best ? 'best validated' : 'last good'} state, epoch ${o.kept}.`,
      model,
      summary,
    );
  }
  return model;
}
