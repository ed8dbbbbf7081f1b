import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { LoadedDataset } from '../data/dataset.js';
import { createArena, withArena } from '../memory/shared.js';
import { loadModel as readModelDir, MODEL_FILES, readJson } from '../model/io.js';
import { resolveTrainConfig, TRAIN_OPTIONS, type TrainConfig } from '../train/options.js';
import { PrisModel, type CombinedInfo } from './model.js';

interface SavedConfig extends Partial<TrainConfig> {
  dataset?: string;
  dataset_fingerprint?: string;
  train_on?: TrainConfig['trainOn'];
  combined?: CombinedInfo;
}

/** The training options of a saved config.json (older models: what is missing takes today's defaults). */
function savedConfig(c: SavedConfig): TrainConfig {
  const given: Record<string, unknown> = {};
  for (const o of TRAIN_OPTIONS) if (c[o.key] !== undefined) given[o.key] = c[o.key];
  if (c.train_on && given.trainOn === undefined) given.trainOn = c.train_on;
  return resolveTrainConfig(given as Partial<TrainConfig>);
}

export interface LoadModelOptions {
  /** the dataset the model was trained on: each user's items are then left out of recommendations */
  dataset?: LoadedDataset;
  /** worker threads of recommendations and evaluation (default: every core; more is lowered to the cores) */
  threads?: number;
}

/**
 * Loads a model directory written by `pris train` or `model.save`. With
 * `dataset`, the model knows each user's items (left out of recommendations)
 * and can be evaluated; it must be the dataset the model was trained on.
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<PrisModel> {
  const arena = createArena();
  const loaded = withArena(arena, () => readModelDir(dir));
  const cfgFile = path.join(dir, MODEL_FILES.config);
  const saved = existsSync(cfgFile) ? readJson<SavedConfig>(cfgFile) : {};
  const metricsFile = path.join(dir, MODEL_FILES.metrics);
  const model = new PrisModel(
    loaded.model,
    arena,
    {
      config: savedConfig(saved),
      ...(saved.dataset ? { dataset: { dir: saved.dataset, ...(saved.dataset_fingerprint ? { fingerprint: saved.dataset_fingerprint } : {}) } } : {}),
      ...(existsSync(metricsFile) ? { summary: readJson<Record<string, unknown>>(metricsFile) } : {}),
      ...(saved.combined ? { combined: saved.combined } : {}),
    },
    { users: loaded.userIds, items: loaded.itemIds },
    undefined,
    undefined,
    opts.threads,
  );
  if (opts.dataset) model.attach(opts.dataset, `model ${dir}`);
  return model;
}
