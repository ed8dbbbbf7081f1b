import { arrow, parquet } from './columnar.js';
import { countlist } from './countlist.js';
import { csv } from './csv.js';
import type { Format } from './format.js';
import { lastfm } from './lastfm.js';
import { lightgcn } from './lightgcn.js';
import { movielens } from './movielens.js';
import { triplets } from './triplets.js';

/** Every raw format `pris data import` reads, by name. */
export const FORMATS: Readonly<Record<string, Format>> = Object.fromEntries(
  [lightgcn, countlist, movielens, triplets, lastfm, csv, parquet, arrow].map((f) => [f.name, f]),
);

export const FORMAT_NAMES = Object.keys(FORMATS);
