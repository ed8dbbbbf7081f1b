import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The file-system layer under every output (src/util/output.ts builds the
 * contract on it): temporary names that say which process made them, files
 * written atomically, and the removal of temporaries on exit, on SIGINT,
 * SIGTERM and SIGHUP, and (for a writer killed with SIGKILL) by a later run.
 *
 * Every call that creates, renames or removes is synchronous on purpose: a
 * signal handler runs between JavaScript tasks, so it never finds a mkdir or
 * a rename still in flight on libuv's thread pool (an asynchronous mkdir that
 * landed after the handler's clean-up is how interrupted imports used to
 * leave empty temporary directories behind).
 */

/**
 * A process's start time (clock ticks since boot) and the boot's id, on
 * Linux: with the pid, they name one process for good, so a pid reused by
 * another program is not mistaken for the writer that left a temporary.
 */
function stampOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    if (!start || !/^\d+$/.test(start)) return undefined;
    return Number(start).toString(36) + BOOT;
  } catch {
    return undefined;
  }
}

const BOOT = ((): string => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/[^0-9a-f]/g, '').slice(0, 8);
  } catch {
    return '';
  }
})();

/** This process: its pid and a stamp no other process shares (without /proc: the time it started, which no one else can check). */
export const OWNER = { pid: process.pid, stamp: stampOf(process.pid) ?? 't' + Math.round(performance.timeOrigin).toString(36) };

/** Whether the process that wrote `pid`/`stamp` into a name or a lock is still running. When it cannot be told, it is. */
export function writerAlive(pid: number, stamp?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (stamp === undefined) return true;
  const now = stampOf(pid);
  return now === undefined || now === stamp;
}

let seq = 0;

/**
 * A hidden sibling of `target` for this process: `.NAME.pris-tmp-PID-STAMP-N`
 * (`pris-old-` for a replaced output on its way out).
 */
export function tempPath(target: string, role: 'tmp' | 'old' = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.pris-${role}-${OWNER.pid}-${OWNER.stamp}-${++seq}`);
}

const TEMP = /^\.(.+)\.pris-(tmp|old)-(\d+)-([0-9a-z]+)-\d+$/;
/** Names left by pris before temporaries carried a stamp: `.NAME.tmp-PID-TIME` and `.NAME.tmp-PID-TIME-old`. */
const OLD_TEMP = /^\.(.+)\.tmp-(\d+)-[0-9a-z]+(-old)?$/;

interface TempName {
  base: string;
  role: 'tmp' | 'old';
  pid: number;
  stamp?: string;
}

function parseTemp(name: string): TempName | undefined {
  const m = TEMP.exec(name);
  if (m) return { base: m[1]!, role: m[2] as 'tmp' | 'old', pid: Number(m[3]), stamp: m[4]! };
  const o = OLD_TEMP.exec(name);
  if (o) return { base: o[1]!, role: o[3] ? 'old' : 'tmp', pid: Number(o[2]) };
  return undefined;
}

/** A temporary of pris's (its writer alive or not): never a user's file, never part of an output. */
export function isPrisTemp(name: string): boolean {
  return parseTemp(name) !== undefined;
}

/**
 * Removes what writers that are gone left in `dir`: their temporaries, and
 * (when one died between the two renames of a replacement) puts the earlier
 * output back under its name. Returns the names it removed or restored.
 */
export function removeDeadTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const name of names) {
    const t = parseTemp(name);
    if (!t || writerAlive(t.pid, t.stamp)) continue;
    const p = path.join(dir, name);
    const target = path.join(dir, t.base);
    try {
      if (t.role === 'old' && !existsSync(target)) renameSync(p, target);
      else rmSync(p, { recursive: true, force: true });
      done.push(name);
    } catch {
      // Another run cleaning the same directory got there first, or it is not ours to remove: leave it.
    }
  }
  return done;
}

const pending = new Set<string>();
const atExitFns = new Set<() => void>();
const hooks: ((signal: NodeJS.Signals) => void)[] = [];
let installed = false;
let interrupting = false;

function cleanup(): void {
  for (const p of pending) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* nothing more can be done on the way out */
    }
  }
  pending.clear();
  for (const fn of atExitFns) {
    try {
      fn();
    } catch {
      /* as above */
    }
  }
  atExitFns.clear();
}

/** The shell's convention: 128 + the signal's number. */
const SIGNALS = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const;

/**
 * The first signal: a command that registered hooks (onInterrupt) stops by
 * itself and exits as it chooses; otherwise, and on a second signal, the
 * temporaries and locks go and the process exits with 128 + the signal.
 */
function interrupted(signal: NodeJS.Signals, code: number): void {
  if (hooks.length > 0 && !interrupting) {
    interrupting = true;
    for (const hook of [...hooks]) {
      try {
        hook(signal);
      } catch (e) {
        process.stderr.write(`pris: while stopping on ${signal}: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    return;
  }
  cleanup();
  process.exit(code);
}

/** The exit code of a process stopped by `signal`, by the shell's convention. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return SIGNALS.find(([s]) => s === signal)?.[1] ?? 1;
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanup);
  for (const [signal, code] of SIGNALS) process.on(signal, () => interrupted(signal, code));
}

/** Removes `p` (recursively) if the process exits or is interrupted before the returned function is called. */
export function trackTemp(p: string): () => void {
  install();
  pending.add(p);
  return () => pending.delete(p);
}

/** Runs `fn` (synchronous) when the process exits or is interrupted, unless the returned function is called first. */
export function atExit(fn: () => void): () => void {
  install();
  atExitFns.add(fn);
  return () => atExitFns.delete(fn);
}

/**
 * Hands SIGINT, SIGTERM and SIGHUP to `hook` instead of exiting: for a
 * command with work worth saving on the way out (pris train stops at the
 * next user, keeps a checkpoint, and exits with signalExitCode itself). A
 * second signal exits at once, temporaries removed. Returns the function
 * that unregisters the hook.
 */
export function onInterrupt(hook: (signal: NodeJS.Signals) => void): () => void {
  install();
  hooks.push(hook);
  return () => {
    const k = hooks.indexOf(hook);
    if (k >= 0) hooks.splice(k, 1);
    if (hooks.length === 0) interrupting = false;
  };
}

/** Removes `p` if it is there; never throws (for `finally` blocks, where a throw would hide the error that got there). */
export function removeQuietly(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch {
    /* a path under a file (ENOTDIR), or not ours to remove */
  }
}

/** Flushes a directory's entries (a rename, a new file) to the disk; best effort where directories cannot be opened. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `target` atomically with `write`, which fills the temporary path it
 * is given and flushes it to the disk; one rename then makes it visible. An
 * interrupted run leaves the old file or the new one, never half of one.
 * Synchronous, like every call here. A failed system call's error names
 * the file (see osUserError).
 */
export function writeFileAtomicWith(target: string, write: (tmp: string) => void): void {
  const w = startAtomic(target);
  try {
    write(w.tmp);
    w.commit();
  } catch (e) {
    throw w.named(e);
  } finally {
    w.end();
  }
}

/**
 * As writeFileAtomicWith, with a `write` that runs asynchronously (large
 * files written off the main thread while work goes on): the temporary is
 * tracked, so a signal meanwhile removes it; the rename stays synchronous.
 */
export async function writeFileAtomicWithAsync(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const w = startAtomic(target);
  try {
    await write(w.tmp);
    w.commit();
  } catch (e) {
    throw w.named(e);
  } finally {
    w.end();
  }
}

/** The steps around an atomic write: a tracked temporary beside the target, then one rename and a synced directory. */
function startAtomic(target: string): { tmp: string; commit(): void; named(e: unknown): unknown; end(): void } {
  const abs = path.resolve(target);
  const tmp = tempPath(abs);
  const untrack = trackTemp(tmp);
  const end = () => {
    untrack();
    removeQuietly(tmp);
  };
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
  } catch (e) {
    end();
    throw e;
  }
  return {
    tmp,
    commit: () => {
      renameSync(tmp, abs);
      fsyncDir(path.dirname(abs));
    },
    named: (e) => {
      // A failed write on a descriptor carries no path: name the file being written.
      const err = e as NodeJS.ErrnoException;
      if (err && err.code && !err.path) err.path = abs;
      return e;
    },
    end,
  };
}

/** Writes `data` to a new file and flushes it to the disk (the writer of writeFileAtomicSync). */
export function writeFlushed(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, 'wx');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `target` atomically (see writeFileAtomicWith). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  writeFileAtomicWith(target, (tmp) => writeFlushed(tmp, data));
}

/** writeFileAtomicSync for callers that await (the write itself is synchronous, see above). */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  writeFileAtomicSync(target, data);
}
