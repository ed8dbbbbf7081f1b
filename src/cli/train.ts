import type { Argv } from 'yargs';
import { UserError } from '../errors.js';
import { parseCount } from './args.js';
import { runTrainJob } from '../api/train-job.js';
import { EMBEDDING_FORMATS, TrainingInterrupted, type TrainConfig } from '../index.js';
import { addTrainOptions, givenTrainOptions } from './train-options.js';
import { interruptible } from './interrupt.js';

/** `pris train <dataset> --out <model>`: the library's fit, checkpoints, save and test evaluation. */
export function registerTrainCommands(y: Argv): Argv {
  return y.command(
    'train <dataset>',
    'train user and item embeddings on a dataset directory',
    (c) =>
      addTrainOptions(
        c
          .positional('dataset', { type: 'string', describe: 'dataset directory (pris data import + split)' })
          .option('out', { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'model directory to write (replaced as a whole when training ends)' })
          .option('checkpoint-every', { type: 'number', default: 1, describe: 'write a checkpoint into --out every N epochs (0 = never); an interrupted run continues with --resume' })
          .option('force', { type: 'boolean', default: false, describe: 'replace an earlier pris model at --out (or the checkpoint of an interrupted run)' })
          .option('resume', { type: 'boolean', default: false, describe: "continue the interrupted run whose checkpoint is in --out (its options are kept; --epochs, --patience, --threads, --k, --test-users, --history-weight may change)" })
          .option('format', { choices: EMBEDDING_FORMATS, default: 'arrow' as const, describe: 'embeddings file format: parquet writes user_ and item_embeddings.parquet besides the Arrow files pris loads' })
          .option('json', { type: 'boolean', default: false, describe: 'print metrics.json to stdout' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress output' }),
      )
        .example('$0 train data/gowalla --out models/gowalla', 'PRIS with the popularity sampler, all cores')
        .example('$0 train data/gowalla --out m --sampler uniform --loss bpr --threads 1 --seed 7', 'reproducible BPR baseline')
        .example('$0 train data/gowalla --out models/gowalla --resume', 'continue a run stopped by Ctrl-C, SIGTERM or a crash'),
    async (a) => {
      const given = givenTrainOptions(a);
      const checkpointEvery = parseCount('checkpoint-every', a['checkpoint-every'], 0);
      const stop = interruptible('stopping (training: at the next user, keeping a checkpoint; the test evaluation: at once, the model is saved already)');
      let result;
      try {
        result = await runTrainJob({
          dataset: a.dataset!,
          out: a.out,
          given,
          checkpointEvery,
          resume: a.resume,
          force: a.force,
          format: a.format,
          progress: a.quiet ? 'quiet' : 'auto',
          log: (line) => process.stderr.write(line + '\n'),
          signal: stop.signal,
        });
      } catch (e) {
        if (e instanceof TrainingInterrupted) {
          const where = e.checkpointEpoch !== undefined
            ? `checkpoint of epoch ${e.checkpointEpoch} in ${a.out}; continue with: pris train ${a.dataset} --out ${a.out} --resume`
            : 'no checkpoint was kept (--checkpoint-every 0)';
          throw new UserError(`interrupted after epoch ${e.epoch}: ${where}`, stop.exitCode() ?? 130);
        }
        throw e;
      } finally {
        stop.dispose();
      }
      // A signal during the test evaluation: the model is saved already.
      if (stop.exitCode() !== undefined) throw new UserError(`interrupted after training; the model is saved in ${a.out}`, stop.exitCode());
      const { metrics, config } = result;
      if (a.json) {
        process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
        return;
      }
      const test = metrics.test as Record<string, number> | null;
      if (test) process.stdout.write(`test: ${Object.entries(test).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}\n`);
      process.stdout.write(
        `trained ${metrics.epochs_run} epochs in ${(metrics.train_seconds as number).toFixed(1)} s of SGD ` +
          `(${Math.round(metrics.positives_per_second as number).toLocaleString('en-US')} positives/s, ${config.threads} threads); model in ${a.out}\n`,
      );
      process.stdout.write(samplerReport(config, metrics) + '\n');
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
