import { parse as parseCsvSync } from 'csv-parse/sync';
import { lineError } from './input.js';

/**
 * Turning one line of text into fields and fields into values, with errors
 * that name the file, the line and the text. `Where` travels with every call
 * so the message can be built only when something is wrong.
 */
export interface Where {
  file: string;
  line: number;
  text: string;
}

/** Whitespace-separated tokens (LightGCN lists, CiteULike count lists). */
export function splitWhitespace(text: string): string[] {
  const t = text.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/**
 * Fields of a delimited line. Lines without a quote character are split
 * directly (the fast path, nearly every line of real interaction data); a line
 * with a quote goes through csv-parse so quoted delimiters and doubled quotes
 * are read by the RFC 4180 rules. A field cannot span lines.
 */
export function splitDelimited(where: Where, delimiter: string, quote: string | null): string[] {
  const { text } = where;
  if (quote === null || !text.includes(quote)) return text.split(delimiter);
  let rows: string[][];
  try {
    rows = parseCsvSync(text, { delimiter, quote, relax_column_count: true, relax_quotes: true }) as string[][];
  } catch (e) {
    throw lineError(where.file, where.line, `cannot parse quoted fields (${(e as Error).message.replace(/\s+at line \d+$/, '')})`, text);
  }
  if (rows.length !== 1) throw lineError(where.file, where.line, 'a quoted field spans lines (not supported)', text);
  return rows[0]!;
}

/** A finite number; `what` names the column in the error (e.g. "rating"). */
export function parseNumber(s: string, what: string, where: Where): number {
  const v = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) throw lineError(where.file, where.line, `${what} is not a number (${JSON.stringify(s)})`, where.text);
  return v;
}

/** An integer that fits a double exactly (timestamps, counts). */
export function parseInteger(s: string, what: string, where: Where): number {
  const v = parseNumber(s, what, where);
  if (!Number.isSafeInteger(v)) throw lineError(where.file, where.line, `${what} is not an integer (${JSON.stringify(s)})`, where.text);
  return v;
}

/** A raw id: any non-empty text, surrounding blanks removed. */
export function parseId(s: string, what: string, where: Where): string {
  const id = s.trim();
  if (id === '') throw lineError(where.file, where.line, `empty ${what} id`, where.text);
  return id;
}

export function expectFields(fields: readonly string[], n: number, layout: string, where: Where): void {
  if (fields.length !== n) {
    throw lineError(where.file, where.line, `expected ${n} fields (${layout}), found ${fields.length}`, where.text);
  }
}

/** True when a field reads as a number: used to tell a header line from data. */
export function looksNumeric(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}
