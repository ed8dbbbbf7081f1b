import type { Argv } from 'yargs';
import type { TrainConfig } from '../train/options.js';
import { runTraining } from '../train/run.js';
import { addTrainOptions, trainConfigFromArgs } from './train-options.js';

/** `pris train <dataset> --out <model>`. */
export function registerTrainCommands(y: Argv): Argv {
  return y.command(
    'train <dataset>',
    'train user and item embeddings on a dataset directory',
    (c) =>
      addTrainOptions(
        c
          .positional('dataset', { type: 'string', describe: 'dataset directory (pris data import + split)' })
          .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'model directory to write (replaced atomically)' })
          .option('json', { type: 'boolean', default: false, describe: 'print metrics.json to stdout' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' }),
      )
        .example('$0 train data/gowalla --out models/gowalla', 'PRIS with the popularity sampler, all cores')
        .example('$0 train data/gowalla --out m --sampler uniform --loss bpr --threads 1 --seed 7', 'reproducible BPR baseline'),
    async (a) => {
      const config = trainConfigFromArgs(a);
      const { metrics } = await runTraining({
        dataset: a.dataset!,
        out: a.out,
        config,
        progress: a.quiet ? 'quiet' : 'auto',
      });
      if (a.json) {
        process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
      } else {
        const test = metrics.test as Record<string, number>;
        const parts = Object.entries(test).map(([k, v]) => `${k} ${v.toFixed(4)}`);
        process.stdout.write(`test: ${parts.join('  ')}\n`);
        process.stdout.write(
          `trained ${metrics.epochs_run} epochs in ${(metrics.train_seconds as number).toFixed(1)} s of SGD ` +
            `(${Math.round(metrics.positives_per_second as number).toLocaleString('en-US')} positives/s, ${config.threads} threads); model in ${a.out}\n`,
        );
        process.stdout.write(samplerReport(config, metrics) + '\n');
      }
    },
  );
}

/** The sampler's cost in one line: draws per accepted negative (Corollary 4.3), SGD and clustering seconds per epoch. */
function samplerReport(config: TrainConfig, m: Record<string, unknown>): string {
  const epochs = m.epochs_run as number;
  let line =
    `sampler ${config.sampler}: ${(m.draws_per_negative as number).toFixed(3)} draws per accepted negative, ` +
    `${((m.train_seconds as number) / epochs).toFixed(3)} s of SGD per epoch`;
  const c = m.clustering as Record<string, number> | undefined;
  if (c) {
    line +=
      `, clustering ${(c.seconds_total! / epochs).toFixed(3)} s per epoch ` +
      `(${c.refreshes} refreshes of ${c.seconds_per_refresh!.toFixed(3)} s, ${config.clusterSync ? 'waited for' : 'beside SGD'})`;
  }
  return line;
}
