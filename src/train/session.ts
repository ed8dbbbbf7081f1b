import { itemCounts, nnz } from '../data/csr.js';
import type { LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { lossCode, optimizerCode, softmaxLossCode } from '../kernels/codes.js';
import { createArena, sharedFloat32, sharedFloat64, sharedInt32, withArena } from '../memory/shared.js';
import { createModel, unitRows, type Model } from '../model/store.js';
import { isClusterSampler, isJointSampler, usesPopularity, type SamplerTables } from '../samplers/index.js';
import { createJointState } from '../cluster/joint.js';
import { createClusterTables } from '../samplers/cluster-tables.js';
import type { ClusterShared } from '../cluster/refresh-task.js';
import { ClusterScheduler } from '../cluster/scheduler.js';
import { popularityWeights } from '../samplers/popularity-weights.js';
import { popularityTables } from '../samplers/popularity.js';
import { createProgress, type Progress } from '../util/progress.js';
import type { RunConfig } from './options.js';
import { positiveWeights } from '../data/positive-weights.js';
import type { SplitName } from '../data/dataset.js';
import { partitionUsers } from '../sgd/partition.js';
import type { SgdResult, SgdShared, SgdTask } from '../sgd/state.js';
import { WorkerPool } from '../pool/pool.js';

export interface EpochStats {
  epoch: number;
  seconds: number;
  positives: number;
  loss: number;
  drawsPerNegative: number;
  skippedUsers: number;
  /** validation NDCG at the first cutoff, on the epochs that validate */
  valid?: number;
}

export interface TrainSession {
  config: RunConfig;
  /** the arena holding the model, optimizer state and sampler tables */
  arena: WebAssembly.Memory;
  model: Model;
  pool: WorkerPool;
  shared: SgdShared;
  /** cluster samplers only: what the clustering worker publishes into, and its schedule */
  cluster?: ClusterShared;
  clusters?: ClusterScheduler;
}

function samplerTables(ds: LoadedDataset, cfg: RunConfig): SamplerTables {
  const t: SamplerTables = { nItems: ds.nItems, exactMaskTop: cfg.exactMaskTop };
  // One reader slot per SGD worker, plus the clustering worker's own sampler (joint learning).
  if (isClusterSampler(cfg.sampler)) t.clusters = createClusterTables(Math.min(cfg.clusters, ds.nItems), cfg.dim, ds.nItems, cfg.threads + 1);
  if (usesPopularity(cfg.sampler)) {
    t.popularity = popularityTables(popularityWeights(itemCounts(ds.train), cfg.popularity));
  }
  return t;
}

/** Allocates the model, optimizer state and sampler tables in a new arena and starts the pool. */
export function startSession(ds: LoadedDataset, cfg: RunConfig, trainSplits: readonly SplitName[] = ['train']): TrainSession {
  if (nnz(ds.train) === 0) throw new UserError(`${ds.dir}: the train split is empty`);
  const arena = createArena();
  const { model, shared, cluster } = withArena(arena, () => allocateState(ds, cfg, trainSplits));
  const pool = new WorkerPool(cfg.threads, {
    memory: arena,
    model,
    splits: { train: ds.train, valid: ds.valid, test: ds.test },
    sgd: shared,
    ...(cluster ? { cluster } : {}),
  });
  const session: TrainSession = { config: cfg, arena, model, pool, shared };
  if (cluster) {
    session.cluster = cluster;
    session.clusters = new ClusterScheduler((task) => pool.cluster(task), {
      every: cfg.clusterEvery,
      sync: cfg.clusterSync,
      epochs: cfg.epochs,
      seed: cfg.seed,
      iterations: cfg.clusterIterations,
      warm: cfg.clusterWarm,
      temperature: cfg.jointTemperature,
      anneal: cfg.jointAnneal,
    });
  }
  return session;
}

/** `trainSplits`: the split files whose union is `ds.train` (where the positive weights are read from). */
function allocateState(ds: LoadedDataset, cfg: RunConfig, trainSplits: readonly SplitName[]): { model: Model; shared: SgdShared; cluster?: ClusterShared } {
  const model = createModel(ds.nUsers, ds.nItems, cfg.dim, { kind: cfg.init, std: cfg.initStd, seed: cfg.seed });
  // ccl's scores are cosines: its rows start, and stay, at unit length.
  if (cfg.loss === 'ccl') unitRows(model);
  // Optimizer state: per element (adagrad, adam's two moments), per row (adagrad-row) or none (sgd).
  const adam = cfg.optimizer === 'adam';
  const accWidth = cfg.optimizer === 'sgd' ? 0 : cfg.optimizer === 'adagrad-row' ? 1 : cfg.dim;
  const acc = (rows: number) => sharedFloat32(rows * accWidth);
  const perElement = (on: boolean, rows: number) => sharedFloat32(on ? rows * cfg.dim : 0);
  const parts = partitionUsers(ds.train, cfg.threads);
  const tables = samplerTables(ds, cfg);
  const shared: SgdShared = {
    dim: cfg.dim,
    negatives: cfg.negatives,
    lossCode: lossCode(cfg.loss),
    margin: cfg.margin,
    negativeWeight: cfg.negativeWeight,
    optCode: optimizerCode(cfg.optimizer),
    batchSize: cfg.batchSize,
    reg: cfg.reg,
    sampler: cfg.sampler,
    tables,
    shardUsers: parts.users,
    shardPtr: parts.ptr,
    userAcc: acc(ds.nUsers),
    itemAcc: acc(ds.nItems),
    accWidth,
    userMom: perElement(adam, ds.nUsers),
    itemMom: perElement(adam, ds.nItems),
    adamSteps: sharedFloat64(cfg.threads),
    progress: sharedInt32(1),
    abort: sharedInt32(1),
    ...(cfg.positiveWeights !== 'none' ? { posWeights: positiveWeights(ds.dir, ds.train, trainSplits, cfg.positiveWeights) } : {}),
  };
  if (!tables.clusters) return { model, shared };
  const cluster: ClusterShared = { sampler: cfg.sampler, tables };
  if (isJointSampler(cfg.sampler)) {
    cluster.joint = {
      state: createJointState(tables.clusters.k, cfg.dim),
      // The authors' settings: distillation 5 ||v - c||^2, activity penalty 0.1 / B (our reg = 2 coef / B), batch 128.
      options: { loss: softmaxLossCode(cfg.loss), negatives: cfg.negatives, lr: cfg.jointLr, batch: 128, distill: 5, reg: (2 * 0.1) / 128 },
      samples: cfg.jointSamples,
    };
  }
  return { model, shared, cluster };
}

export async function closeSession(s: TrainSession): Promise<void> {
  await s.clusters?.drain().catch(() => {});
  await s.pool.close();
}

/**
 * The arrays that SGD and clustering change over a run, by name: with the
 * epoch number (every generator is seeded from it) they are the whole state a
 * checkpoint needs.
 */
export function trainingArrays(s: TrainSession): Record<string, Float32Array | Float64Array | Int32Array> {
  const sh = s.shared;
  const out: Record<string, Float32Array | Float64Array | Int32Array> = {
    user: s.model.user,
    item: s.model.item,
    userAcc: sh.userAcc,
    itemAcc: sh.itemAcc,
    userMom: sh.userMom,
    itemMom: sh.itemMom,
    adamSteps: sh.adamSteps,
  };
  const j = s.cluster?.joint?.state;
  if (j) Object.assign(out, { jointParams: j.params, jointMom1: j.mom1, jointMom2: j.mom2, jointGrad: j.grad, jointSteps: j.steps, jointReady: j.ready });
  return out;
}

/** Runs one epoch on every shard; returns the summed statistics and the wall time of SGD alone (`complete` false when the abort flag cut it short). */
export async function runEpoch(s: TrainSession, epoch: number, onProgress?: (done: number) => void): Promise<EpochStats & { complete: boolean }> {
  const cfg = s.config;
  Atomics.store(s.shared.progress, 0, 0);
  const t0 = performance.now();
  const tasks: Promise<SgdResult>[] = [];
  for (let shard = 0; shard < cfg.threads; shard++) {
    const task: SgdTask = { epoch, shard, seed: cfg.seed, lr: cfg.lr };
    tasks.push(s.pool.sgd(task));
  }
  const timer = onProgress ? setInterval(() => onProgress(Atomics.load(s.shared.progress, 0)), 250) : undefined;
  let results: SgdResult[];
  try {
    results = await Promise.all(tasks);
  } finally {
    if (timer) clearInterval(timer);
  }
  const seconds = (performance.now() - t0) / 1000;
  let positives = 0;
  let lossSum = 0;
  let draws = 0;
  let accepted = 0;
  let skippedUsers = 0;
  let complete = true;
  for (const r of results) {
    complete &&= r.complete;
    positives += r.positives;
    lossSum += r.lossSum;
    draws += r.draws;
    accepted += r.accepted;
    skippedUsers += r.skippedUsers;
  }
  return {
    epoch,
    seconds,
    positives,
    loss: positives > 0 ? lossSum / positives : 0,
    drawsPerNegative: accepted > 0 ? draws / accepted : 0,
    skippedUsers,
    complete,
  };
}

export function epochProgress(cfg: RunConfig, positivesPerEpoch: number, mode: 'auto' | 'lines' | 'quiet'): Progress {
  return createProgress({
    label: 'train',
    total: cfg.epochs * positivesPerEpoch,
    fields: ['epoch', 'loss', 'pos_s', 'valid'],
    mode,
    lineIntervalMs: 0, // in line mode, the per-epoch log line is enough
  });
}
