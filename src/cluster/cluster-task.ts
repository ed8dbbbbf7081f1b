import { workerData } from 'node:worker_threads';
import { seedRng } from '../kernels/rng.js';
import { currentVersion, halfFreeForNext, publishVersion, sharedFloat32 } from '../memory/shared.js';
import type { PoolData } from '../train/pool-data.js';
import type { TrainShared } from '../train/shared-state.js';
import { kmeans } from './kmeans.js';
import { fillHalf, halfOf } from './tables.js';

/**
 * The clustering worker's task: K-means on a snapshot of the live item
 * embeddings (SGD goes on meanwhile), written into the free half of the
 * double buffer and published with one atomic version bump.
 */
export interface ClusterTask {
  seed: number;
  round: number;
  iterations: number;
  /** start Lloyd from the last published centers instead of k-means++ */
  warm: boolean;
}

export interface ClusterResult {
  version: number;
  seconds: number;
  waitSeconds: number;
  iterations: number;
  reseeded: number;
  inertia: number;
}

let snapshot: Float32Array | undefined;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

export function clusterTask(task: ClusterTask): ClusterResult {
  const t0 = performance.now();
  const data = workerData as PoolData;
  const t = data.train as TrainShared;
  const tables = t.tables.clusters!;
  const { nItems, dim: d, k } = tables;
  snapshot ??= sharedFloat32(nItems * d);
  // Hogwild writers may move rows while we copy; K-means only needs a recent view.
  snapshot.set(data.model.item.subarray(0, nItems * d));
  const prev = currentVersion(tables.vc);
  const result = kmeans(snapshot, nItems, d, {
    k,
    iterations: task.iterations,
    rng: seedRng(task.seed, 0x6b6d, task.round),
    ...(task.warm && prev > 0 ? { init: halfOf(tables, prev).centers } : {}),
  });
  // The half we are about to fill was last read as version prev - 1: wait for readers to move on.
  const w0 = performance.now();
  while (!halfFreeForNext(tables.vc)) Atomics.wait(waitCell, 0, 0, 1);
  const waitSeconds = (performance.now() - w0) / 1000;
  const next = prev + 1;
  fillHalf(halfOf(tables, next), k, d, result.centers, result.labels, t.tables.popularity?.f, next);
  const version = publishVersion(tables.vc);
  return {
    version,
    seconds: (performance.now() - t0) / 1000,
    waitSeconds,
    iterations: result.iterations,
    reseeded: result.reseeded,
    inertia: result.inertia,
  };
}
