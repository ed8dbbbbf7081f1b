import type { Piscina } from 'piscina';
import { itemCounts, nnz } from '../data/csr.js';
import type { LoadedDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { lossCode, optimizerCode } from '../kernels/codes.js';
import { sharedFloat32, sharedFloat64, sharedInt32 } from '../memory/shared.js';
import { createModel, type Model } from '../model/store.js';
import { buildAlias } from '../samplers/alias.js';
import { isClusterSampler, isJointSampler, usesPopularity, type SamplerTables } from '../samplers/index.js';
import { createJointState } from '../cluster/joint.js';
import { createClusterTables } from '../cluster/tables.js';
import type { ClusterResult, ClusterTask } from '../cluster/cluster-task.js';
import { popularityWeights } from '../samplers/popularity-weights.js';
import { createProgress, type Progress } from '../util/progress.js';
import { epochLr, withResolvedReg, type TrainConfig } from './config.js';
import { partitionUsers } from './partition.js';
import type { PoolData } from './pool-data.js';
import { createPool } from './pool.js';
import type { SgdResult, SgdTask, TrainShared } from './shared-state.js';

export interface EpochStats {
  epoch: number;
  seconds: number;
  positives: number;
  loss: number;
  drawsPerNegative: number;
  skippedUsers: number;
  valid?: number;
}

export interface TrainSession {
  config: TrainConfig;
  model: Model;
  pool: Piscina;
  /** the clustering worker (cluster samplers only): a pool of one thread beside the SGD pool */
  clusterPool?: Piscina;
  data: PoolData;
  shared: TrainShared;
}

function samplerTables(ds: LoadedDataset, cfg: TrainConfig): SamplerTables {
  const t: SamplerTables = { nItems: ds.nItems, exactMaskTop: cfg.exactMaskTop };
  // One reader slot per SGD worker, plus the clustering worker's own sampler (joint learning).
  if (isClusterSampler(cfg.sampler)) t.clusters = createClusterTables(Math.min(cfg.clusters, ds.nItems), cfg.dim, ds.nItems, cfg.threads + 1);
  if (usesPopularity(cfg.sampler)) {
    const f = popularityWeights(itemCounts(ds.train), cfg.popularity);
    const lnf = sharedFloat64(f.length);
    let total = 0;
    for (let k = 0; k < f.length; k++) {
      lnf[k] = Math.log(f[k]!);
      total += f[k]!;
    }
    t.popularity = { f, lnf, alias: buildAlias(f), total };
  }
  return t;
}

/** Allocates the model and optimizer state in shared memory and starts the pool. */
export function startSession(ds: LoadedDataset, config: TrainConfig, posWeights?: Float32Array): TrainSession {
  const cfg = withResolvedReg(config, nnz(ds.train));
  if (nnz(ds.train) === 0) throw new UserError(`${ds.dir}: the train split is empty`);
  const model = createModel(ds.nUsers, ds.nItems, cfg.dim, { kind: cfg.init, std: cfg.initStd, seed: cfg.seed });
  // Optimizer state: per element (adagrad, adam's two moments), per row (adagrad-row) or none (sgd).
  const adam = cfg.optimizer === 'adam';
  const accWidth = cfg.optimizer === 'sgd' ? 0 : cfg.optimizer === 'adagrad-row' ? 1 : cfg.dim;
  const acc = (rows: number) => sharedFloat32(rows * accWidth);
  const perElement = (on: boolean, rows: number) => sharedFloat32(on ? rows * cfg.dim : 0);
  const parts = partitionUsers(ds.train, cfg.threads);
  const shared: TrainShared = {
    dim: cfg.dim,
    negatives: cfg.negatives,
    lossCode: lossCode(cfg.loss),
    optCode: optimizerCode(cfg.optimizer),
    batchSize: cfg.batchSize,
    reg: cfg.reg,
    invTau: cfg.score === 'cosine' ? 1 / cfg.temperature : 0,
    sampler: cfg.sampler,
    tables: samplerTables(ds, cfg),
    shardUsers: parts.users,
    shardPtr: parts.ptr,
    userAcc: acc(ds.nUsers),
    itemAcc: acc(ds.nItems),
    accWidth,
    userMom: perElement(adam, ds.nUsers),
    itemMom: perElement(adam, ds.nItems),
    adamSteps: sharedFloat64(cfg.threads),
    progress: sharedInt32(1),
    ...(posWeights ? { posWeights } : {}),
  };
  if (isJointSampler(cfg.sampler)) {
    shared.joint = {
      state: createJointState(shared.tables.clusters!.k, cfg.dim),
      // The authors' settings: distillation 5 ||v - c||^2, activity penalty 0.1 / B (our reg = 2 coef / B), batch 128.
      // The cluster loss needs no normalised proposal: with the softmax loss it stays PRIS's.
      options: { loss: lossCode(cfg.loss === 'softmax' ? 'pris' : cfg.loss), negatives: cfg.negatives, lr: cfg.jointLr, batch: 128, distill: 5, reg: (2 * 0.1) / 128 },
      samples: cfg.jointSamples,
    };
  }
  const data: PoolData = { model, splits: { train: ds.train, valid: ds.valid, test: ds.test }, train: shared };
  const pool = createPool(cfg.threads, data);
  const session: TrainSession = { config: cfg, model, pool, data, shared };
  if (shared.tables.clusters) session.clusterPool = createPool(1, data);
  return session;
}

/** One K-means refresh on the clustering worker (resolves when the new version is published). */
export function refreshClusters(s: TrainSession, round: number): Promise<ClusterResult> {
  const cfg = s.config;
  const task: ClusterTask = {
    seed: cfg.seed,
    round,
    iterations: cfg.clusterIterations,
    warm: cfg.clusterWarm,
    temperature: jointTemperature(cfg, round),
  };
  return s.clusterPool!.run(task, { name: 'cluster' }) as Promise<ClusterResult>;
}

/** Joint clustering's temperature at refresh `round`: fixed, or annealed geometrically from 1 to 0.1 over the run. */
export function jointTemperature(cfg: TrainConfig, round: number): number {
  if (!cfg.jointAnneal) return cfg.jointTemperature;
  const rounds = Math.max(1, Math.floor(cfg.epochs / cfg.clusterEvery) - 1);
  return Math.pow(0.1, Math.min(1, (round - 1) / rounds));
}

export async function closeSession(s: TrainSession): Promise<void> {
  await Promise.all([s.pool.destroy(), s.clusterPool?.destroy()]);
}

/** Runs one epoch on every shard; returns the summed statistics and the wall time of SGD alone. */
export async function runEpoch(s: TrainSession, epoch: number, onProgress?: (done: number) => void): Promise<EpochStats> {
  const cfg = s.config;
  Atomics.store(s.shared.progress, 0, 0);
  const t0 = performance.now();
  const tasks: Promise<SgdResult>[] = [];
  for (let shard = 0; shard < cfg.threads; shard++) {
    const task: SgdTask = { epoch, shard, seed: cfg.seed, lr: epochLr(cfg, epoch) };
    tasks.push(s.pool.run(task, { name: 'sgd' }) as Promise<SgdResult>);
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
  for (const r of results) {
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
  };
}

export function epochProgress(cfg: TrainConfig, positivesPerEpoch: number, mode: 'auto' | 'lines' | 'quiet'): Progress {
  return createProgress({
    label: 'train',
    total: cfg.epochs * positivesPerEpoch,
    fields: ['epoch', 'loss', 'pos_s', 'valid'],
    mode,
    lineIntervalMs: 0, // in line mode, the per-epoch log line is enough
  });
}
