/**
 * A parallel import's worker: reads its byte ranges of the inputs into its
 * own collector and posts the rows back (transferring the buffers).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RowCollector } from '../src/data/collect.js';
import { weightFilters } from '../src/data/filters.js';
import { FORMATS } from '../src/data/import/index.js';
import type { RangeDone, RangeFailed, RangeJob } from '../src/data/import/parallel.js';
import { LineError } from '../src/data/input.js';
import { isUserError } from '../src/errors.js';

const job = workerData as RangeJob;
const port = parentPort!;

async function main(): Promise<void> {
  const format = FORMATS[job.format]!;
  const sink = new RowCollector(job.columns, weightFilters(job.filters));
  const tasks: RangeDone['tasks'] = [];
  let reported = 0;
  let before = 0;
  try {
    for (const t of job.tasks) {
      const onRead = (bytes: number) => {
        // A message per 16 MiB: progress without a flood of messages.
        if (before + bytes - reported >= 16 << 20) port.postMessage({ progress: (reported = before + bytes) });
      };
      tasks.push(await format.readRange!(t.file, t.range, { ...job.opts, progress: 'quiet', onRead }, sink));
      before += t.range.end - t.range.start;
    }
  } catch (e) {
    const failed: RangeFailed = {
      ok: false,
      message: e instanceof Error ? e.message : String(e),
      user: isUserError(e),
      ...(e instanceof Error && e.stack !== undefined && { stack: e.stack }),
      ...(e instanceof LineError && { line: { task: tasks.length, file: e.file, line: e.line, problem: e.problem, text: e.text } }),
      lines: tasks.map((t) => t.lines),
    };
    port.postMessage(failed);
    return;
  }
  const rows = sink.export();
  const buffers = [rows.users.bytes, rows.users.offset, rows.items.bytes, rows.items.offset, ...rows.user, ...rows.item, ...(rows.weight ?? []), ...(rows.timestamp ?? []), ...(rows.test ?? [])].map((a) => a.buffer as ArrayBuffer);
  const done: RangeDone = { ok: true, rows, tasks };
  port.postMessage(done, [...new Set(buffers)]);
}

void main();
