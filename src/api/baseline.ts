import * as path from 'node:path';
import type { LoadedDataset } from '../data/dataset.js';
import { popularityModel } from '../eval/popularity.js';
import { createArena, withArena } from '../memory/shared.js';
import { resolveTrainConfig } from '../train/options.js';
import { UserError } from '../errors.js';
import { PrisModel } from './model.js';

export const BASELINES = ['popularity'] as const;
export type BaselineKind = (typeof BASELINES)[number];

/**
 * A non-learned baseline as a model, queried and evaluated like a trained
 * one. `popularity`: every user gets the items with the most training
 * interactions (ties: lower item index first), the dataset's known items
 * left out as usual.
 */
export function baselineModel(kind: BaselineKind, ds: LoadedDataset, opts: { threads?: number } = {}): PrisModel {
  if (!BASELINES.includes(kind)) throw new UserError(`unknown baseline '${String(kind)}' (known: ${BASELINES.join(', ')})`);
  const arena = createArena();
  const store = withArena(arena, () => popularityModel(ds.train));
  // Its "training options" are only the defaults: nothing was trained.
  return new PrisModel(store, arena, { config: resolveTrainConfig(), dataset: { dir: path.resolve(ds.dir) }, baseline: kind }, {}, ds, undefined, opts.threads);
}
