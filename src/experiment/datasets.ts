/**
 * The real datasets of ../shared/datasets as pris dataset directories, imported
 * on first use into runs/datasets/ under the working directory (git-ignored in
 * a checkout; the raw files are never copied into the repository, and an
 * installed package's own directory is never written). Shared by
 * `pris experiment` and the benchmark scripts (through scripts/lib/datasets.ts).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../paths.js';
import { importDataset } from '../data/import/run.js';
import { splitDataset } from '../data/split.js';
import { UserError } from '../errors.js';

/** ../shared beside the repository (the paper, datasets, the C reference), or $PRIS_SHARED. */
export const SHARED = process.env.PRIS_SHARED ? path.resolve(process.env.PRIS_SHARED) : path.resolve(packageRoot(), '..', 'shared');
/** The raw datasets: $PRIS_DATASETS, else SHARED/datasets. */
export const SHARED_DATASETS = process.env.PRIS_DATASETS ? path.resolve(process.env.PRIS_DATASETS) : path.join(SHARED, 'datasets');

interface Recipe {
  format: string;
  inputs: string[];
  catalogItems?: number;
  minRating?: string;
}

const RECIPES: Record<string, Recipe> = {
  // The LightGCN split: test = test.txt; validation carved from train.txt.
  gowalla: { format: 'lightgcn', inputs: ['gowalla/train.txt', 'gowalla/test.txt'] },
  'citeulike-t': { format: 'countlist', inputs: ['citeulike-t/users.dat'], catalogItems: 25975 },
  'ml-100k': { format: 'movielens', inputs: ['ml-100k/u.data'], minRating: '>=4' },
  lastfm: { format: 'lastfm', inputs: ['lastfm-hetrec2k/user_artists.dat'] },
};

export const DATASET_NAMES = Object.keys(RECIPES);

/**
 * A split dataset directory for `name` with the given split seed and
 * validation fraction (the paper's protocol: 80/20 per user, 10% of train
 * for validation); imported and split once, then reused.
 */
export async function preparedDataset(name: string, opts: { seed?: number; validFraction?: number } = {}): Promise<string> {
  const recipe = RECIPES[name];
  if (!recipe) throw new UserError(`unknown dataset '${name}' (known: ${DATASET_NAMES.join(', ')})`);
  const seed = opts.seed ?? 1;
  const vf = opts.validFraction ?? 0.1;
  const dir = path.resolve('runs', 'datasets', `${name}-seed${seed}-valid${vf}`);
  if (existsSync(path.join(dir, 'train.arrow'))) return dir;
  const inputs = recipe.inputs.map((f) => path.join(SHARED_DATASETS, f));
  for (const f of inputs) if (!existsSync(f)) throw new UserError(`dataset file not found: ${f} (expected ../shared/datasets beside the repository)`);
  await importDataset({
    format: recipe.format,
    inputs,
    out: dir,
    // The cache is pris's own: an import interrupted before its split is redone.
    force: true,
    ...(recipe.catalogItems ? { catalogItems: recipe.catalogItems } : {}),
    ...(recipe.minRating ? { minRating: recipe.minRating } : {}),
  });
  await splitDataset(dir, { seed, validFraction: vf, force: true });
  return dir;
}
