import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { LoadedDataset } from '../data/dataset.js';
import { createArena, withArena } from '../memory/shared.js';
import { checkModelDir, loadModel as readModelDir, MODEL_FILES, readJson } from '../model/io.js';
import { resolveTrainConfig, TRAIN_OPTIONS, type TrainConfig } from '../train/options.js';
import { PrisModel, type CombinedInfo, type ModelInfo } from './model.js';

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
  const model = new PrisModel(loaded.model, arena, readModelInfo(dir), { users: loaded.userIds, items: loaded.itemIds }, undefined, undefined, opts.threads);
  if (opts.dataset) model.attach(opts.dataset, `model ${dir}`);
  return model;
}

/** What a model directory's config.json and metrics.json say, without loading its embeddings. */
export function readModelInfo(dir: string): ModelInfo {
  checkModelDir(dir);
  const cfgFile = path.join(dir, MODEL_FILES.config);
  const saved = existsSync(cfgFile) ? readJson<SavedConfig>(cfgFile) : {};
  const metricsFile = path.join(dir, MODEL_FILES.metrics);
  return {
    config: savedConfig(saved),
    ...(saved.dataset ? { dataset: { dir: saved.dataset, ...(saved.dataset_fingerprint ? { fingerprint: saved.dataset_fingerprint } : {}) } } : {}),
    ...(existsSync(metricsFile) ? { summary: readJson<Record<string, unknown>>(metricsFile) } : {}),
    ...(saved.combined ? { combined: saved.combined } : {}),
  };
}

/** Loads the model directories one after another, runs `fn` on them, and closes every model loaded, whatever happens. */
export async function withModels<T>(dirs: readonly string[], opts: LoadModelOptions, fn: (models: PrisModel[]) => Promise<T>): Promise<T> {
  const models: PrisModel[] = [];
  try {
    for (const dir of dirs) models.push(await loadModel(dir, opts));
    return await fn(models);
  } finally {
    await Promise.all(models.map((m) => m.close()));
  }
}
