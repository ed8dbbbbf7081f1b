import type { Columns, RowCollector } from '../collect.js';
import type { ByteRange, LineOptions, ProgressMode } from '../input.js';

/** Format-specific options of `pris data import` (the common ones live in run.ts). */
export interface FormatOptions {
  variant?: string;
  userCol?: string;
  itemCol?: string;
  weightCol?: string;
  timestampCol?: string;
  delimiter?: string;
  header?: boolean;
  progress?: ProgressMode;
}

export type FormatOptionName = Exclude<keyof FormatOptions, 'progress'>;

/** What a reader found out about its input (recorded in meta.json). */
export interface SourceInfo {
  variant?: string;
  header?: boolean;
}

/**
 * A raw format: how many input files it takes, which columns it yields, and a
 * reader that streams every row into the collector.
 */
export interface Format {
  name: string;
  summary: string;
  inputs: { min: number; max: number; meaning: string };
  /** Format-specific options it accepts; any other given is an error. */
  options: readonly FormatOptionName[];
  columns(inputs: readonly string[], opts: FormatOptions): Columns;
  read(inputs: readonly string[], opts: FormatOptions, sink: RowCollector): Promise<SourceInfo>;
  /**
   * Formats whose lines stand alone (no header after the first line, a fixed
   * field count) read a byte range of one input, so large plain files are
   * read by several workers at once. `lines`: lines in the range.
   */
  readRange?(file: string, range: ByteRange, opts: FormatOptions & LineOptions, sink: RowCollector): Promise<SourceInfo & { lines: number }>;
}
