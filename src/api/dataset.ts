import { loadDataset as loadDir, type LoadedDataset } from '../data/dataset.js';

/** A dataset directory made by `pris data import` and `pris data split`: its three splits, id maps and meta.json. */
export type Dataset = LoadedDataset;

/** Loads a split dataset directory (the splits into memory that worker threads share without copying). */
export function loadDataset(dir: string): Promise<Dataset> {
  return Promise.resolve(loadDir(dir));
}
