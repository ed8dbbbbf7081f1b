import { internField, numberField } from '../fields.js';
import { forEachRecord } from './delimited.js';
import type { RowCollector } from '../collect.js';
import type { ByteRange, LineOptions } from '../input.js';
import type { Format, FormatOptions } from './format.js';

/**
 * Tab-separated `user item count` rows: the Echonest / MSD Taste Profile
 * triplets and, with its header, Last.fm HetRec `user_artists.dat`. The
 * third field becomes the weight (filter it with --min-count).
 */
export function tabTriples(name: string, summary: string, meaning: string, third: string): Format {
  const readFile = (file: string, opts: FormatOptions & LineOptions, sink: RowCollector, range?: ByteRange) =>
    forEachRecord(
      file,
      { delimiter: '\t', quote: null, fields: 3, layout: `user, item, ${third}`, header: [2] },
      (f, ref) => sink.add(internField(sink.users, f, 0, 'user', ref), internField(sink.items, f, 1, 'item', ref), numberField(f, 2, third, ref)),
      opts,
      range,
    );
  return {
    name,
    summary,
    inputs: { min: 1, max: Infinity, meaning },
    options: [],
    columns: () => ({ weight: true, timestamp: false, predefinedTest: false }),
    async read(inputs, opts, sink) {
      let header = false;
      for (const file of inputs) header = (await readFile(file, opts, sink)).header || header;
      return { header };
    },
    readRange: (file, range, opts, sink) => readFile(file, opts, sink, range),
  };
}

export const triplets = tabTriples(
  'triplets',
  "Echonest / MSD taste profile 'user<TAB>song<TAB>count' (count → weight)",
  'train_triplets.txt (several files are concatenated)',
  'play count',
);
