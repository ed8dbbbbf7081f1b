import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_DATASETS } from '../scripts/lib/datasets.js';

/**
 * The package as users get it: `npm pack`, installed into an empty directory
 * from the tarball, its CLI and the README's library example run from there
 * (the installed copy, not this checkout).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(path.join(tmpdir(), 'pris-pack-'));
const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });

t.test('npm pack, install the tarball into an empty directory, run the CLI and the README example', async (t) => {
  const packed = npm(['pack', '--ignore-scripts', '--pack-destination', work], root);
  t.equal(packed.status, 0, 'npm pack', { stderr: packed.stderr });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  t.ok(tarball, 'a tarball');
  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  // The dependencies come from npm's cache when `npm ci` has filled it (CI), else from the registry.
  const installed = npm(['install', '--prefer-offline', '--no-save', path.join(work, tarball!)], app);
  t.equal(installed.status, 0, 'npm install of the tarball', { stderr: installed.stderr });
  const pkgDir = path.join(app, 'node_modules', 'pris-rec');
  t.ok(existsSync(path.join(pkgDir, 'dist', 'kernels.wasm')), 'the kernels are in the package');
  t.notOk(existsSync(path.join(pkgDir, 'src')), 'no TypeScript sources');
  t.notOk(existsSync(path.join(pkgDir, 'test')), 'no tests');
  const bin = path.join(app, 'node_modules', '.bin', 'pris');
  const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
  t.equal(help.status, 0, 'pris --help', { stderr: help.stderr });
  t.match(help.stdout, /pris <command>/);
  t.match(help.stdout, /train <dataset>/);
  // The studies and the tuner are in the package, not only in a checkout.
  for (const [cmd, usage] of [['experiment', /pris experiment <study> --dataset/], ['tune', /pris tune <dataset>/], ['recommend', /pris recommend <model>/], ['similar', /pris similar <model>/]] as const) {
    const r = spawnSync(bin, [cmd, '--help'], { cwd: app, encoding: 'utf8' });
    t.equal(r.status, 0, `pris ${cmd} --help`, { stderr: r.stderr });
    t.match(r.stdout, usage);
  }
  t.ok(existsSync(path.join(app, 'node_modules', 'vega-lite')), 'the optional plotting packages install by default');

  const u = path.join(SHARED_DATASETS, 'ml-100k', 'u.data');
  if (!existsSync(u)) {
    t.comment(`MovieLens 100K not found at ${u}: the README example was not run`);
    return;
  }
  const ml = path.join(work, 'ml');
  for (const args of [['data', 'import', 'movielens', u, '--min-rating', '>=4', '--out', ml, '-q'], ['data', 'split', ml, '--seed', '1']]) {
    const r = spawnSync(bin, args, { cwd: app, encoding: 'utf8' });
    t.equal(r.status, 0, `pris ${args[1]}`, { stderr: r.stderr });
  }
  const readme = readFileSync(path.join(pkgDir, 'README.md'), 'utf8');
  const block = /## Use it as a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(block, 'the installed README has the example');
  const code = block!.replaceAll("'runs/ml'", JSON.stringify(ml)).replaceAll("'runs/ml-model'", JSON.stringify(path.join(work, 'ml-model')));
  writeFileSync(path.join(app, 'example.mjs'), code);
  const r = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8' });
  t.equal(r.status, 0, 'the README example', { stderr: r.stderr });
  t.match(r.stdout, /^196 \[/m);
  const cfg = JSON.parse(readFileSync(path.join(work, 'ml-model', 'config.json'), 'utf8'));
  t.equal(cfg.git_commit, undefined, 'an installed pris records no git commit');
});
