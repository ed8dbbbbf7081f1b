import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { osReason, UserError } from '../errors.js';
import { atExit, fsyncDir, isPrisTemp, OWNER, removeDeadTemps, removeQuietly, tempPath, trackTemp, writeFileAtomicSync, writeFileAtomicWith, writeFileAtomicWithAsync, writeFlushed, writerAlive } from './atomic.js';

/**
 * The output contract of every pris command that writes (docs/reliability.md):
 *
 * - before any work, the place is checked: not empty, not `/`, the working or
 *   home directory or one that holds them, not an input, a folder holding an
 *   input or a path inside a directory being read; its parent can be written
 *   (created if missing); a lock beside it shows no live writer;
 * - an existing output is replaced only when pris wrote it as the same kind
 *   (a marker says so) and `--force` is given; a directory or file pris did
 *   not write is never replaced, and replacing never deletes a file pris did
 *   not write (present at the start: refused and named; appeared during the
 *   run: carried into the new output);
 * - what is written is atomic (a temporary sibling, then renames), and what a
 *   dead writer left (its pid gone, or reused by another process) is removed
 *   by the next writer in the same directory.
 *
 * A directory output holds `.pris-output.json`, naming its kind and the
 * entries pris wrote. A file output carries its kind inside (Arrow schema
 * metadata, a JSON field), recognised by its OutputKind.
 */

export const MARKER = '.pris-output.json';

export interface OutputKind {
  /** In markers and messages: 'dataset', 'model', 'recommendations', ... */
  name: string;
  /** For messages: 'a dataset' (said as '... written by pris'). */
  what: string;
  /** Directory outputs written before markers existed: their entries pris wrote, or undefined when `dir` is not one. */
  legacyFiles?: (dir: string) => string[] | undefined;
  /** File outputs: whether an existing file is one pris wrote as this kind (the marker lives in the file). */
  identify?: (file: string) => boolean | Promise<boolean>;
}

export interface OutputRequest {
  /** The path as given (an empty string is refused, never taken for the working directory). */
  path: string;
  kind: OutputKind;
  /** The flag that named it, for messages (default '--out'). */
  flag?: string;
  /** Replace an earlier output of the same kind. */
  force?: boolean;
  /** What the command reads: the output may not be one of these, hold one, or lie inside one. */
  reads?: readonly string[];
  /** Add to an existing output of this kind rather than replace it (`pris data split` on its dataset). */
  update?: boolean;
}

interface Marker {
  pris_output: string;
  version: 1;
  /** Entries of the directory that pris wrote. */
  files: string[];
  /** False while a run is still writing into it (checkpoints, incremental reports). */
  complete: boolean;
}

function shown(req: OutputRequest): string {
  return `${req.flag ?? '--out'} ${req.path}`;
}

function listNames(names: string[]): string {
  const head = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${head} and ${names.length - 5} more` : head;
}

/** `p` with the symbolic links of its existing part resolved (the rest may not exist yet). */
function realish(p: string): string {
  const rest: string[] = [];
  let head = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(head), ...rest);
    } catch {
      const up = path.dirname(head);
      if (up === head) return path.resolve(p);
      rest.unshift(path.basename(head));
      head = up;
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Strictly inside: `child` is below `parent`. */
function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}

/** The places no output may be, or hold: refused before anything is created. `noun`: 'directory' or 'file'. */
function refuseDangerous(req: OutputRequest, real: string, noun: string): void {
  const out = shown(req);
  const hint = req.update ? 'run this from another directory' : `name a new ${noun} for the ${req.kind.name}`;
  if (req.path.trim() === '') {
    throw new UserError(`${req.flag ?? '--out'} is empty (an unset variable?): name the ${noun} to write the ${req.kind.name} to`);
  }
  if (real === path.parse(real).root) throw new UserError(`${out} is the root directory; ${hint}`);
  const places: [string, string][] = [
    [process.cwd(), 'the working directory'],
    [os.homedir(), 'your home directory'],
  ];
  for (const [place, name] of places) {
    const p = realish(place);
    if (real === p) throw new UserError(`${out} is ${name}; ${hint}`);
    if (isInside(p, real)) throw new UserError(`${out} holds ${name}; ${hint}`);
  }
  for (const r of req.reads ?? []) {
    if (r.trim() === '') continue;
    const p = realish(r);
    if (real === p) throw new UserError(`${out} is also an input of this command (${r})`);
    if (isInside(p, real)) throw new UserError(`${out} holds ${r}, which this command reads; write somewhere else`);
    if (isInside(real, p) && isDirectory(p)) {
      throw new UserError(`${out} is inside ${r}, which this command reads; write somewhere else`);
    }
  }
}

/** A failed system call while checking or writing the output named by `out` (its flag and path): one line saying why. */
function cannotWrite(out: string, e: unknown, where?: string): unknown {
  const reason = osReason(e);
  if (!reason) return e;
  return new UserError(where ? `${out}: cannot write in ${where}: ${reason}` : `${out}: writing failed: ${reason}`);
}

function readMarker(dir: string): Marker | undefined {
  const file = path.join(dir, MARKER);
  if (!existsSync(file)) return undefined;
  let m: Partial<Marker>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Marker>;
  } catch {
    throw new UserError(`${file} is damaged (not JSON); refusing to touch ${dir}`);
  }
  if (typeof m.pris_output !== 'string' || !Array.isArray(m.files)) throw new UserError(`${file} is damaged (no kind or file list); refusing to touch ${dir}`);
  return { pris_output: m.pris_output, version: 1, files: m.files.map(String), complete: m.complete !== false };
}

function writeMarker(dir: string, kind: OutputKind, files: Iterable<string>, complete: boolean): void {
  const m: Marker = { pris_output: kind.name, version: 1, files: [...files].filter((f) => f !== MARKER).sort(), complete };
  writeFileAtomicSync(path.join(dir, MARKER), JSON.stringify(m, null, 2) + '\n');
}

/** Who holds a lock: the process, when it started writing, and its command line. */
interface LockInfo {
  pid: number;
  stamp: string;
  started: string;
  command: string;
}

function commandLine(): string {
  const words = [path.basename(process.argv[1] ?? 'node'), ...process.argv.slice(2)].join(' ');
  return words.length > 200 ? words.slice(0, 200) + '...' : words;
}

function readLock(file: string): LockInfo | undefined {
  try {
    const l = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return Number.isInteger(l.pid) && typeof l.stamp === 'string' ? l : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of the output at `abs`: a file beside it, made complete
 * under a temporary name and then hard-linked into place (the link fails if
 * another process holds it, and the lock is never seen half-written). A
 * lock whose writer is gone is removed. Creating it is also the test that
 * the parent can be written.
 */
function takeLock(req: OutputRequest, abs: string): () => void {
  const file = path.join(path.dirname(abs), `.${path.basename(abs)}.pris-lock`);
  const info: LockInfo = { pid: OWNER.pid, stamp: OWNER.stamp, started: new Date().toISOString(), command: commandLine() };
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = tempPath(file);
    const untrack = trackTemp(tmp);
    const text = JSON.stringify(info) + '\n';
    let linked = false;
    try {
      writeFileSync(tmp, text, { flag: 'wx' });
      try {
        linkSync(tmp, file);
      } catch (e) {
        // A file system without hard links: create the lock in place (exclusive, not atomic in content).
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        writeFileSync(file, text, { flag: 'wx' });
      }
      linked = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(shown(req), e, path.dirname(abs));
    } finally {
      untrack();
      removeQuietly(tmp);
    }
    if (linked) {
      const release = () => {
        const l = readLock(file);
        if (l && l.pid === info.pid && l.stamp === info.stamp && l.started === info.started) rmSync(file, { force: true });
      };
      const unregister = atExit(release);
      return () => {
        unregister();
        release();
      };
    }
    const holder = readLock(file);
    if (holder && writerAlive(holder.pid, holder.stamp)) {
      throw new UserError(
        `${shown(req)} is being written by another pris process (pid ${holder.pid}, since ${holder.started}: ${holder.command}); ` +
          'wait for it to finish, or stop it',
      );
    }
    rmSync(file, { force: true }); // its writer is gone
  }
  throw new UserError(`${shown(req)}: could not take the lock ${file}; another pris process keeps taking it`);
}

/** Creates the parent of `abs`; returns the first directory it created (to remove again if nothing is written). */
function makeParent(req: OutputRequest, abs: string): string | undefined {
  const parent = path.dirname(abs);
  try {
    const st = statSync(parent, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new UserError(`${shown(req)}: ${parent} is not a directory`);
    return mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw cannotWrite(shown(req), e, parent);
  }
}

/** Removes the directories makeParent created, if they are still empty. */
function removeMadeParents(abs: string, created: string | undefined): void {
  if (!created) return;
  for (let d = path.dirname(abs); d.length >= created.length; d = path.dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === created) return;
  }
}

/** Links a file (cheap, and it survives the removal of the old directory), or copies what cannot be linked (a directory). */
function carry(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    cpSync(from, to, { recursive: true, preserveTimestamps: true });
  }
}

/** Puts the directory `tmp` in place of `abs` with two renames (the old one is removed after). */
function swapIn(tmp: string, abs: string): void {
  if (existsSync(abs)) {
    const old = tempPath(abs, 'old');
    // Two synchronous renames: no signal handler runs between them; a crash between them is
    // undone by the next writer (removeDeadTemps puts the old output back).
    renameSync(abs, old);
    renameSync(tmp, abs);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, abs);
  }
  fsyncDir(path.dirname(abs));
}

interface Existing {
  /** pris's entries of the earlier output (empty for an empty directory) */
  files: string[];
}

/** What is at `abs` now, and whether this request may replace (or add to) it. */
function inspectDir(req: OutputRequest, abs: string): Existing | undefined {
  const out = shown(req);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) {
    if (req.update) throw new UserError(`${req.path}: not found`);
    return undefined;
  }
  if (st.isSymbolicLink()) throw new UserError(`${out} is a symbolic link; give the directory it points to`);
  if (!st.isDirectory()) throw new UserError(`${out} exists and is not a directory`);
  removeDeadTemps(abs); // a checkpoint's temporaries, when its writer was killed
  const entries = readdirSync(abs).filter((n) => !isPrisTemp(n));
  if (entries.length === 0 && !req.update) return { files: [] };
  const marker = readMarker(abs);
  const files = marker ? marker.files : req.kind.legacyFiles?.(abs);
  if (!files) {
    if (req.update) throw new UserError(`${req.path} is not ${req.kind.what} written by pris`);
    throw new UserError(`${out} is a directory pris did not write (it holds ${listNames(entries)}); refusing to replace it: name a new directory`);
  }
  if (marker && marker.pris_output !== req.kind.name) {
    throw new UserError(`${out} holds a pris ${marker.pris_output}, not ${req.kind.what}; name another directory`);
  }
  if (req.update) return { files };
  const own = new Set(files);
  const foreign = entries.filter((n) => n !== MARKER && !own.has(n));
  if (foreign.length > 0) {
    throw new UserError(`${out} holds files pris did not write: ${listNames(foreign)}; move them out first (replacing the ${req.kind.name} would delete them)`);
  }
  if (!req.force) {
    const unfinished = marker && !marker.complete ? ' (from a run that did not finish)' : '';
    throw new UserError(`${out} already holds ${req.kind.what} written by pris${unfinished}; give --force to replace it`);
  }
  return { files };
}

/** A directory output, open for writing: checked, locked. Close it (or `using`) on every path. */
export interface OutputDir extends Disposable {
  /** Absolute path. */
  readonly path: string;
  /** An earlier output of this kind was there at the start (replaced by commit). */
  readonly existed: boolean;
  /** Whether the live directory holds a pris entry of this name (say, a checkpoint to resume from). */
  has(name: string): boolean;
  /**
   * Writes one file into the live directory atomically, as pris's own (the
   * directory and its marker are created if needed, the marker saying the
   * output is not complete): checkpoints during training, a study's reports
   * after each run.
   */
  writeFile(name: string, data: string | Uint8Array): void;
  /** As writeFile, for a writer that fills (and flushes) the temporary file it is given itself: a checkpoint written straight from memory. */
  writeFileWith(name: string, write: (tmp: string) => void): void;
  /** As writeFileWith, the content written asynchronously (a checkpoint written while training goes on). */
  writeFileWithAsync(name: string, write: (tmp: string) => Promise<void>): Promise<void>;
  /** As writeFile, for a whole subdirectory: built beside, then swapped in. */
  writeDir(name: string, fill: (dir: string) => Promise<void>): Promise<void>;
  /** Reserves an entry of the live directory as pris's own and returns its path (for a nested output, e.g. a study's models). */
  claim(name: string): string;
  /** Removes one of pris's own entries from the live directory (a checkpoint that is no longer needed). */
  remove(name: string): void;
  /**
   * Builds the whole directory in a temporary sibling with `fill`, then puts it
   * in place of the old one. Entries of the old directory that pris did not
   * write are carried into the new one (never deleted); pris's own entries
   * are dropped unless named in `keep` ('all': every one, as `pris data
   * split` keeps the imported files). The output stays open (locked): files
   * written after, such as metrics after a test evaluation, go into the new
   * directory.
   */
  commit(fill: (dir: string) => Promise<void>, opts?: { keep?: readonly string[] | 'all' }): Promise<void>;
  /** For outputs written with writeFile: drops the earlier output's entries this run did not rewrite, marks it complete, closes it. */
  finish(): void;
  /** Releases the lock (idempotent); whatever was written stays. */
  close(): void;
}

class DirOutput implements OutputDir {
  readonly path: string;
  readonly existed: boolean;
  private readonly kind: OutputKind;
  /** the flag and path as given, for messages */
  private readonly shown: string;
  /** pris's entries of the live directory (the marker's list) */
  private files: Set<string>;
  /** entries of the earlier output, pruned by finish() unless rewritten */
  private readonly previous: Set<string>;
  private written = new Set<string>();
  private readonly release: () => void;
  private readonly madeParent: string | undefined;
  private closed = false;
  private wroteAny = false;
  /** committed: what is written after keeps the marker saying complete */
  private complete = false;

  constructor(abs: string, req: OutputRequest, existing: Existing | undefined, release: () => void, madeParent: string | undefined) {
    this.path = abs;
    this.kind = req.kind;
    this.shown = shown(req);
    this.existed = existing !== undefined && existing.files.length > 0;
    this.files = new Set(existing?.files ?? []);
    // What an update does not rewrite stays; what a replacement does not rewrite goes (at finish).
    this.previous = new Set(req.update ? [] : (existing?.files ?? []));
    this.release = release;
    this.madeParent = madeParent;
  }

  private open(): void {
    if (this.closed) throw new Error(`output ${this.path} is closed`);
  }

  /** Adds `name` to pris's entries; the first write also marks the output as not complete. */
  private record(name: string): void {
    if (name === MARKER || name.includes('/') || name.includes(path.sep) || name === '' || name === '.' || name === '..') {
      throw new Error(`not an entry name: '${name}'`);
    }
    this.written.add(name);
    if (!this.files.has(name) || !this.wroteAny) {
      this.files.add(name);
      mkdirSync(this.path, { recursive: true });
      writeMarker(this.path, this.kind, this.files, this.complete);
    }
    this.wroteAny = true;
  }

  has(name: string): boolean {
    return this.files.has(name) && existsSync(path.join(this.path, name));
  }

  writeFile(name: string, data: string | Uint8Array): void {
    this.writeFileWith(name, (tmp) => writeFlushed(tmp, data));
  }

  writeFileWith(name: string, write: (tmp: string) => void): void {
    this.open();
    try {
      this.record(name);
      writeFileAtomicWith(path.join(this.path, name), write);
    } catch (e) {
      throw cannotWrite(this.shown, e);
    }
  }

  async writeFileWithAsync(name: string, write: (tmp: string) => Promise<void>): Promise<void> {
    this.open();
    try {
      this.record(name);
      await writeFileAtomicWithAsync(path.join(this.path, name), write);
    } catch (e) {
      throw cannotWrite(this.shown, e);
    }
  }

  async writeDir(name: string, fill: (dir: string) => Promise<void>): Promise<void> {
    this.open();
    this.record(name);
    const target = path.join(this.path, name);
    const tmp = tempPath(target);
    const untrack = trackTemp(tmp);
    try {
      mkdirSync(tmp);
      await fill(tmp);
      swapIn(tmp, target);
    } catch (e) {
      throw cannotWrite(this.shown, e);
    } finally {
      untrack();
      removeQuietly(tmp);
    }
  }

  claim(name: string): string {
    this.open();
    this.record(name);
    return path.join(this.path, name);
  }

  remove(name: string): void {
    this.open();
    if (!this.files.has(name)) return;
    rmSync(path.join(this.path, name), { recursive: true, force: true });
    this.files.delete(name);
    this.written.delete(name);
    writeMarker(this.path, this.kind, this.files, this.complete);
  }

  async commit(fill: (dir: string) => Promise<void>, opts: { keep?: readonly string[] | 'all' } = {}): Promise<void> {
    this.open();
    const tmp = tempPath(this.path);
    const untrack = trackTemp(tmp);
    let own: Set<string>;
    try {
      mkdirSync(tmp);
      await fill(tmp);
      own = new Set(readdirSync(tmp).filter((n) => n !== MARKER && !isPrisTemp(n)));
      if (existsSync(this.path)) {
        for (const name of readdirSync(this.path)) {
          if (name === MARKER || isPrisTemp(name) || own.has(name)) continue;
          const ours = this.files.has(name);
          if (ours && !(opts.keep === 'all' || opts.keep?.includes(name))) continue;
          carry(path.join(this.path, name), path.join(tmp, name));
          if (ours) own.add(name);
        }
      }
      writeMarker(tmp, this.kind, own, true);
      fsyncDir(tmp);
      swapIn(tmp, this.path);
    } catch (e) {
      throw cannotWrite(this.shown, e);
    } finally {
      untrack();
      removeQuietly(tmp);
    }
    this.files = own;
    this.written = new Set(own);
    this.wroteAny = true;
    this.complete = true;
  }

  finish(): void {
    this.open();
    for (const name of this.previous) {
      if (!this.written.has(name)) rmSync(path.join(this.path, name), { recursive: true, force: true });
    }
    this.files = new Set([...this.files].filter((n) => this.written.has(n) || !this.previous.has(n)));
    if (existsSync(this.path) || this.wroteAny) writeMarker(this.path, this.kind, this.files, true);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    if (!this.wroteAny) removeMadeParents(this.path, this.madeParent);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The checks every output goes through before any work (see the top of this file); returns the lock's release. */
function prepare(req: OutputRequest, noun: 'directory' | 'file'): { abs: string; release: () => void; madeParent: string | undefined } {
  const abs = path.resolve(req.path);
  refuseDangerous(req, realish(abs), noun);
  const madeParent = makeParent(req, abs);
  let release: () => void;
  try {
    release = takeLock(req, abs);
  } catch (e) {
    removeMadeParents(abs, madeParent);
    throw e;
  }
  removeDeadTemps(path.dirname(abs));
  return { abs, release, madeParent };
}

/**
 * Opens a directory output: every check of the contract, then the lock.
 * Nothing is written until writeFile, writeDir, claim or commit.
 */
export async function openOutput(req: OutputRequest): Promise<OutputDir> {
  const { abs, release, madeParent } = prepare(req, 'directory');
  try {
    return new DirOutput(abs, req, inspectDir(req, abs), release, madeParent);
  } catch (e) {
    release();
    removeMadeParents(abs, madeParent);
    throw e;
  }
}

/** A file output, open for writing: checked, locked. */
export interface OutputFile extends Disposable {
  readonly path: string;
  /** Writes the whole file atomically and closes the output. */
  write(data: string | Uint8Array): void;
  close(): void;
}

/** Opens a file output (the kind needs `identify`): the same checks as openOutput. */
export async function openOutputFile(req: OutputRequest): Promise<OutputFile> {
  if (!req.kind.identify) throw new Error(`output kind ${req.kind.name} cannot recognise its files`);
  const { abs, release, madeParent } = prepare(req, 'file');
  let closed = false;
  let wrote = false;
  const close = () => {
    if (closed) return;
    closed = true;
    release();
    if (!wrote) removeMadeParents(abs, madeParent);
  };
  try {
    const out = shown(req);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new UserError(`${out} is a directory; name a file to write`);
    if (st?.isSymbolicLink()) throw new UserError(`${out} is a symbolic link; give the file it points to`);
    if (st && !st.isFile()) throw new UserError(`${out} exists and is not a regular file`);
    if (st && !(await req.kind.identify(abs))) {
      throw new UserError(`${out} exists and is not ${req.kind.what} written by pris; refusing to overwrite it`);
    }
    if (st && !req.force) throw new UserError(`${out} already holds ${req.kind.what} written by pris; give --force to replace it`);
  } catch (e) {
    close();
    throw e;
  }
  return {
    path: abs,
    write(data) {
      if (closed) throw new Error(`output ${abs} is closed`);
      try {
        writeFileAtomicSync(abs, data);
      } catch (e) {
        throw cannotWrite(shown(req), e);
      }
      wrote = true;
      close();
    },
    close,
    [Symbol.dispose]: close,
  };
}

/**
 * `legacyFiles` for an output written before markers: recognised by the JSON
 * file `signature` passing `test`; pris's entries are then `names(dir)`.
 */
export function legacyByJson(signature: string, test: (json: Record<string, unknown>) => boolean, names: (dir: string) => string[]): (dir: string) => string[] | undefined {
  return (dir) => {
    try {
      if (!test(JSON.parse(readFileSync(path.join(dir, signature), 'utf8')) as Record<string, unknown>)) return undefined;
    } catch {
      return undefined;
    }
    return names(dir);
  };
}

/** A file output kind for JSON results: the file carries `"pris_output": name` (see jsonOutput). */
export function jsonOutputKind(name: string, what: string, legacy?: (json: Record<string, unknown>) => boolean): OutputKind {
  return {
    name,
    what,
    identify(file) {
      try {
        const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        return j.pris_output === name || (legacy?.(j) ?? false);
      } catch {
        return false;
      }
    },
  };
}

/** JSON text of `value` marked as a `kind` output. */
export function jsonOutput(kind: OutputKind, value: Record<string, unknown>): string {
  return JSON.stringify({ pris_output: kind.name, ...value }, null, 2) + '\n';
}
