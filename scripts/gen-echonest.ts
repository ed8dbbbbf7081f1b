/**
 * Writes an Echonest / Million Song Dataset Taste Profile shaped triplet file
 * at 0.01x to 1x of the real one (the generator and its calibration:
 * src/experiment/echonest-shape.ts; docs/formats.md).
 *
 *   npm run build && node dist/scripts/gen-echonest.js --scale 0.1 --out triplets.txt
 */
import { UserError } from '../src/errors.js';
import { formatSummary, PARAM_KEYS, parseParams, shapeOf, summarize, writeTriplets } from '../src/experiment/echonest-shape.js';
import { runScript, scriptArgs } from './lib/script.js';

const fmt = (n: number) => n.toLocaleString('en-US');

const USAGE = `usage: node dist/scripts/gen-echonest.js --out FILE [--scale 0.01..1] [--preset full|paper] [--seed N] [--gzip] [--summary] [--force] [--set name=value ...]

Writes an Echonest / MSD Taste Profile shaped triplet file (user<TAB>song<TAB>play count).
  --scale     fraction of the full set (1 = 1,019,318 users, 384,546 songs, 48,373,586 rows); default 0.01
  --preset    full: every row (default); paper: only the rows the paper's filter keeps
              (play count >= 5, users with >= 5 such songs), scale 1 unless --scale is given
  --seed      random seed (default 1); the same flags give the same bytes
  --gzip      gzip the output (also implied by an --out ending in .gz)
  --summary   print the generated shape and what the paper's filter leaves (with no --out: only that)
  --force     replace an existing file (only one this script wrote)
  --set       override a model parameter (${PARAM_KEYS.join(', ')})`;

async function main(): Promise<void> {
  const { values } = scriptArgs(USAGE, {
    options: {
      out: { type: 'string' },
      scale: { type: 'string' },
      preset: { type: 'string' },
      seed: { type: 'string' },
      gzip: { type: 'boolean', default: false },
      summary: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true },
    },
  });
  const p = parseParams(values);
  if (values.out === undefined && !values.summary) throw new UserError(`--out is required (or --summary alone)\n\n${USAGE}`);
  if (values.summary) process.stdout.write(formatSummary(summarize(p)));
  if (values.out !== undefined) {
    const gzip = values.gzip || values.out.endsWith('.gz');
    const started = process.hrtime.bigint();
    const bytes = await writeTriplets(p, values.out, gzip, values.force);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const shape = shapeOf(p);
    process.stderr.write(
      `wrote ${values.out}: ${p.paperRowsOnly ? 'the paper-filtered rows of ' : ''}${fmt(shape.users)} users, ${fmt(shape.songs)} songs, ` +
        `${p.paperRowsOnly ? '' : fmt(shape.rows) + ' rows, '}${(bytes / 2 ** 20).toFixed(1)} MiB${gzip ? ' gzipped' : ''} in ${seconds.toFixed(1)} s\n`,
    );
  }
}

runScript('gen-echonest', main);
