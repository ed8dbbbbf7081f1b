import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { packageRoot } from '../paths.js';
import * as path from 'node:path';
import { emptyCsr, nnz, unionCsr } from '../data/csr.js';
import { positiveWeights } from '../data/positive-weights.js';
import { loadDataset, readItemIds, readUserIds, type LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { evaluateModel, flatMetrics, type EvalResult } from '../eval/evaluate.js';
import { MODEL_FILES, saveEmbeddings, writeJson } from '../model/io.js';
import { normalizeModel, type Model } from '../model/store.js';
import { releaseShared, sharedBytesSince, sharedMark } from '../memory/shared.js';
import { assertReplaceableDir, writeDirAtomic } from '../util/atomic.js';
import { withResolvedReg, type TrainConfig } from './config.js';
import { closeSession, epochProgress, refreshClusters, runEpoch, startSession, type EpochStats, type TrainSession } from './trainer.js';
import type { ClusterResult } from '../cluster/cluster-task.js';

export interface RunOptions {
  dataset: string;
  out: string;
  config: TrainConfig;
  /** 'train+valid' trains on both (the final refit once the epoch count is chosen); no validation then. */
  trainOn: 'train' | 'train+valid';
  /** Evaluate validation on a fixed random subset of this many users (0 = all). */
  validUsers: number;
  progress: 'auto' | 'lines' | 'quiet';
}

export interface RunResult {
  metrics: Record<string, unknown>;
  test: EvalResult;
}

/** Plain copies of the embeddings, reused: the best (or last good) state to fall back to. */
class Snapshot {
  user: Float32Array;
  item: Float32Array;
  epoch = 0;
  constructor(m: Model) {
    this.user = new Float32Array(m.user.length);
    this.item = new Float32Array(m.item.length);
  }
  take(m: Model, epoch: number): void {
    this.user.set(m.user);
    this.item.set(m.item);
    this.epoch = epoch;
  }
  restore(m: Model): void {
    m.user.set(this.user);
    m.item.set(this.item);
  }
}

function prepareData(opts: RunOptions): LoadedDataset {
  const ds = loadDataset(opts.dataset);
  if (opts.trainOn === 'train+valid') {
    return { ...ds, train: unionCsr([ds.train, ds.valid]), valid: emptyCsr(ds.nUsers, ds.nItems) };
  }
  return ds;
}

/**
 * The training job behind `pris train`: epochs on the pool, validation every
 * `evalEvery` epochs with early stopping, the best validated state kept, then
 * test metrics, embeddings, config.json and metrics.json in `out`.
 */
export async function runTraining(options: RunOptions): Promise<RunResult> {
  assertReplaceableDir(options.out, MODEL_FILES.items, 'a pris model');
  // Everything this run puts in shared memory is given back at the end, so a
  // process can train model after model (experiments) without growing.
  const mark = sharedMark();
  try {
    const ds = prepareData(options);
    // config.json records the reg used, also when it was derived from the data.
    const opts = { ...options, config: withResolvedReg(options.config, nnz(ds.train)) };
    const cfg = opts.config;
    const weights =
      cfg.positiveWeights === 'none'
        ? undefined
        : positiveWeights(ds.dir, ds.train, opts.trainOn === 'train+valid' ? ['train', 'valid'] : ['train'], cfg.positiveWeights);
    const session = startSession(ds, cfg, weights);
    try {
      return await trainWith(session, ds, opts, mark);
    } finally {
      await closeSession(session);
    }
  } finally {
    releaseShared(mark);
  }
}

async function trainWith(session: TrainSession, ds: LoadedDataset, opts: RunOptions, mark: number): Promise<RunResult> {
  const cfg = opts.config;
  const { model, pool } = session;
  const positivesPerEpoch = nnz(ds.train);
  const validate = cfg.evalEvery > 0 && nnz(ds.valid) > 0;
  const validK = cfg.k[0]!;
  const bar = epochProgress(cfg, positivesPerEpoch, opts.progress);
  const history: EpochStats[] = [];
  const best = new Snapshot(model);
  const lastGood = new Snapshot(model);
  const cosine = cfg.score === 'cosine';
  const raw = cosine ? new Snapshot(model) : undefined;
  let bestScore = -Infinity;
  let sinceBest = 0;
  let sgdSeconds = 0;
  let evalSeconds = 0;
  let draws = 0;
  let positives = 0;
  // Clustering: refreshed on its own worker after every clusterEvery epochs. Asynchronous by
  // default (SGD workers switch to a new version at their next user); with clusterSync the
  // next epoch waits for it, so a one-thread run stays reproducible.
  const clusterRuns: ClusterResult[] = [];
  let clustering: Promise<void> | undefined;
  let clusterError: unknown;
  let clusterRound = 0;
  let refreshesSkipped = 0;
  const startClustering = () => {
    const round = ++clusterRound;
    // Never left rejected in the background: a failure is rethrown at the next epoch boundary.
    clustering = refreshClusters(session, round).then(
      (r) => {
        clusterRuns.push(r);
        clustering = undefined;
      },
      (e: unknown) => {
        clusterError = e;
        clustering = undefined;
      },
    );
  };
  try {
    if (cfg.evalEvery > 0 && !validate) bar.log('note: the validation split is empty; training without validation');
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const before = (epoch - 1) * positivesPerEpoch;
      const st = await runEpoch(session, epoch, (done) => bar.update(before + done));
      history.push(st);
      if (!Number.isFinite(st.loss)) {
        const kept = lastGood.epoch > 0 ? ` The last good model (epoch ${lastGood.epoch}) was saved to ${opts.out}.` : '';
        if (lastGood.epoch > 0) {
          lastGood.restore(model);
          await saveModel(opts, ds, model, { status: 'diverged', diverged_at_epoch: epoch, epochs_run: lastGood.epoch });
        }
        throw new UserError(
          `training diverged in epoch ${epoch}: the loss became ${st.loss}. The learning rate (--lr ${cfg.lr}) is probably too large for --optimizer ${cfg.optimizer}; try a smaller one.${kept}`,
        );
      }
      lastGood.take(model, epoch);
      if (clusterError) throw clusterError;
      if (session.clusterPool && epoch % cfg.clusterEvery === 0 && epoch < cfg.epochs) {
        if (cfg.clusterSync) {
          startClustering();
          await clustering;
          if (clusterError) throw clusterError;
        } else if (!clustering) {
          startClustering();
        } else {
          // The previous refresh is still running: SGD does not wait for it (counted in metrics.json).
          refreshesSkipped++;
        }
      }
      sgdSeconds += st.seconds;
      positives += st.positives;
      draws += st.drawsPerNegative * st.positives;
      const fields: Record<string, string | number> = {
        epoch: `${epoch}/${cfg.epochs}`,
        loss: st.loss.toFixed(4),
        pos_s: Math.round(st.positives / st.seconds),
      };
      let line = `epoch ${epoch}/${cfg.epochs} loss ${st.loss.toFixed(4)} ${fields.pos_s} pos/s ${st.seconds.toFixed(2)}s`;
      if (validate && (epoch % cfg.evalEvery === 0 || epoch === cfg.epochs)) {
        // A cosine model ranks by direction: validate unit rows, then train on from the raw ones.
        if (cosine) {
          raw!.take(model, epoch);
          normalizeModel(model);
        }
        const v = await evaluateModel(pool, {
          target: 'valid',
          exclude: ['train'],
          ks: [validK],
          ...(opts.validUsers > 0 ? { sampleUsers: opts.validUsers } : {}),
        });
        if (cosine) raw!.restore(model);
        evalSeconds += v.seconds;
        const score = v.perK[0]!.ndcg;
        st.valid = score;
        fields.valid = score.toFixed(4);
        line += ` valid ndcg@${validK} ${score.toFixed(4)}`;
        if (score > bestScore) {
          bestScore = score;
          sinceBest = 0;
          best.take(model, epoch);
        } else if (cfg.patience > 0 && ++sinceBest >= cfg.patience && epoch - best.epoch >= cfg.patienceFraction * epoch) {
          bar.update(epoch * positivesPerEpoch, fields);
          bar.log(line + ` (no improvement for ${sinceBest} evaluations, since epoch ${best.epoch}: stopping)`);
          break;
        }
      }
      bar.update(epoch * positivesPerEpoch, fields);
      bar.log(line);
    }
  } finally {
    bar.stop();
    await clustering;
  }
  if (best.epoch > 0) best.restore(model);
  // Saved as unit rows: u . v then ranks exactly as cos(u, v) / tau did.
  if (cosine) normalizeModel(model);
  const epochsRun = history.length;
  const test = await evaluateModel(pool, { target: 'test', exclude: ['train', 'valid'], ks: cfg.k, auc: true });
  evalSeconds += test.seconds;
  const metrics: Record<string, unknown> = {
    status: 'ok',
    dataset: path.resolve(opts.dataset),
    test: flatMetrics(test),
    test_users: test.evaluated,
    test_users_skipped: test.skipped,
    ...(best.epoch > 0 ? { best_epoch: best.epoch, valid: { [`ndcg@${validK}`]: bestScore } } : {}),
    epochs_run: epochsRun,
    train_seconds: sgdSeconds,
    positives_per_second: positives / sgdSeconds,
    eval_seconds: evalSeconds,
    draws_per_negative: positives > 0 ? draws / positives : 0,
    skipped_users: history.at(-1)?.skippedUsers ?? 0,
    threads: cfg.threads,
    ...(clusterRuns.length > 0 ? { clustering: { ...clusterSummary(clusterRuns), refreshes_skipped: refreshesSkipped } } : {}),
    shared_memory_mb: sharedBytesSince(mark) / 2 ** 20,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    history,
  };
  await saveModel(opts, ds, model, metrics);
  return { metrics, test };
}

function clusterSummary(runs: ClusterResult[]): Record<string, number> {
  const sum = (f: (r: ClusterResult) => number) => runs.reduce((s, r) => s + f(r), 0);
  return {
    refreshes: runs.length,
    seconds_total: sum((r) => r.seconds),
    seconds_per_refresh: sum((r) => r.seconds) / runs.length,
    wait_seconds_total: sum((r) => r.waitSeconds),
    mean_iterations: sum((r) => r.iterations) / runs.length,
    reseeded_total: sum((r) => r.reseeded),
    ...(runs.some((r) => r.jointLoss !== undefined) ? { joint_loss_last: runs.at(-1)!.jointLoss ?? NaN } : {}),
  };
}

/** Which pris made a model: the package version and, in a git checkout, the commit. */
const provenance = ((): { version: string; commit?: string } => {
  const root = packageRoot();
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { version, commit };
  } catch {
    return { version };
  }
})();

/** The whole model directory is replaced at once: a reader never sees a mix of two runs. */
async function saveModel(opts: RunOptions, ds: LoadedDataset, model: Model, metrics: Record<string, unknown>): Promise<void> {
  const userIds = readUserIds(ds.dir);
  const itemIds = readItemIds(ds.dir);
  await writeDirAtomic(opts.out, async (dir) => {
    await saveEmbeddings(dir, model, userIds, itemIds);
    await writeJson(path.join(dir, MODEL_FILES.config), {
      pris: 'model',
      version: 1,
      pris_version: provenance.version,
      ...(provenance.commit ? { git_commit: provenance.commit } : {}),
      dataset: path.resolve(opts.dataset),
      train_on: opts.trainOn,
      valid_users: opts.validUsers,
      ...opts.config,
    });
    await writeJson(path.join(dir, MODEL_FILES.metrics), metrics);
  });
}
