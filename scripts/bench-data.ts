/**
 * Measures the data pipeline on the two real datasets the paper shares with
 * us (gowalla, citeulike-t), and on a generated MSD-shaped triplets file: wall time and peak memory of `pris data import`,
 * `pris data split` and `pris data stats`, each run as its own CLI process
 * exactly as a user runs it, and the sizes of the files written. Writes
 * docs/data-pipeline.md.
 *
 *   npm run build && node dist/scripts/bench-data.js [--repeat 3] [--no-large]
 *
 * Datasets are read from ../shared/datasets beside the repository, or from
 * $PRIS_DATASETS (or $PRIS_SHARED/datasets).
 *
 * Peak memory is the child's own getrusage maxrss (process.resourceUsage(),
 * read in an exit hook that a `--import` data: URL installs in the child), so
 * it is the CLI's peak RSS and nothing else's. Wall time is measured by this
 * script around the child, so it includes Node's start-up and module loading,
 * reported separately as the `pris --version` row.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nextInt, nextU32, seedRng } from '../src/kernels/rng.js';
import { packageRoot } from '../src/paths.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { UserError } from '../src/errors.js';
import { runScript, scriptArgs } from './lib/script.js';
import { parseCount } from '../src/cli/args.js';
import { SHARED_DATASETS } from './lib/datasets.js';

const root = packageRoot();
const CLI = path.join(root, 'dist', 'src', 'cli.js');

const RSS_HOOK =
  "import { writeFileSync } from 'node:fs';" +
  "process.on('exit', () => writeFileSync(process.env.PRIS_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));";

interface Measured {
  seconds: number;
  /** Peak resident set size, MiB. */
  peakMiB: number;
  stdout: string;
}

async function measure(args: string[], scratch: string): Promise<Measured> {
  const rssFile = path.join(scratch, 'rss.txt');
  rmSync(rssFile, { force: true });
  const started = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [`--import=data:text/javascript,${encodeURIComponent(RSS_HOOK)}`, CLI, ...args], {
      env: { ...process.env, PRIS_BENCH_RSS_FILE: rssFile },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`pris ${args.join(' ')} failed (${code}):\n${stderr}`);
  const kib = Number(readFileSync(rssFile, 'utf8'));
  return { seconds, peakMiB: kib / 1024, stdout };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Step {
  dataset: string;
  step: string;
  command: string;
  seconds: number[];
  peakMiB: number[];
}

interface Dataset {
  name: string;
  inputs: string[];
  importArgs: string[];
  /** Inputs are absolute paths of a file this script generates. */
  generated?: boolean;
}

const DATASETS_TO_RUN: Dataset[] = [
  { name: 'gowalla', inputs: ['gowalla/train.txt', 'gowalla/test.txt'], importArgs: ['lightgcn'] },
  { name: 'citeulike-t', inputs: ['citeulike-t/users.dat'], importArgs: ['countlist', '--catalog-items', '25975'] },
];

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);

/**
 * An Echonest/MSD-shaped triplets file (40-hex user ids, 18-character song
 * ids, 1-60 songs per user, play counts 1-20), to see how the import scales
 * towards the real 48M-row file, which is not available here.
 */
async function writeTripletsLike(file: string, users: number, songs: number): Promise<number> {
  const rng = seedRng(48);
  const hex = (words: number) => {
    let s = '';
    for (let k = 0; k < words; k++) s += nextU32(rng).toString(16).padStart(8, '0');
    return s;
  };
  const songIds = Array.from({ length: songs }, () => 'SO' + hex(2).toUpperCase());
  const out = createWriteStream(file);
  let rows = 0;
  let buf = '';
  for (let u = 0; u < users; u++) {
    const user = hex(5);
    const n = 1 + nextInt(rng, 60);
    for (let k = 0; k < n; k++) buf += `${user}\t${songIds[nextInt(rng, songs)]}\t${1 + nextInt(rng, 20)}\n`;
    rows += n;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  await new Promise<void>((resolve, reject) => out.end(buf, () => resolve()).on('error', reject));
  return rows;
}

async function main(): Promise<void> {
  const { values } = scriptArgs('usage: node dist/scripts/bench-data.js [--repeat 3] [--no-large]', {
    options: { repeat: { type: 'string', default: '3' }, 'no-large': { type: 'boolean', default: false } },
  });
  const repeat = parseCount('repeat', values.repeat);
  if (!existsSync(CLI)) throw new UserError(`${CLI} missing: run 'npm run build' first`);
  const loadBefore = os.loadavg()[0]!.toFixed(2);
  let largeNote = '';
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pris-bench-data-'));
  const steps: Step[] = [];
  const sizes: { dataset: string; inputs: [string, number][]; files: [string, number][]; stats: string }[] = [];
  try {
    const startup: Step = { dataset: '-', step: 'start-up', command: 'pris --version', seconds: [], peakMiB: [] };
    for (let k = 0; k < repeat; k++) {
      const m = await measure(['--version'], scratch);
      startup.seconds.push(m.seconds);
      startup.peakMiB.push(m.peakMiB);
    }
    steps.push(startup);
    const runs = [...DATASETS_TO_RUN];
    if (!values['no-large']) {
      const file = path.join(scratch, 'triplets-like.txt');
      const rows = await writeTripletsLike(file, 100_000, 200_000);
      largeNote = `\`triplets-like.txt\` is generated by this script (${rows.toLocaleString('en-US')} rows, 100,000 users, ` +
        `200,000 songs, ${mib(statSync(file).size)} MiB), shaped like the Echonest / MSD taste profile ` +
        '(the real one has 48M rows and is not available here); the second import keeps play counts >= 5.';
      runs.push(
        { name: 'triplets-like', inputs: [file], importArgs: ['triplets'], generated: true },
        { name: 'triplets-like >=5', inputs: [file], importArgs: ['triplets', '--min-count', '5'], generated: true },
      );
    }
    for (const d of runs) {
      const inputs = d.generated ? d.inputs : d.inputs.map((f) => path.join(SHARED_DATASETS, f));
      const missing = inputs.filter((f) => !existsSync(f));
      if (missing.length) {
        process.stderr.write(`skipping ${d.name}: ${missing.join(', ')} not found (set PRIS_DATASETS)\n`);
        continue;
      }
      const out = path.join(scratch, d.name);
      const shown = (f: string) => (d.generated ? path.basename(f) : path.join('../shared/datasets', path.relative(SHARED_DATASETS, f)));
      const plan: [string, string[], string][] = [
        ['import', ['data', 'import', d.importArgs[0]!, ...inputs, ...d.importArgs.slice(1), '--out', out, '--quiet'],
          `pris data import ${d.importArgs[0]} ${inputs.map(shown).join(' ')} ${d.importArgs.slice(1).join(' ')} --out DIR`.replace(/ +/g, ' ')],
        ['split', ['data', 'split', out, '--seed', '1'], 'pris data split DIR --seed 1'],
        ['stats', ['data', 'stats', out], 'pris data stats DIR'],
      ];
      let stats = '';
      for (const [step, args, command] of plan) {
        const s: Step = { dataset: d.name, step, command, seconds: [], peakMiB: [] };
        for (let k = 0; k < repeat; k++) {
          const m = await measure(args, scratch);
          s.seconds.push(m.seconds);
          s.peakMiB.push(m.peakMiB);
          if (step === 'stats') stats = m.stdout.replace(out, 'DIR').split(SHARED_DATASETS).join('../shared/datasets').split(scratch + path.sep).join('');
        }
        steps.push(s);
        process.stderr.write(`${d.name} ${step}: ${median(s.seconds).toFixed(2)} s, ${Math.max(...s.peakMiB).toFixed(0)} MiB\n`);
      }
      sizes.push({
        dataset: d.name,
        inputs: inputs.map((f) => [shown(f), statSync(f).size]),
        files: readdirSync(out)
          .sort()
          .map((f) => [f, statSync(path.join(out, f)).size]),
        stats,
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '# Data pipeline: time, memory, sizes',
    '',
    'Generated by `scripts/bench-data.ts` (`npm run build && node dist/scripts/bench-data.js`); do not edit by hand.',
    '',
    `Machine: ${cpu}, ${os.cpus().length} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}; ` +
      `${new Date().toISOString().slice(0, 10)}; load average before the runs ${loadBefore}. ` +
      `Each command ran ${repeat} times as its own process, one at a time.`,
    '',
    '- **wall s**: median wall-clock time of the whole process, including Node start-up and module loading',
    '  (the `pris --version` row is that fixed cost alone);',
    "- **peak MiB**: the largest peak resident set size over the runs, the child's own `getrusage` maxrss",
    '  (`process.resourceUsage().maxRSS`, read at exit by a hook loaded with `--import`; it agreed with',
    '  `/usr/bin/time -v` to the KiB on the gowalla import when checked).',
    '',
    ...(largeNote ? [largeNote, ''] : []),
    '| dataset | step | command | wall s (median) | wall s (all runs) | peak MiB |',
    '|---|---|---|---:|---|---:|',
    ...steps.map(
      (s) =>
        `| ${s.dataset} | ${s.step} | \`${s.command}\` | ${median(s.seconds).toFixed(2)} | ${s.seconds.map((x) => x.toFixed(2)).join(', ')} | ${Math.max(...s.peakMiB).toFixed(0)} |`,
    ),
    '',
    '## Sizes',
    '',
  ];
  for (const s of sizes) {
    const total = s.files.reduce((n, [, b]) => n + b, 0);
    lines.push(
      `### ${s.dataset}`,
      '',
      `Input: ${s.inputs.map(([f, b]) => `\`${f}\` ${mib(b)} MiB`).join(', ')}.`,
      '',
      '| file | bytes | MiB |',
      '|---|---:|---:|',
      ...s.files.map(([f, b]) => `| ${f} | ${b.toLocaleString('en-US')} | ${mib(b)} |`),
      `| total | ${total.toLocaleString('en-US')} | ${mib(total)} |`,
      '',
      'Interaction files are uncompressed Arrow IPC: 4 bytes per row for each column (`user`, `item` Int32,',
      '`weight` Float32 when the format has one) plus a few hundred bytes of schema and footer;',
      '`predefined_test.arrow` and `test.arrow` hold the same rows when the split is predefined.',
      '',
      '`pris data stats DIR` after the split:',
      '',
      '```',
      s.stats.trimEnd(),
      '```',
      '',
    );
  }
  const file = path.join(root, 'docs', 'data-pipeline.md');
  await writeFileAtomic(file, lines.join('\n'));
  process.stderr.write(`wrote ${file}\n`);
}

runScript('bench-data', main);
