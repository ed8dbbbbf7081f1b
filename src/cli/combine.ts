import type { Argv } from 'yargs';
import { parseCount, parseK } from './args.js';
import { parseThreads, THREADS_OPTION } from './evaluate.js';
import { UserError } from '../errors.js';
import { combineJob, COMBINE_WEIGHTS } from '../api/combine.js';

/**
 * `pris combine`: two models trained on the same dataset made one model
 * (the library's combineJob). The weight and the validation scores go to
 * stdout, as a line or as JSON.
 */

interface CombineArgs {
  first: string;
  second: string;
  out: string;
  weight: string;
  dataset?: string;
  k?: unknown;
  'valid-users'?: unknown;
  seed?: unknown;
  threads?: unknown;
  force: boolean;
  json: boolean;
}

function parseWeight(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const w = Number(v);
  if (v.trim() === '' || !(w >= 0 && w <= 1)) throw new UserError(`--weight must be a number between 0 and 1, or auto (got '${v}')`);
  return w;
}

export function registerCombineCommand(y: Argv): Argv {
  return y.command(
    'combine <first> <second>',
    'make one model of two trained on the same dataset: the score a weighted sum of theirs, the weight chosen on validation',
    (c) =>
      c
        .usage(
          '$0 combine <first> <second> --out <dir> [--weight auto|w] [--dataset <dir>]\n\n' +
            "The combined model's rows are the parts' rows side by side, so its score is (1 - w) times the first " +
            "model's score plus w times the second's, each part first brought to scale 1 (models trained with " +
            'different losses score on different scales). It is an ordinary model of dimension dimA + dimB for ' +
            "every command and every reader of the embeddings (fold-in excepted). --weight auto tries w = " +
            `${COMBINE_WEIGHTS.join(', ')} on the validation split (both models trained on train only) and keeps the best; ` +
            'then combine the refits (--train-on train+valid) with that weight. docs/training.md.',
        )
        .positional('first', { type: 'string', describe: 'model directory (pris train --out)' })
        .positional('second', { type: 'string', describe: 'model directory trained on the same dataset' })
        .option('out', { type: 'string', demandOption: true, requiresArg: true, describe: 'where to write the combined model' })
        .option('weight', { type: 'string', default: 'auto', describe: "the second model's share of the score, 0..1, or auto (chosen on validation)" })
        .option('dataset', { type: 'string', requiresArg: true, defaultDescription: "with --weight auto, the first model's (config.json)", describe: 'the dataset both models were trained on (attached to the combined model)' })
        .option('k', { type: 'number', requiresArg: true, defaultDescription: "the first model's first --k", describe: 'auto: the NDCG cutoff compared' })
        .option('valid-users', { type: 'number', requiresArg: true, defaultDescription: "the first model's", describe: 'auto: validate on a fixed sample of N users with validation items (0 = all)' })
        .option('seed', { type: 'number', requiresArg: true, defaultDescription: "the first model's", describe: 'auto: the seed of that sample' })
        .option('threads', THREADS_OPTION)
        .option('force', { type: 'boolean', default: false, describe: 'replace an earlier pris model at --out' })
        .option('json', { type: 'boolean', default: false, describe: 'print what metrics.json holds as JSON' })
        .example('$0 combine v-ccl v-pris --out v-both', 'the weight chosen on validation (models trained on train)')
        .example('$0 combine m-ccl m-pris --out m-both --weight 0.2', 'the refits combined with that weight'),
    async (argv) => {
      const a = argv as unknown as CombineArgs;
      const weight = parseWeight(a.weight);
      const autoOnly = (['k', 'valid-users', 'seed'] as const).filter((f) => a[f] !== undefined);
      if (weight !== 'auto' && autoOnly.length > 0) throw new UserError(`${autoOnly.map((f) => `--${f}`).join(', ')}: only with --weight auto (a given weight is not chosen on validation)`);
      const threads = parseThreads(a.threads);
      const m = await combineJob({
        first: a.first,
        second: a.second,
        out: a.out,
        weight,
        force: a.force,
        ...(a.dataset !== undefined ? { dataset: a.dataset } : {}),
        ...(a.k !== undefined ? { k: parseK(a.k) } : {}),
        ...(a['valid-users'] !== undefined ? { validUsers: parseCount('valid-users', a['valid-users'], 0) } : {}),
        ...(a.seed !== undefined ? { seed: parseCount('seed', a.seed, 0) } : {}),
        ...(threads ? { threads } : {}),
      });
      if (a.json) {
        process.stdout.write(JSON.stringify(m, null, 2) + '\n');
        return;
      }
      const grid = m.weight_valid as Record<string, number> | undefined;
      if (grid) {
        process.stdout.write(`validation ndcg@${String(m.valid_k)} by weight:\n`);
        for (const [w, s] of Object.entries(grid).sort((x, y) => Number(x[0]) - Number(y[0]))) process.stdout.write(`  ${w.padEnd(4)} ${s.toFixed(4)}${Number(w) === m.weight ? '  <- kept' : ''}\n`);
      }
      process.stdout.write(`wrote ${a.out}: weight ${String(m.weight)}\n`);
    },
  );
}
