import { expectFields, looksNumeric, splitDelimited, type Where } from '../fields.js';
import { forEachLine, type LineOptions } from '../input.js';

/**
 * Row-per-line delimited files (MovieLens, Echonest triplets, Last.fm, any
 * CSV): blank lines are skipped, every other line must have the same number
 * of fields, and the first line may be a header.
 */
export interface DelimitedSpec {
  delimiter: string;
  /** Quote character honoured in fields (csv), or null for formats that never quote. */
  quote: string | null;
  /** Required field count; without it, that of the first line (header or data). */
  fields?: number;
  /** Field names for error messages, e.g. 'user, item, rating, timestamp'. */
  layout?: string;
  /**
   * `true`/`false`: the first line is / is not a header. A list of field
   * positions: detect it, the first line is a header if none of those fields
   * (the numeric ones: rating, timestamp, count) reads as a number.
   */
  header: boolean | readonly number[];
}

/** Calls `fn` for every data line; returns whether a header line was skipped. */
export async function forEachRecord(
  file: string,
  spec: DelimitedSpec,
  fn: (fields: string[], where: Where) => void,
  opts: LineOptions = {},
): Promise<{ header: boolean }> {
  let expected = spec.fields;
  let first = true;
  let header = false;
  await forEachLine(
    file,
    (text, line) => {
      if (text.trim() === '') return;
      const where = { file, line, text };
      const fields = splitDelimited(where, spec.delimiter, spec.quote);
      if (expected === undefined) expected = fields.length;
      const layout = spec.layout ?? `delimiter ${JSON.stringify(spec.delimiter)}`;
      if (first) {
        first = false;
        header = typeof spec.header === 'boolean' ? spec.header : spec.header.every((k) => !looksNumeric(fields[k] ?? ''));
        if (header) {
          expectFields(fields, expected, layout, where);
          return;
        }
      }
      expectFields(fields, expected, layout, where);
      fn(fields, where);
    },
    opts,
  );
  return { header };
}
