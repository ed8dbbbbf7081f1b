import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { loadDataset, type LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { flatMetrics } from '../eval/evaluate.js';
import { EvaluationInterrupted } from '../eval/run-blocks.js';
import { nnz } from '../data/csr.js';
import { MODEL_FILES, MODEL_OUTPUT, type EmbeddingFormat } from '../model/io.js';
import { lazyProgress } from '../util/progress.js';
import { openOutput, type OutputDir } from '../util/output.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { TRAIN_OPTIONS, resolveTrainConfig, type TrainConfig } from '../train/options.js';
import type { RunState } from '../train/train.js';
import { fit, TrainingDiverged } from './fit.js';
import type { PrisModel } from './model.js';

/** The checkpoint a run keeps in its output directory until it ends well. */
export const CHECKPOINT_FILE = 'checkpoint.pris';

/** Options a resumed run may change: how long it goes on and how it runs, never what it computes. */
// historyWeight acts once the run has trained, on nothing a checkpoint holds.
const RESUMABLE_CHANGES = new Set<keyof TrainConfig>(['epochs', 'patience', 'threads', 'k', 'clusterSync', 'testUsers', 'historyWeight']);

export interface TrainJob {
  dataset: string;
  out: string;
  /** only the options given (the rest: defaults, or the checkpoint's when resuming) */
  given: Partial<TrainConfig>;
  /** epochs between checkpoints (0: none) */
  checkpointEvery: number;
  resume: boolean;
  /** replace an earlier model at `out` (a resumed run continues its own) */
  force?: boolean;
  /** embeddings also as Parquet ('parquet'); Arrow is always written */
  format?: EmbeddingFormat;
  progress: 'auto' | 'lines' | 'quiet';
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface TrainJobResult {
  config: TrainConfig;
  metrics: Record<string, unknown>;
}

/** The options of a resumed run: the checkpoint's, with the changes allowed; anything else given must agree. */
export function resumeConfig(saved: TrainConfig, given: Partial<TrainConfig>): TrainConfig {
  const out: Record<string, unknown> = { ...saved };
  for (const [key, value] of Object.entries(given) as [keyof TrainConfig, unknown][]) {
    if (JSON.stringify(value) === JSON.stringify(saved[key])) continue;
    const flag = TRAIN_OPTIONS.find((o) => o.key === key)!.flag;
    if (!RESUMABLE_CHANGES.has(key)) {
      throw new UserError(`--${flag} ${String(value)} differs from the interrupted run's ${JSON.stringify(saved[key])}: a resumed run keeps its options (only --epochs, --patience, --threads, --k, --test-users and --history-weight may change)`);
    }
    out[key] = value;
  }
  return resolveTrainConfig(out as Partial<TrainConfig>);
}

function checkpointPath(out: string): string {
  return path.join(out, CHECKPOINT_FILE);
}

/**
 * Everything that can fail before the first epoch: the output directory
 * (checked and locked, src/util/output.ts), the dataset, a checkpoint to
 * resume. Returns the open output, the loaded dataset, the options and the
 * checkpoint.
 */
async function prepare(job: TrainJob): Promise<{ output: OutputDir; ds: LoadedDataset; config: TrainConfig; resume?: Checkpoint<RunState> }> {
  const out = job.out;
  const cpFile = checkpointPath(out);
  const hasCheckpoint = existsSync(cpFile);
  const output = await openOutput({ path: out, kind: MODEL_OUTPUT, force: job.force || job.resume || hasCheckpoint, reads: [job.dataset] });
  try {
    return { output, ...prepareRun(job, cpFile, hasCheckpoint) };
  } catch (e) {
    output.close();
    throw e;
  }
}

function prepareRun(job: TrainJob, cpFile: string, hasCheckpoint: boolean): { ds: LoadedDataset; config: TrainConfig; resume?: Checkpoint<RunState> } {
  const out = job.out;
  if (job.resume && !hasCheckpoint) throw new UserError(`--resume: no checkpoint in ${out} (${CHECKPOINT_FILE}): nothing to resume; train without --resume`);
  if (!job.resume && hasCheckpoint && !job.force) {
    throw new UserError(`${out} holds the checkpoint of an interrupted run: continue it with --resume, or give --force to start over`);
  }
  const ds = loadDataset(job.dataset);
  if (!job.resume) return { ds, config: resolveTrainConfig(job.given) };
  const cp = readCheckpoint<RunState & { dataset?: { dir: string; fingerprint?: string } }>(cpFile);
  const saved = cp.state;
  const fp = ds.meta.split?.fingerprint;
  if (saved.dataset?.fingerprint && fp && saved.dataset.fingerprint !== fp) {
    throw new UserError(`the checkpoint in ${out} was made on another split of the data than ${job.dataset} (fingerprint ${saved.dataset.fingerprint} vs ${fp}); resume on the same split`);
  }
  return { ds, config: resumeConfig(saved.config, job.given), resume: cp };
}

/**
 * `pris train`: fit with a checkpoint every few epochs in the output
 * directory, save the model (the whole directory replaced at once), then the
 * test evaluation, whose figures are added to metrics.json.
 */
export async function runTrainJob(job: TrainJob): Promise<TrainJobResult> {
  const prepared = await prepare(job);
  using output = prepared.output;
  const { ds, config, resume } = prepared;
  if (resume) job.log(`resuming from epoch ${resume.state.epoch}${resume.state.partial ? ' (the checkpoint includes part of the interrupted epoch)' : ''}`);
  const datasetInfo = { dir: path.resolve(ds.dir), ...(ds.meta.split?.fingerprint ? { fingerprint: ds.meta.split.fingerprint } : {}) };
  let model: PrisModel;
  try {
    model = await fit(ds, {
      ...config,
      progress: job.progress,
      onLog: job.log,
      ...(job.signal ? { signal: job.signal } : {}),
      ...(job.checkpointEvery > 0
        ? {
            checkpoint: {
              every: job.checkpointEvery,
              save: async (cp: Checkpoint<RunState>) => {
                // The directory is made on the first checkpoint: a run that fails before has left nothing behind.
                await output.writeFileWithAsync(CHECKPOINT_FILE, async (tmp) => void (await writeCheckpoint(tmp, { state: { ...cp.state, dataset: datasetInfo } as RunState, arrays: cp.arrays })));
              },
            },
          }
        : {}),
      ...(resume ? { resume } : {}),
    });
  } catch (e) {
    if (!(e instanceof TrainingDiverged)) throw e;
    // The best state reached is worth keeping; the run still fails.
    await e.model.save(output, { ...e.summary, dataset: datasetInfo.dir }, { ...(job.format ? { format: job.format } : {}) });
    await e.model.close();
    throw new UserError(`${e.message} Saved it to ${job.out}.`);
  }
  try {
    const summary = { ...model.info.summary, dataset: datasetInfo.dir, shared_memory_mb: model.sharedMemoryBytes / 2 ** 20 };
    // The model is on disk before the (possibly long) test evaluation starts.
    await model.save(output, { ...summary, test: null, test_status: 'pending' }, { ...(job.format ? { format: job.format } : {}) });
    const metrics = { ...summary, ...(await testMetrics(model, ds, config, job)), peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
    output.writeFile(MODEL_FILES.metrics, JSON.stringify(metrics, null, 2) + '\n');
    return { config: model.config, metrics };
  } finally {
    await model.close();
  }
}

/**
 * AUC needs every score, so when the ranking metrics skip clusters (large
 * catalogues) AUC goes on a fixed sample of this many test users, like
 * validation (docs/metrics.md: its error and what it saves).
 */
export const TEST_AUC_USERS = 20_000;

/** pris train's test evaluation of a saved model (the experiments' too), as metrics.json records it. */
export async function testMetrics(model: PrisModel, ds: LoadedDataset, config: TrainConfig, job: Pick<TrainJob, 'log' | 'progress' | 'out' | 'signal'>): Promise<Record<string, unknown>> {
  if (nnz(ds.test) === 0) {
    job.log(`note: ${ds.dir} has no test interactions: no test metrics`);
    return { test: null, test_status: 'no test split' };
  }
  if (job.signal?.aborted) return { test: null, test_status: 'interrupted' };
  const sampled = config.testUsers > 0;
  const sample = { ...(sampled ? { sampleUsers: config.testUsers } : {}), sampleSeed: config.seed, aucSample: TEST_AUC_USERS };
  if (job.progress !== 'quiet') {
    const what = sampled ? `a sample of ${config.testUsers.toLocaleString('en-US')} users` : `${ds.nUsers.toLocaleString('en-US')} users`;
    job.log(`model saved in ${job.out}; test evaluation on ${what} x ${ds.nItems.toLocaleString('en-US')} items (an interrupt stops it; the model stays)`);
  }
  const bar = lazyProgress('test', job.progress);
  try {
    const test = await model.evaluate(ds, { target: 'test', exclude: ['train', 'valid'], ks: config.k, auc: true, ...sample, onProgress: bar.onProgress, ...(job.signal ? { signal: job.signal } : {}) });
    if (test.aucSample !== undefined && job.progress !== 'quiet') {
      job.log(`note: ranking metrics over every test user, skipping item clusters (${test.pruned!.clusters} by K-means, ${test.pruned!.seconds.toFixed(1)} s); AUC on a fixed sample of ${test.aucSample.toLocaleString('en-US')} of them (docs/metrics.md)`);
    }
    return {
      test: flatMetrics(test),
      test_users: test.evaluated,
      ...(sampled ? { test_sample: { users: config.testUsers, seed: config.seed } } : {}),
      test_users_skipped: test.skipped,
      ...(test.aucSample !== undefined ? { test_auc_sample: { users: test.aucSample, seed: config.seed } } : {}),
      ...(test.pruned ? { test_pruned: test.pruned } : {}),
      test_eval_seconds: test.seconds,
    };
  } catch (e) {
    if (!(e instanceof EvaluationInterrupted)) throw e;
    return { test: null, test_status: 'interrupted' };
  } finally {
    bar.stop();
  }
}
