/**
 * --dataset of the experiment script: a dataset directory of the user's own
 * (made by `pris data import` + `pris data split`), or the name of one of the
 * paper's datasets in ../shared/datasets, imported and split on first use.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { hasSplit, readMeta, type DatasetMeta } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { DATASET_NAMES, preparedDataset } from './datasets.js';

export interface ResolvedDataset {
  dir: string;
  /** for output names and table headings: the known name, or the directory's base name */
  label: string;
  /** set for a known dataset (the paper value lookup keys on it) */
  known?: string;
  meta: DatasetMeta;
}

/** The short name of --dataset, known before anything is read: a known dataset's name, or the directory's base name. */
export function datasetLabel(arg: string): string {
  return existsSync(arg) ? path.basename(path.resolve(arg)) : arg;
}

export async function resolveDataset(arg: string): Promise<ResolvedDataset> {
  // A path wins over a name, so a user's own directory called "gowalla" is used as is.
  if (existsSync(arg)) {
    const dir = path.resolve(arg);
    const meta = readMeta(dir);
    if (!hasSplit(dir)) throw new UserError(`${arg} has no train/valid/test split; run 'pris data split ${arg} --seed 1' first`);
    return { dir, label: datasetLabel(arg), meta };
  }
  if (DATASET_NAMES.includes(arg)) {
    const dir = await preparedDataset(arg);
    return { dir, label: arg, known: arg, meta: readMeta(dir) };
  }
  throw new UserError(`--dataset ${arg}: no such directory, and not one of the known datasets (${DATASET_NAMES.join(', ')})`);
}
