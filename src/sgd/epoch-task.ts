import { seedRng, shuffleRange } from '../kernels/rng.js';
import { kernels, paddedNegatives, scratchFloats, type Kernels } from '../kernels/wasm.js';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, LOSS_CCL, OPT_ADAM, adamStepSize } from '../kernels/codes.js';
import { claimReaderSlot, sharedFloat32, sharedInt32 } from '../memory/shared.js';
import { createSampler } from '../samplers/index.js';
import type { NegativeSampler } from '../samplers/sampler.js';
import type { Csr } from '../data/csr.js';
import type { Model } from '../model/store.js';
import type { SgdResult, SgdTask, SgdShared } from './state.js';

/** What the SGD task reads: the model, the training split and the run's fixed state. */
export interface SgdData {
  model: Model;
  train: Csr;
  sgd: SgdShared;
}

/**
 * Worker side of an epoch: walk this shard's users in a shuffled order, each
 * user's positives together (shuffled), so the user row stays in cache; draw L
 * negatives per positive from this worker's own sampler; update the shared
 * rows without locks through the WebAssembly kernel.
 */
interface WorkerState {
  data: SgdData;
  t: SgdShared;
  k: Kernels;
  sampler: NegativeSampler;
  users: Int32Array;
  pos: Int32Array;
  /** with positive weights: the visit order of a user's positives, and their weights in that order */
  order: Int32Array;
  posW: Float32Array;
  /** kernel arguments, in shared memory so the kernel can address them */
  negs: Int32Array;
  lnq: Float32Array;
  scratch: Float32Array;
  batch?: AdamBatch;
}

/** A worker's mini-batch buffer for adam (see accumulateSample in the kernels). */
interface AdamBatch {
  slotOf: Int32Array;
  keyOf: Int32Array;
  grads: Float32Array;
  ctl: Int32Array;
}

function adamBatch(t: SgdShared, nUsers: number, nItems: number): AdamBatch {
  const slots = t.batchSize * (t.negatives + 2);
  return {
    slotOf: sharedInt32(nUsers + nItems).fill(-1),
    keyOf: sharedInt32(slots),
    grads: sharedFloat32(slots * t.dim),
    ctl: sharedInt32(1),
  };
}

let state: WorkerState | undefined;

/**
 * Positives whose negatives are drawn in one sampler call (then stepped
 * through): one call per user visit for most users, so kernel-backed
 * samplers cross from JavaScript once, and the buffers stay in L1.
 */
const DRAW_ROWS = 64;

/**
 * trainRows touches the rows of this many steps ahead: all of a call's, at
 * its start. On the Echonest shape (49 MB of item rows) that ran faster
 * than 8 or 2 steps ahead, and 1.3-2x faster than touching none.
 */
const AHEAD = DRAW_ROWS;

function init(data: SgdData): WorkerState {
  const t = data.sgd;
  const { train } = data;
  let maxDeg = 0;
  for (let u = 0; u < train.nUsers; u++) maxDeg = Math.max(maxDeg, train.indptr[u + 1]! - train.indptr[u]!);
  let maxShard = 0;
  for (let s = 0; s + 1 < t.shardPtr.length; s++) maxShard = Math.max(maxShard, t.shardPtr[s + 1]! - t.shardPtr[s]!);
  const kern = kernels();
  return {
    data,
    t,
    ...(t.optCode === OPT_ADAM ? { batch: adamBatch(t, train.nUsers, train.nItems) } : {}),
    k: kern,
    sampler: createSampler(t.sampler, {
      tables: t.tables,
      model: data.model,
      kernels: kern,
      reader: t.tables.clusters ? claimReaderSlot(t.tables.clusters.vc) : -1,
    }),
    users: new Int32Array(maxShard),
    pos: sharedInt32(maxDeg),
    order: new Int32Array(t.posWeights ? maxDeg : 0),
    posW: new Float32Array(t.posWeights ? maxDeg : 0),
    negs: sharedInt32(DRAW_ROWS * t.negatives),
    lnq: sharedFloat32(DRAW_ROWS * paddedNegatives(t.negatives)),
    scratch: sharedFloat32(scratchFloats(t.dim, t.negatives)),
  };
}

/** One epoch of one shard. A worker serves one run, so its state is built on the first task. */
export function sgdTask(data: SgdData, task: SgdTask): SgdResult {
  const st = (state ??= init(data));
  const t0 = performance.now();
  const { t, k, sampler, users, pos, negs, lnq } = st;
  const { indptr, indices } = st.data.train;
  const abort = t.abort;
  const model = st.data.model;
  const d = t.dim;
  const L = t.negatives;
  const opt = t.optCode;
  const code = t.lossCode;
  const lr = task.lr;
  const reg = t.reg;
  const weights = t.posWeights;
  const { order, posW } = st;
  const rowBytes = d * 4;
  const accBytes = t.accWidth * 4;
  const U = model.user.byteOffset;
  const V = model.item.byteOffset;
  const UA = t.userAcc.byteOffset;
  const VA = t.itemAcc.byteOffset;
  const pNegs = negs.byteOffset;
  const pLnq = lnq.byteOffset;
  const Lp = paddedNegatives(L);
  const negsBytes = L * 4;
  const lnqBytes = Lp * 4;
  const pScratch = st.scratch.byteOffset;
  const pPos = pos.byteOffset;

  const rng = seedRng(task.seed, task.shard, task.epoch);
  const from = t.shardPtr[task.shard]!;
  const nUsers = t.shardPtr[task.shard + 1]! - from;
  users.set(t.shardUsers.subarray(from, from + nUsers));
  shuffleRange(rng, users, 0, nUsers);

  const batch = st.batch;
  const nItems = model.nItems;
  const bSlotOf = batch ? batch.slotOf.byteOffset : 0;
  const bKeyOf = batch ? batch.keyOf.byteOffset : 0;
  const bGrads = batch ? batch.grads.byteOffset : 0;
  const bCtl = batch ? batch.ctl.byteOffset : 0;
  let inBatch = 0;

  const draws0 = sampler.draws;
  const accepted0 = sampler.accepted;
  let positives = 0;
  let lossSum = 0;
  let skipped = 0;
  let complete = true;
  // However the loop ends, give up the cluster version this worker holds (the writer waits on it).
  try {
    for (let q = 0; q < nUsers; q++) {
      if (Atomics.load(abort, 0) !== 0) {
        complete = false;
        break;
      }
      const uid = users[q]!;
      const p0 = indptr[uid]!;
      const np = indptr[uid + 1]! - p0;
      if (np === 0) continue;
      pos.set(indices.subarray(p0, p0 + np));
      if (!sampler.beginUser(uid, pos, 0, np)) {
        skipped++;
        continue;
      }
      if (weights) {
        // The same shuffle as of pos alone, applied to (item, weight) pairs.
        for (let r = 0; r < np; r++) order[r] = r;
        shuffleRange(rng, order, 0, np);
        for (let r = 0; r < np; r++) {
          pos[r] = indices[p0 + order[r]!]!;
          posW[r] = weights[p0 + order[r]!]!;
        }
      } else {
        shuffleRange(rng, pos, 0, np);
      }
      const pu = U + uid * rowBytes;
      const pua = UA + uid * accBytes;
      for (let first = 0; first < np; first += DRAW_ROWS) {
        const rows = Math.min(DRAW_ROWS, np - first);
        sampler.draw(rng, L, negs, lnq, rows, Lp);
        if (code === LOSS_CCL) {
          // The sampler's ln Q is not used: every negative weighs w / L.
          if (!weights) lossSum += k.cclRows(opt, d, L, lr, t.margin, t.negativeWeight, pu, pua, V, VA, pPos + first * 4, rows, pNegs, pScratch);
          else for (let r = 0; r < rows; r++) lossSum += k.cclRows(opt, d, L, lr * posW[first + r]!, t.margin, t.negativeWeight, pu, pua, V, VA, pPos + (first + r) * 4, 1, pNegs + r * negsBytes, pScratch);
          continue;
        }
        if (!batch && !weights) {
          lossSum += k.trainRows(opt, code, d, L, lr, reg, pu, pua, V, VA, pPos + first * 4, rows, pNegs, pLnq, Lp, pScratch, AHEAD);
          continue;
        }
        if (!batch) {
          // A weight scales the whole step of its sample (its gradient, hence its share of the loss): one row per call.
          for (let r = 0; r < rows; r++) {
            lossSum += k.trainRows(opt, code, d, L, lr * posW[first + r]!, reg, pu, pua, V, VA, pPos + (first + r) * 4, 1, pNegs + r * negsBytes, pLnq + r * lnqBytes, Lp, pScratch, AHEAD);
          }
          continue;
        }
        for (let r = 0; r < rows; r++) {
          const pN = pNegs + r * negsBytes;
          const pQ = pLnq + r * lnqBytes;
          lossSum += k.accumulateSample(code, d, L, reg, pu, nItems + uid, V, pos[first + r]!, pN, pQ, pScratch, bSlotOf, bKeyOf, bGrads, bCtl);
          if (++inBatch === t.batchSize) {
            applyAdam(st, task, inBatch);
            inBatch = 0;
          }
        }
      }
      positives += np;
      Atomics.add(t.progress, 0, np);
    }
    if (inBatch > 0) applyAdam(st, task, inBatch);
  } finally {
    sampler.release?.();
  }
  return {
    shard: task.shard,
    complete,
    positives,
    lossSum,
    draws: sampler.draws - draws0,
    accepted: sampler.accepted - accepted0,
    skippedUsers: skipped,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One lazy-Adam step over the rows the batch touched; the gradient is the batch mean. */
function applyAdam(st: WorkerState, task: SgdTask, samples: number): void {
  const { t, k, batch } = st;
  const m = st.data.model;
  const step = ++t.adamSteps[task.shard]!;
  const lrT = adamStepSize(task.lr, step);
  k.adamApply(
    t.dim, lrT, ADAM_BETA1, ADAM_BETA2, ADAM_EPS, 1 / samples, m.nItems,
    m.user.byteOffset, t.userMom.byteOffset, t.userAcc.byteOffset,
    m.item.byteOffset, t.itemMom.byteOffset, t.itemAcc.byteOffset,
    batch!.slotOf.byteOffset, batch!.keyOf.byteOffset, batch!.grads.byteOffset, batch!.ctl.byteOffset,
  );
}
