import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

t.test('the CLI runs through a bin symlink, as npm installs it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-bin-'));
  const link = path.join(dir, 'pris');
  symlinkSync(path.join(root, 'dist', 'src', 'cli.js'), link);
  const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const r = spawnSync(process.execPath, [link, '--version'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.equal(r.stdout.trim(), version);
  const none = spawnSync(process.execPath, [link], { encoding: 'utf8' });
  t.equal(none.status, 2, 'no command: usage error');
  t.match(none.stderr, /name a command/);
  const bad = spawnSync(process.execPath, [link, 'fly'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

t.test('every command has a complete --help', async (t) => {
  const cli = path.join(root, 'dist', 'src', 'cli.js');
  const commands: [string[], string[]][] = [
    [['data', 'import'], ['--out', '--min-rating', '--force']],
    [['data', 'split'], ['--seed', '--valid-fraction']],
    [['data', 'stats'], ['--json']],
    [['train'], ['--out', '--sampler', '--lr', '--resume', '--checkpoint-every']],
    [['evaluate'], ['--k', '--split', '--threads', '--auc']],
    [['baseline'], ['--k', '--split']],
    [['recommend'], ['--users', '--users-file', '--items', '--items-file', '--out', '--format', '--include-seen', '--exclude', '--seed', '--json']],
    [['similar'], ['--items', '--items-file', '--k', '--json']],
    [['experiment'], ['--dataset', '--epochs', '--seeds', '--set', '--skip', '--paper', '--out', '--keep-models']],
    [['tune'], ['--budget', '--trials', '--lr', '--reg', '--dim', '--sampler', '--out', '--patience', '--negatives']],
  ];
  for (const [cmd, flags] of commands) {
    const r = spawnSync(process.execPath, [cli, ...cmd, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    t.equal(r.status, 0, `pris ${cmd.join(' ')} --help`);
    t.match(r.stdout, new RegExp(`^pris ${cmd.join(' ')}`), 'usage first');
    for (const f of flags) t.match(r.stdout, new RegExp(`${f}\\b`), `pris ${cmd.join(' ')} --help lists ${f}`);
  }
});
