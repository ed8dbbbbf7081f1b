import { promises as fs, existsSync, readdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import * as path from 'node:path';

/**
 * Writes are atomic: data goes to a temporary sibling, then one rename makes it
 * visible. An interrupted run leaves either the old file or the new one, never a
 * half-written file under the final name.
 */

function tempSibling(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

const pendingTemps = new Set<string>();
let exitHookInstalled = false;

/** Best effort: remove our temporaries when the process is interrupted. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const clean = () => {
    for (const p of pendingTemps) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        /* nothing more can be done on the way out */
      }
    }
  };
  process.on('exit', clean);
  // The shell's convention: 128 + the signal number.
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      clean();
      // A command that handles the signal itself (pris train keeps a checkpoint) decides when to exit.
      if (process.listenerCount(sig) === 0) process.exit(code);
    });
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  installExitHook();
  await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tempSibling(path.resolve(target));
  pendingTemps.add(tmp);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  } finally {
    pendingTemps.delete(tmp);
    await fs.rm(tmp, { force: true });
  }
}

/**
 * Carried-over files are hard-linked when possible: they are never modified in
 * place (every write is temp + rename), so sharing the inode is safe, and a
 * multi-GB interactions file costs nothing to keep.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch {
    await fs.cp(from, to, { recursive: true });
  }
}

/**
 * Builds a whole directory atomically: `fill` writes into a fresh temporary
 * directory beside `target`; on success the temporary replaces `target` (an
 * existing `target` is moved aside first and removed after the swap). On failure
 * the temporary is removed and `target` is left as it was.
 *
 * With `keep`, files of an existing `target` that `fill` did not write are
 * carried over (used to add split files to an imported dataset).
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => Promise<void>,
  opts: { keep?: boolean } = {},
): Promise<void> {
  installExitHook();
  const abs = path.resolve(target);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  const tmp = tempSibling(abs);
  pendingTemps.add(tmp);
  try {
    await fs.mkdir(tmp);
    await fill(tmp);
    if (opts.keep && existsSync(abs)) {
      const written = new Set(await fs.readdir(tmp));
      for (const name of await fs.readdir(abs)) {
        if (!written.has(name)) await linkOrCopy(path.join(abs, name), path.join(tmp, name));
      }
    }
    if (existsSync(abs)) {
      // Two synchronous renames: no JS signal handler can run between them.
      const old = tempSibling(abs) + '-old';
      renameSync(abs, old);
      renameSync(tmp, abs);
      await fs.rm(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, abs);
    }
  } finally {
    pendingTemps.delete(tmp);
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * `--out` directories are replaced wholesale, so they must be absent, empty,
 * or an earlier output of the same kind (recognised by `marker`, a file it
 * always holds): never a user's unrelated directory.
 */
export function assertReplaceableDir(out: string, marker: string, what: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new UserError(`--out ${out} exists and is not a directory`);
  if (readdirSync(out).length > 0 && !existsSync(path.join(out, marker))) {
    throw new UserError(`--out ${out} is a non-empty directory that is not ${what}; refusing to replace it`);
  }
}
