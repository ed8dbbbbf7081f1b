import { UserError } from '../../errors.js';
import { integerField, internIntegerField, numberField } from '../fields.js';
import { peekLines } from '../input.js';
import { forEachRecord } from './delimited.js';
import type { RowCollector } from '../collect.js';
import type { ByteRange, LineOptions } from '../input.js';
import type { Format, FormatOptions } from './format.js';

/**
 * MovieLens ratings, `user item rating timestamp` in one of three layouts.
 * The layout is detected from the first line (`::` → dat, a tab → tsv, a comma
 * → csv) unless --variant names it; a header line is recognised by its
 * non-numeric rating and timestamp fields. Rating → weight, timestamp → timestamp.
 * User and movie ids are non-negative integers in every MovieLens release;
 * anything else is a damaged line.
 */
export const MOVIELENS_VARIANTS = {
  tsv: { delimiter: '\t', files: 'ML-100K u.data' },
  dat: { delimiter: '::', files: 'ML-1M / ML-10M ratings.dat' },
  csv: { delimiter: ',', files: 'ML-20M / ML-25M / ML-32M / ml-latest ratings.csv (with header)' },
} as const;

export type MovieLensVariant = keyof typeof MOVIELENS_VARIANTS;

async function detectVariant(file: string): Promise<MovieLensVariant> {
  const [first] = await peekLines(file, 1);
  if (first === undefined) throw new UserError(`${file}: empty file`);
  if (first.includes('::')) return 'dat';
  if (first.includes('\t')) return 'tsv';
  if (first.includes(',')) return 'csv';
  throw new UserError(`${file}:1: cannot tell the MovieLens layout (no '::', tab or comma); pass --variant tsv|dat|csv`);
}

/** One file: its layout (given or detected from its first line), then its rows. */
async function readFile(file: string, opts: FormatOptions & LineOptions, sink: RowCollector, range?: ByteRange) {
  const variant = (opts.variant as MovieLensVariant | undefined) ?? (await detectVariant(file));
  const r = await forEachRecord(
    file,
    { delimiter: MOVIELENS_VARIANTS[variant].delimiter, quote: null, fields: 4, layout: 'user, item, rating, timestamp', header: [2, 3] },
    (f, ref) => {
      sink.add(
        internIntegerField(sink.users, f, 0, 'user', ref),
        internIntegerField(sink.items, f, 1, 'item', ref),
        numberField(f, 2, 'rating', ref),
        integerField(f, 3, 'timestamp', ref),
      );
    },
    opts,
    range,
  );
  return { ...r, variant };
}

function checkVariant(opts: FormatOptions): void {
  if (opts.variant !== undefined && !(opts.variant in MOVIELENS_VARIANTS)) {
    throw new UserError(`--variant must be one of ${Object.keys(MOVIELENS_VARIANTS).join(', ')} (got '${opts.variant}')`);
  }
}

export const movielens: Format = {
  name: 'movielens',
  summary: 'MovieLens ratings: u.data (tsv), ratings.dat (dat, "::"), ratings.csv (csv, header); detected or --variant',
  inputs: { min: 1, max: Infinity, meaning: 'u.data | ratings.dat | ratings.csv (several files are concatenated)' },
  options: ['variant'],
  columns: () => ({ weight: true, timestamp: true, predefinedTest: false }),
  async read(inputs, opts, sink) {
    checkVariant(opts);
    const used = new Set<string>();
    let header = false;
    for (const file of inputs) {
      const r = await readFile(file, opts, sink);
      used.add(r.variant);
      header ||= r.header;
    }
    return { variant: [...used].join(','), header };
  },
  async readRange(file, range, opts, sink) {
    checkVariant(opts);
    return readFile(file, opts, sink, range);
  },
};
