import { expectFields, Fields, looksNumeric, splitBytes, splitQuoted } from '../fields.js';
import { forEachLineBytes, type ByteRange, type LineOptions, type LineRef } from '../input.js';

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

const isBlankLine = (ref: LineRef): boolean => {
  for (let k = ref.start; k < ref.end; k++) {
    const b = ref.buf[k]!;
    if (b !== 32 && (b < 9 || b > 13)) return false;
  }
  return true;
};

const hasByte = (ref: LineRef, b: number): boolean => {
  for (let k = ref.start; k < ref.end; k++) if (ref.buf[k] === b) return true;
  return false;
};

/**
 * Calls `fn` for every data line with its fields as byte ranges (`Fields`,
 * valid during the call); returns whether a header line was skipped and how
 * many lines were read. With a `range` that does not start the file, there
 * is no header to detect (the spec must then fix the field count).
 */
export async function forEachRecord(
  file: string,
  spec: DelimitedSpec,
  fn: (fields: Fields, ref: LineRef) => void,
  opts: LineOptions = {},
  range?: ByteRange,
): Promise<{ header: boolean; lines: number }> {
  let expected = spec.fields;
  let first = range?.first ?? true;
  let header = false;
  const delim = Buffer.from(spec.delimiter, 'utf8');
  const quote = spec.quote === null ? -1 : spec.quote.charCodeAt(0);
  const fields = new Fields();
  const layout = spec.layout ?? `delimiter ${JSON.stringify(spec.delimiter)}`;
  const lines = await forEachLineBytes(
    file,
    (ref) => {
      if (isBlankLine(ref)) return;
      if (quote >= 0 && hasByte(ref, quote)) {
        splitQuoted(ref, spec.delimiter, spec.quote!, fields);
      } else {
        splitBytes(ref, delim, fields);
      }
      if (expected === undefined) expected = fields.n;
      if (fields.n !== expected) expectFields(new Array<string>(fields.n), expected, layout, ref);
      if (first) {
        first = false;
        header = typeof spec.header === 'boolean' ? spec.header : spec.header.every((k) => k >= fields.n || !looksNumeric(fields.text(k)));
        if (header) return;
      }
      fn(fields, ref);
    },
    opts,
    range,
  );
  return { header, lines };
}
