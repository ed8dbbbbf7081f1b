import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/** The scripts' flag handling: a user's mistake is one line and exit 2, --help is usage and exit 0. No training runs here. */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (script: string, args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'scripts', `${script}.js`), ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

const mistakes: [string, string[], RegExp][] = [
  ['bench-epoch', ['--epochs', '1'], /^bench-epoch: --epochs must be an integer >= 2 \(got '1'\)/],
  ['bench-epoch', ['--samplers', 'popularity,clusters'], /^bench-epoch: --samplers: unknown sampler 'clusters' \(choose from uniform, /],
  ['bench-throughput', ['--threads', '1,two'], /^bench-throughput: --threads takes integers >= 1, comma-separated \(got '1,two'\)/],
  ['bench-eval', ['--reps', '0'], /^bench-eval: --reps must be an integer >= 1/],
  ['bench-data', ['--repeat'], /^bench-data: Option '--repeat <value>' argument missing/],
  ['bench-data', ['--no-large', '--only-echonest'], /^bench-data: --no-large and --only-echonest leave nothing to measure/],
  ['bench-parquet', ['--codec', 'lz4'], /^bench-parquet: --codec must be snappy or uncompressed \(got 'lz4'\)/],
];

for (const [script, args, pattern] of mistakes) {
  t.test(`${script} ${args.join(' ')}`, async (t) => {
    const r = run(script, args);
    t.equal(r.code, 2, 'exit code 2');
    t.match(r.stderr, pattern);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

for (const script of ['bench-epoch', 'bench-throughput', 'bench-eval', 'bench-data', 'bench-parquet']) {
  t.test(`${script} --help`, async (t) => {
    const r = run(script, ['--help']);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`^usage: node dist/scripts/${script}\\.js`));
  });
}
