import type { Argv } from 'yargs';
import { FORMATS, FORMAT_NAMES } from '../data/import/index.js';
import { importDataset } from '../data/import/run.js';
import { DEFAULT_TEST_FRACTION, DEFAULT_VALID_FRACTION, splitDataset } from '../data/split.js';
import { datasetStats, formatCount, formatStats } from '../data/stats.js';

/**
 * `pris data import | split | stats`: raw files → an Arrow dataset directory
 * (docs/formats.md). Summaries go to stdout, progress to stderr.
 */

function formatList(): string {
  return FORMAT_NAMES.map((n) => `  ${n.padEnd(10)} ${FORMATS[n]!.summary}`).join('\n');
}

function registerImport(y: Argv): Argv {
  return y.command(
    'import <format> <input...>',
    'read raw interaction files into a dataset directory',
    (c) =>
      c
        .usage(`$0 data import <format> <input...> --out <dir> [options]\n\nFormats:\n${formatList()}`)
        .positional('format', { type: 'string', choices: FORMAT_NAMES, describe: 'raw format' })
        .positional('input', { type: 'string', array: true, describe: 'input file(s); .gz is read transparently' })
        .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'dataset directory to write (atomically)' })
        .option('force', { type: 'boolean', default: false, describe: 'replace an earlier pris dataset at --out' })
        .option('min-rating', {
          type: 'string',
          describe: "keep rows whose rating/weight passes an explicit comparison: '>4' or '>=4' (the paper keeps ratings > 4 for Amazon and MovieLens)",
        })
        .option('min-count', { type: 'number', describe: 'keep rows with weight >= N (Echonest: play count >= 5)' })
        .option('min-user-interactions', {
          type: 'number',
          describe: 'drop users with fewer than N distinct items after the filters above (the paper: 5; default: no filter)',
        })
        .option('catalog-items', {
          type: 'number',
          describe: 'declare N items in the catalogue (integer ids: the smallest missing non-negative ids are added)',
        })
        .option('variant', { type: 'string', choices: ['tsv', 'dat', 'csv'], describe: 'movielens layout (default: detected)' })
        .option('user-col', { type: 'string', describe: 'csv: user column, 0-based number or header name (default 0)' })
        .option('item-col', { type: 'string', describe: 'csv: item column (default 1)' })
        .option('weight-col', { type: 'string', describe: 'csv: weight/rating column (optional)' })
        .option('timestamp-col', { type: 'string', describe: 'csv: integer timestamp column (optional)' })
        .option('delimiter', { type: 'string', describe: "csv: field delimiter, e.g. ',' ';' tab '::' (default ',')" })
        .option('header', { type: 'boolean', describe: 'csv: the first line names the columns' })
        .option('threads', { alias: 't', type: 'number', describe: 'threads reading a large plain input at once (default: every core)' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' })
        .example('$0 data import lightgcn train.txt test.txt --out data/gowalla', 'keep the LightGCN train/test split')
        .example('$0 data import countlist users.dat --catalog-items 25975 --out data/citeulike', '')
        .example("$0 data import movielens ratings.dat --min-rating '>4' --min-user-interactions 5 --out data/ml", ''),
    async (a) => {
      const meta = await importDataset({
        format: a.format!,
        inputs: a.input!,
        out: a.out,
        minRating: a['min-rating'],
        minCount: a['min-count'],
        minUserInteractions: a['min-user-interactions'],
        catalogItems: a['catalog-items'],
        variant: a.variant,
        userCol: a['user-col'],
        itemCol: a['item-col'],
        weightCol: a['weight-col'],
        timestampCol: a['timestamp-col'],
        delimiter: a.delimiter,
        header: a.header,
        threads: a.threads,
        progress: a.quiet ? 'quiet' : 'auto',
        force: a.force,
      });
      const dropped = Object.entries(meta.dropped)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${formatCount(n)}`);
      process.stdout.write(
        `imported ${formatCount(meta.interactions)} interactions: ${formatCount(meta.users)} users, ${formatCount(meta.items)} items` +
          (meta.predefinedSplit ? ` (predefined test: ${formatCount(meta.predefinedTestInteractions ?? 0)})` : '') +
          ` -> ${a.out}\n` +
          `dropped: ${dropped.length ? dropped.join(', ') : 'nothing'}\n` +
          `next: pris data split ${a.out} --seed 1\n`,
      );
    },
  );
}

function registerSplit(y: Argv): Argv {
  return y.command(
    'split <dir>',
    'per-user random train/valid/test split (kept predefined test, if any)',
    (c) =>
      c
        .positional('dir', { type: 'string', describe: 'dataset directory' })
        .option('seed', { type: 'number', default: 1, describe: 'random seed (same seed, same split)' })
        .option('test-fraction', { type: 'number', default: DEFAULT_TEST_FRACTION, describe: "each user's share of test rows" })
        .option('valid-fraction', { type: 'number', default: DEFAULT_VALID_FRACTION, describe: "share of each user's train rows held out for validation" })
        .option('force', { type: 'boolean', default: false, describe: 'replace an existing split' })
        .example('$0 data split data/citeulike --seed 1', ''),
    async (a) => {
      const s = await splitDataset(a.dir!, { seed: a.seed, testFraction: a['test-fraction'], validFraction: a['valid-fraction'], force: a.force });
      process.stdout.write(
        `split ${a.dir} (seed ${s.seed}${s.predefined ? ', predefined test' : ''}): ` +
          `train ${formatCount(s.counts.train)}, valid ${formatCount(s.counts.valid)}, test ${formatCount(s.counts.test)}\n` +
          `users without test: ${formatCount(s.usersWithoutTest)}, without valid: ${formatCount(s.usersWithoutValid)}` +
          (s.usersWithoutTrain ? `, without train: ${formatCount(s.usersWithoutTrain)}` : '') +
          '\n',
      );
    },
  );
}

function registerStats(y: Argv): Argv {
  return y.command(
    'stats <dir>',
    "users, items, interactions, density, concentration (the paper's Table 1), per split part too",
    (c) =>
      c
        .positional('dir', { type: 'string', describe: 'dataset directory' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    (a) => {
      const s = datasetStats(a.dir!);
      process.stdout.write(a.json ? JSON.stringify(s, null, 2) + '\n' : formatStats(s));
    },
  );
}

/** Registers the `data` command group. */
export function registerDataCommands(y: Argv): Argv {
  return y.command('data', 'import, split and inspect datasets (Arrow files)', (d) =>
    registerStats(registerSplit(registerImport(d))).demandCommand(1, 'name a data command: import, split or stats'),
  );
}
