import { seedRng } from '../kernels/rng.js';
import { kernels } from '../kernels/wasm.js';
import { claimReaderSlot, currentVersion, halfFreeForNext, publishVersion, sharedFloat32, sharedInt32 } from '../memory/shared.js';
import { createSampler, isJointSampler, type SamplerKind, type SamplerTables } from '../samplers/index.js';
import type { NegativeSampler } from '../samplers/sampler.js';
import { fillHalf, halfOf } from '../samplers/cluster-tables.js';
import type { Csr } from '../data/csr.js';
import type { Model } from '../model/store.js';
import { JointLearner, type JointOptions, type JointState } from './joint.js';
import { createKMeansWorkspace, kmeans, type KMeansWorkspace } from './kmeans.js';

/** What the clustering worker reads besides the model: the tables it publishes into and, for joint samplers, the learned clustering. */
export interface ClusterShared {
  sampler: SamplerKind;
  tables: SamplerTables;
  /** joint samplers: the learned clustering's parameters and settings */
  joint?: { state: JointState; options: Omit<JointOptions, 'temperature'>; samples: number };
}

export interface ClusterData {
  model: Model;
  train: Csr;
  cluster: ClusterShared;
}

/**
 * The clustering worker's task. K-means samplers: K-means on a snapshot of the
 * live item embeddings (SGD goes on meanwhile). Joint samplers: train the
 * learned clustering on `jointSamples` samples of its loss (the first refresh
 * runs K-means to initialise the codewords), then assign every item. Either
 * way the result is written into the free half of the double buffer and
 * published with one atomic version bump.
 */
export interface ClusterTask {
  seed: number;
  round: number;
  iterations: number;
  /** start Lloyd from the last published centers instead of k-means++ */
  warm: boolean;
  /** joint samplers: the softmax temperature for this refresh */
  temperature: number;
}

export interface ClusterResult {
  version: number;
  seconds: number;
  waitSeconds: number;
  iterations: number;
  reseeded: number;
  inertia: number;
  /** joint samplers: mean cluster loss over this refresh's samples */
  jointLoss?: number;
}

interface ClusterWorker {
  data: ClusterData;
  t: ClusterShared;
  snapshot: Float32Array;
  /** item labels of the refresh being built, and scratch for the joint assignment (shared: kernel arguments) */
  labels: Int32Array;
  best: Float32Array;
  kmeans: KMeansWorkspace;
  joint?: { learner: JointLearner; sampler: NegativeSampler };
}

const COLD_ITERATIONS = 10;
const WAIT_LIMIT_MS = 120_000;

let worker: ClusterWorker | undefined;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

function init(data: ClusterData): ClusterWorker {
  const t = data.cluster;
  const { nItems, dim, k } = t.tables.clusters!;
  const w: ClusterWorker = {
    data,
    t,
    snapshot: sharedFloat32(nItems * dim),
    labels: sharedInt32(nItems),
    best: sharedFloat32(nItems),
    kmeans: createKMeansWorkspace(nItems, dim, k),
  };
  if (t.joint && isJointSampler(t.sampler)) {
    const kern = kernels();
    const sampler = createSampler(t.sampler, { tables: t.tables, model: data.model, kernels: kern, reader: claimReaderSlot(t.tables.clusters!.vc) });
    const learner = new JointLearner(t.joint.state, kern, data.model, data.train, { ...t.joint.options, temperature: 1 });
    w.joint = { learner, sampler };
  }
  return w;
}

/** One refresh. The clustering worker serves one run, so its state is built on the first task. */
export function clusterTask(data: ClusterData, task: ClusterTask): ClusterResult {
  const t0 = performance.now();
  const w = (worker ??= init(data));
  const { t } = w;
  const tables = t.tables.clusters!;
  const { nItems, dim: d, k } = tables;
  const prev = currentVersion(tables.vc);
  const rng = seedRng(task.seed, 0x6b6d, task.round);
  let centers: Float32Array;
  let iterations = 0;
  let reseeded = 0;
  let inertia = 0;
  let jointLoss: number | undefined;
  if (w.joint && t.joint!.state.ready[0] === 1) {
    const { learner, sampler } = w.joint;
    learner.setTemperature(task.temperature);
    learner.lossSum = 0;
    learner.samples = 0;
    try {
      learner.run(t.joint!.samples, sampler, rng);
    } finally {
      sampler.release?.();
    }
    learner.apply();
    jointLoss = learner.samples > 0 ? learner.lossSum / learner.samples : 0;
    learner.assign(w.labels, w.best);
    centers = learner.codewords();
  } else {
    // Hogwild writers may move rows while we copy; K-means only needs a recent view.
    w.snapshot.set(data.model.item.subarray(0, nItems * d));
    const warm = task.warm && prev > 0;
    const result = kmeans(w.snapshot, nItems, d, {
      k,
      // A cold start (k-means++) gets at least COLD_ITERATIONS Lloyd steps; a warm one starts near a solution.
      iterations: warm ? task.iterations : Math.max(task.iterations, COLD_ITERATIONS),
      rng,
      ...(warm ? { init: halfOf(tables, prev).centers } : {}),
    }, w.kmeans);
    w.labels.set(result.labels);
    centers = result.centers;
    ({ iterations, reseeded, inertia } = result);
    w.joint?.learner.initialise(centers);
  }
  // The half we are about to fill was last read as version prev - 1: wait for readers to move on.
  const w0 = performance.now();
  while (!halfFreeForNext(tables.vc)) {
    // Readers move on at their next user and release at the end of a task; one that
    // holds a version this long has died without releasing it.
    if (performance.now() - w0 > WAIT_LIMIT_MS) throw new Error(`clustering: a training worker has held cluster version ${prev - 1} for ${WAIT_LIMIT_MS / 1000} s`);
    Atomics.wait(waitCell, 0, 0, 1);
  }
  const waitSeconds = (performance.now() - w0) / 1000;
  fillHalf(halfOf(tables, prev + 1), k, d, centers, w.labels, t.tables.popularity?.f, prev + 1);
  const version = publishVersion(tables.vc);
  return {
    version,
    seconds: (performance.now() - t0) / 1000,
    waitSeconds,
    iterations,
    reseeded,
    inertia,
    ...(jointLoss !== undefined ? { jointLoss } : {}),
  };
}
