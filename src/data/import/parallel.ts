import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../errors.js';
import { workerUrl } from '../../paths.js';
import { createProgress } from '../../util/progress.js';
import type { CollectedRows, Columns, RowCollector } from '../collect.js';
import { isGzip, lineError, type ByteRange, type ProgressMode } from '../input.js';
import type { Format, FormatOptions, SourceInfo } from './format.js';

/**
 * Large plain inputs of a row format are read by several worker threads at
 * once: the concatenated inputs are cut into one segment per thread at line
 * starts, each worker interns and collects its segment on its own, and the
 * main thread takes the workers' rows over in input order (their ids interned
 * again in order of first appearance), so the result is the same as one
 * sequential read. Interning is bound by memory latency (a million ids' hash
 * table does not fit in cache), so it scales with cores, not with a faster loop.
 */

/** Below this many bytes a sequential read is about as fast as starting workers. */
export const PARALLEL_MIN_BYTES = 64 << 20;

export interface RangeTask {
  file: string;
  range: ByteRange;
}

/** What a worker is given. */
export interface RangeJob {
  format: string;
  tasks: RangeTask[];
  opts: FormatOptions;
  filters: { minRating?: string; minCount?: number };
  columns: Columns;
}

export interface RangeDone {
  ok: true;
  rows: CollectedRows;
  tasks: (SourceInfo & { lines: number })[];
}

export interface RangeFailed {
  ok: false;
  message: string;
  /** A user's mistake (exit 2) rather than a bug. */
  user: boolean;
  stack?: string;
  /** For a line error: where, relative to the start of task `task`. */
  line?: { task: number; file: string; line: number; problem: string; text: string };
  /** Lines of the tasks that finished before the failure. */
  lines: number[];
}

export type RangeMessage = RangeDone | RangeFailed | { progress: number };

/** The first line start at or after `offset` in `file` (its size if none). */
async function lineStartFrom(file: string, offset: number, size: number): Promise<number> {
  if (offset <= 0) return 0;
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let at = offset - 1; at < size; at += buf.length) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) return at + nl + 1;
      if (bytesRead === 0) break;
    }
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * One list of ranges per thread, covering the inputs in order, cut at line
 * starts; undefined when the inputs should be read sequentially (one thread,
 * small or gzip inputs).
 */
export async function planSegments(inputs: readonly string[], threads: number, minBytes = PARALLEL_MIN_BYTES): Promise<RangeTask[][] | undefined> {
  if (threads < 2) return undefined;
  const sizes: number[] = [];
  for (const file of inputs) {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile() || (await isGzip(file))) return undefined;
    sizes.push(st.size);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total < minBytes || total === 0) return undefined;
  // Cut points in the concatenated bytes, moved to the next line start of their file.
  const cuts: { file: number; at: number }[] = [];
  for (let k = 1; k < threads; k++) {
    let target = Math.floor((total * k) / threads);
    let f = 0;
    while (target >= sizes[f]!) target -= sizes[f++]!;
    cuts.push({ file: f, at: await lineStartFrom(inputs[f]!, target, sizes[f]!) });
  }
  const segments: RangeTask[][] = [];
  let pos = { file: 0, at: 0 };
  for (const end of [...cuts, { file: inputs.length - 1, at: sizes.at(-1)! }]) {
    const tasks: RangeTask[] = [];
    for (let f = pos.file; f <= end.file; f++) {
      const start = f === pos.file ? pos.at : 0;
      const stop = f === end.file ? end.at : sizes[f]!;
      if (stop > start) tasks.push({ file: inputs[f]!, range: { start, end: stop, first: start === 0 } });
    }
    segments.push(tasks);
    pos = end;
  }
  return segments;
}

function runWorker(job: RangeJob, onProgress: (bytes: number) => void): { done: Promise<RangeDone | RangeFailed>; worker: Worker } {
  const worker = new Worker(new URL(workerUrl('import-range')), { workerData: job });
  const done = new Promise<RangeDone | RangeFailed>((resolve, reject) => {
    let result: RangeDone | RangeFailed | undefined;
    worker.on('message', (m: RangeMessage) => {
      if ('progress' in m) onProgress(m.progress);
      else result = m;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`import worker exited with code ${code} before reporting`));
    });
  });
  return { done, worker };
}

/**
 * Reads `segments` with one worker each and appends their rows to `sink` in
 * order. The earliest failure wins (a later segment's error is not reported
 * while an earlier one may still fail), with its line number counted from
 * the start of its file.
 */
export async function readSegments(
  format: Format,
  segments: RangeTask[][],
  job: Omit<RangeJob, 'tasks' | 'format'>,
  sink: RowCollector,
  progressMode: ProgressMode,
): Promise<SourceInfo> {
  const total = segments.flat().reduce((n, t) => n + t.range.end - t.range.start, 0);
  const names = [...new Set(segments.flat().map((t) => path.basename(t.file)))].join(', ');
  const progress = createProgress({ label: `reading ${names} (bytes, ${segments.length} threads)`, total, mode: progressMode });
  const read = new Array<number>(segments.length).fill(0);
  const runs = segments.map((tasks, w) =>
    runWorker({ ...job, format: format.name, tasks }, (bytes) => {
      read[w] = bytes;
      progress.update(read.reduce((a, b) => a + b, 0));
    }),
  );
  const stop = (from: number) => {
    for (const r of runs.slice(from)) {
      r.done.catch(() => undefined);
      void r.worker.terminate();
    }
  };
  const results: (RangeDone | RangeFailed)[] = [];
  try {
    for (let w = 0; w < runs.length; w++) {
      const r = await runs[w]!.done;
      results.push(r);
      if (!r.ok) {
        // Nothing after the first failure matters.
        stop(w + 1);
        break;
      }
    }
  } catch (e) {
    stop(0);
    throw e;
  } finally {
    progress.stop();
  }
  const failed = results.at(-1);
  if (failed && !failed.ok) throw failure(failed, segments, results);

  const variants: string[] = [];
  let header = false;
  for (const r of results as RangeDone[]) {
    sink.appendExport(r.rows);
    for (const t of r.tasks) {
      if (t.variant && !variants.includes(t.variant)) variants.push(t.variant);
      header ||= t.header ?? false;
    }
  }
  return { ...(variants.length > 0 && { variant: variants.join(',') }), header };
}

/** The error a worker reported, its line made absolute by the lines of the file's earlier ranges. */
function failure(f: RangeFailed, segments: RangeTask[][], results: (RangeDone | RangeFailed)[]): Error {
  if (!f.user) {
    const e = new Error(`import worker: ${f.message}`);
    if (f.stack) e.stack = f.stack;
    return e;
  }
  if (!f.line) return new UserError(f.message);
  const w = results.length - 1;
  const file = f.line.file;
  let before = 0;
  for (let v = 0; v <= w; v++) {
    const lines = v < w ? (results[v] as RangeDone).tasks.map((t) => t.lines) : f.lines;
    segments[v]!.forEach((t, i) => {
      if (t.file === file && (v < w || i < f.line!.task)) before += lines[i] ?? 0;
    });
  }
  return lineError(file, before + f.line.line, f.line.problem, f.line.text);
}
