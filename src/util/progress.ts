import cliProgress from 'cli-progress';

/**
 * Progress on long work: a bar on a terminal (cli-progress), plain log lines
 * otherwise (CI logs, pipes), never both. Everything goes to stderr so stdout
 * stays clean for `--json` output.
 */
export interface Progress {
  /** Advance to `value` (of `total`), with named fields shown after the bar. */
  update(value: number, fields?: Record<string, string | number>): void;
  /** A line that must stay in the log (e.g. an epoch summary). */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Extra fields rendered after the bar, e.g. `['loss', 'pos_s']`. */
  fields?: string[];
  /** Force the plain-line mode (tests) or silence (`quiet`). */
  mode?: 'auto' | 'lines' | 'quiet';
  /** In line mode, print updates at most once per this many ms (0 = only `log` lines print). */
  lineIntervalMs?: number;
}

export function createProgress(opts: ProgressOptions): Progress {
  const mode = opts.mode ?? 'auto';
  if (mode === 'quiet') {
    return { update() {}, log() {}, stop() {} };
  }
  const fields = opts.fields ?? [];
  if (mode === 'auto' && process.stderr.isTTY) {
    const format =
      `${opts.label} [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}` +
      fields.map((f) => ` | ${f} {${f}}`).join('');
    const bar = new cliProgress.SingleBar(
      { format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    const init: Record<string, string> = {};
    for (const f of fields) init[f] = '-';
    bar.start(opts.total, 0, init);
    return {
      update: (v, f) => bar.update(v, f),
      log: (line) => {
        // cli-progress redraws on the next update; write the line above the bar.
        process.stderr.write('\r\x1b[K' + line + '\n');
        bar.render();
      },
      stop: () => bar.stop(),
    };
  }
  const every = opts.lineIntervalMs ?? 5000;
  let last = 0;
  const start = Date.now();
  return {
    update(v, f) {
      const now = Date.now();
      if (every === 0 || (now - last < every && v < opts.total)) return;
      last = now;
      const extra = f ? Object.entries(f).map(([k, x]) => ` ${k}=${x}`).join('') : '';
      // A log file shows how far a long pass is and when it ends, as the bar would.
      const pct = opts.total > 0 ? (100 * v) / opts.total : 100;
      const left = v > 0 && v < opts.total ? `, ${duration(((now - start) / 1000 / v) * (opts.total - v))} left` : '';
      process.stderr.write(`${opts.label} ${v}/${opts.total} (${pct.toFixed(1)}%${left})${extra}\n`);
    },
    log: (line) => process.stderr.write(line + '\n'),
    stop() {},
  };
}

/** Seconds as people read them: 42 -> "42 s", 95 -> "1 min 35 s", 4000 -> "1 h 7 min". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.round(s / 60);
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Progress over a count known only when the work starts (evaluation blocks): the bar is made on the first report. */
export function lazyProgress(label: string, mode: 'auto' | 'lines' | 'quiet'): { onProgress: (done: number, total: number) => void; stop: () => void } {
  let bar: Progress | undefined;
  return {
    onProgress: (done, total) => {
      bar ??= createProgress({ label, total, mode });
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}
