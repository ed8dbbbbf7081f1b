import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../paths.js';

/**
 * Which pris made a model: the package version and, when pris runs from its
 * own git checkout, the commit. An installed pris inside someone else's
 * repository (node_modules) must not record that repository's commit.
 */
export interface Provenance {
  version: string;
  commit?: string;
}

let cached: Provenance | undefined;

export function provenance(): Provenance {
  if (cached) return cached;
  const root = packageRoot();
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  cached = { version: pkg.version };
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (realpathSync(git(['rev-parse', '--show-toplevel'])) === realpathSync(root)) cached.commit = git(['rev-parse', 'HEAD']);
  } catch {
    /* not a git checkout, or no git */
  }
  return cached;
}
