import { UserError } from '../../errors.js';
import { integerField, internField, numberField, splitDelimited } from '../fields.js';
import { lineError, peekLines } from '../input.js';
import { forEachRecord } from './delimited.js';
import type { Format, FormatOptions } from './format.js';

/**
 * Any delimited file. Columns are chosen with --user-col / --item-col (default
 * 0 and 1) and optional --weight-col / --timestamp-col, each a 0-based number
 * or, with --header, a header name. Fields may be quoted with '"' (csv-parse
 * reads those lines). The timestamp must be an integer (e.g. Unix seconds).
 */

const NAMED_DELIMITERS: Record<string, string> = { tab: '\t', '\\t': '\t', comma: ',', semicolon: ';', space: ' ', pipe: '|' };

export function parseDelimiter(s: string | undefined): string {
  if (s === undefined) return ',';
  const d = NAMED_DELIMITERS[s] ?? s;
  if (d === '' || d.includes('\n') || d.includes('"')) throw new UserError(`--delimiter cannot be ${JSON.stringify(s)}`);
  return d;
}

const ROLES = [
  ['user', 'userCol', '--user-col'],
  ['item', 'itemCol', '--item-col'],
  ['weight', 'weightCol', '--weight-col'],
  ['timestamp', 'timestampCol', '--timestamp-col'],
] as const;

type Role = (typeof ROLES)[number][0];

function resolveColumns(file: string, opts: FormatOptions, header: string[] | undefined): Partial<Record<Role, number>> {
  const out: Partial<Record<Role, number>> = {};
  for (const [role, key, flag] of ROLES) {
    const spec = opts[key] ?? (role === 'user' ? '0' : role === 'item' ? '1' : undefined);
    if (spec === undefined) continue;
    const byName = header ? header.findIndex((h) => h.trim() === spec) : -1;
    if (byName >= 0) out[role] = byName;
    else if (/^[0-9]+$/.test(spec)) out[role] = Number(spec);
    else if (header) throw new UserError(`${file}: ${flag} '${spec}' is not a column of the header (${header.join(', ')})`);
    else throw new UserError(`${flag} '${spec}' is a column name: add --header (or give a 0-based column number)`);
  }
  const used = Object.entries(out);
  for (const [role, col] of used) {
    const other = used.find(([r, c]) => r !== role && c === col);
    if (other) throw new UserError(`${file}: the ${role} and ${other[0]} columns are the same column (${col})`);
  }
  return out;
}

export const csv: Format = {
  name: 'csv',
  summary: 'any delimited file: --user-col, --item-col [--weight-col] [--timestamp-col] [--delimiter] [--header]',
  inputs: { min: 1, max: Infinity, meaning: 'file.csv (several files are concatenated)' },
  options: ['userCol', 'itemCol', 'weightCol', 'timestampCol', 'delimiter', 'header'],
  columns: (_inputs, opts) => ({ weight: opts.weightCol !== undefined, timestamp: opts.timestampCol !== undefined, predefinedTest: false }),
  async read(inputs, opts, sink) {
    const delimiter = parseDelimiter(opts.delimiter);
    const hasHeader = opts.header ?? false;
    for (const file of inputs) {
      let names: string[] | undefined;
      if (hasHeader) {
        const [first] = await peekLines(file, 1);
        names = first === undefined ? [] : splitDelimited({ file, line: 1, text: first }, delimiter, '"');
      }
      const col = resolveColumns(file, opts, names);
      const last = Math.max(...Object.values(col));
      const u = col.user!;
      const i = col.item!;
      const w = col.weight;
      const ts = col.timestamp;
      await forEachRecord(
        file,
        { delimiter, quote: '"', header: hasHeader, layout: names?.join(', ') },
        (f, ref) => {
          if (f.n <= last) {
            throw lineError(file, ref.line, `${f.n} fields, but column ${last} is selected`, ref.text);
          }
          sink.add(
            internField(sink.users, f, u, 'user', ref),
            internField(sink.items, f, i, 'item', ref),
            w === undefined ? NaN : numberField(f, w, names?.[w] ?? 'weight', ref),
            ts === undefined ? NaN : integerField(f, ts, names?.[ts] ?? 'timestamp', ref),
          );
        },
        opts,
      );
    }
    return { header: hasHeader };
  },
};
