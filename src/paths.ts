import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package root: the nearest folder above this module holding package.json. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('pris: cannot locate package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/**
 * Workers always run from compiled JS in dist/ (also when the caller was loaded
 * from TypeScript sources by the test runner), so the path is resolved from
 * the package root rather than from this module.
 */
export function workerUrl(name: string): string {
  const file = path.join(packageRoot(), 'dist', 'workers', `${name}.js`);
  if (!existsSync(file)) throw new Error(`pris: worker ${file} not built; run 'npm run build'`);
  return pathToFileURL(file).href;
}
