/**
 * How good is fold-in (PrisModel.recommendForItems): the same model, two
 * questions.
 *
 *   1. Held-out users: a random fraction of the users (with train and test
 *      items) is removed from training altogether; after training, each is
 *      folded in from their training items alone, and their test NDCG@50 is
 *      compared with that of the users the model trained on (the same test
 *      protocol: train and valid items left out of the ranking).
 *   2. Existing users: for a sample of trained users, the top-10 of the user
 *      folded in from their training items against their trained top-10
 *      (training items left out of both): the mean overlap.
 *
 *   node dist/scripts/fold-in-study.js [--dataset gowalla] [--holdout 0.1] [--epochs 100]
 *       [--fold-epochs 50] [--negatives 20] [--sample 1000] [--seed 1] [--out FILE]
 */
import * as path from 'node:path';
import { buildCsr, type Csr } from '../src/data/csr.js';
import type { LoadedDataset } from '../src/data/dataset.js';
import { seedRng, shuffleRange } from '../src/kernels/rng.js';
import { fit, loadDataset, type PrisModel } from '../src/index.js';
import { writeJson } from '../src/model/io.js';
import { parseCount } from '../src/cli/args.js';
import { preparedDataset } from './lib/datasets.js';
import { runScript, scriptArgs } from './lib/script.js';
import { UserError } from '../src/errors.js';

const USAGE = `usage: node dist/scripts/fold-in-study.js [--dataset gowalla] [--holdout 0.1] [--epochs 100] [--fold-epochs 50] [--negatives 20] [--sample 1000] [--seed 1] [--out FILE]

Trains on the dataset without a held-out fraction of its users, folds those
users in from their training items and compares their test NDCG@50 with the
trained users'; then compares folded-in and trained top-10 lists of existing
users. Prints a table; --out writes the figures as JSON.`;

/** The CSR without the rows of the users marked in `drop`. */
function withoutUsers(c: Csr, drop: Uint8Array): Csr {
  const user: number[] = [];
  const item: number[] = [];
  for (let u = 0; u < c.nUsers; u++) {
    if (drop[u]) continue;
    for (let k = c.indptr[u]!; k < c.indptr[u + 1]!; k++) {
      user.push(u);
      item.push(c.indices[k]!);
    }
  }
  return buildCsr(c.nUsers, c.nItems, Int32Array.from(user), Int32Array.from(item));
}

const rowsOf = (c: Csr, u: number) => c.indices.subarray(c.indptr[u]!, c.indptr[u + 1]!);

async function ndcgOf(model: PrisModel, ds: LoadedDataset, users: Int32Array): Promise<number> {
  const r = await model.evaluate(ds, { target: 'test', exclude: ['train', 'valid'], ks: [50], users });
  return r.perK[0]!.ndcg;
}

async function main(): Promise<void> {
  const { values: v } = scriptArgs(USAGE, {
    options: {
      dataset: { type: 'string', default: 'gowalla' },
      holdout: { type: 'string', default: '0.1' },
      epochs: { type: 'string', default: '100' },
      'fold-epochs': { type: 'string', default: '50' },
      negatives: { type: 'string', default: '20' },
      sample: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
    },
  });
  const holdout = Number(v.holdout);
  if (!(holdout > 0 && holdout < 0.5)) throw new UserError(`--holdout must be a fraction between 0 and 0.5 (got '${v.holdout}')`);
  const epochs = parseCount('epochs', v.epochs);
  const foldEpochs = parseCount('fold-epochs', v['fold-epochs']);
  const negatives = parseCount('negatives', v.negatives);
  const sample = parseCount('sample', v.sample);
  const seed = parseCount('seed', v.seed, 0);

  const ds = await loadDataset(await preparedDataset(v.dataset!));
  const eligible: number[] = [];
  for (let u = 0; u < ds.nUsers; u++) if (rowsOf(ds.train, u).length > 0 && rowsOf(ds.test, u).length > 0) eligible.push(u);
  const order = Int32Array.from(eligible);
  shuffleRange(seedRng(seed, 0xf0), order, 0, order.length);
  const nHeld = Math.round(order.length * holdout);
  const held = order.slice(0, nHeld).sort();
  const kept = order.slice(nHeld).sort();
  const drop = new Uint8Array(ds.nUsers);
  for (const u of held) drop[u] = 1;
  // The held-out users are absent from training and validation: the model never sees them.
  const trainDs: LoadedDataset = { ...ds, train: withoutUsers(ds.train, drop), valid: withoutUsers(ds.valid, drop) };
  process.stderr.write(`${v.dataset}: ${held.length} users held out of ${eligible.length}; training ${epochs} epochs ...\n`);
  const t0 = performance.now();
  const model = await fit(trainDs, { epochs, seed, progress: 'auto' });
  const trainSeconds = (performance.now() - t0) / 1000;
  try {
    const trainedNdcg = await ndcgOf(model, ds, kept);
    const ids = model.itemIds;
    const lists = Array.from(held, (u) => Array.from(rowsOf(ds.train, u), (i) => ids[i]!));
    const f0 = performance.now();
    const vectors = model.foldIn(lists, { epochs: foldEpochs, negatives, seed });
    const foldSeconds = (performance.now() - f0) / 1000;
    // The folded vectors take the held-out users' rows, so the ordinary evaluation ranks for them.
    const d = model.dim;
    held.forEach((u, r) => model.embeddings.user.set(vectors.subarray(r * d, r * d + d), u * d));
    const foldedNdcg = await ndcgOf(model, ds, held);

    const probe = kept.slice(0, Math.min(sample, kept.length));
    let overlap = 0;
    for (const u of probe) {
      const items = Array.from(rowsOf(ds.train, u), (i) => ids[i]!);
      const [folded] = await model.recommendForItems([items], { k: 10, epochs: foldEpochs, negatives, seed });
      const [trained] = await model.recommend([model.userIds[u]!], { k: 10, exclude: ['train'] });
      const mine = new Set(trained!.items.map((x) => x.item));
      overlap += folded!.items.filter((x) => mine.has(x.item)).length / 10;
    }
    const result = {
      dataset: v.dataset,
      epochs,
      fold_epochs: foldEpochs,
      negatives,
      seed,
      held_out_users: held.length,
      trained_users: kept.length,
      train_seconds: trainSeconds,
      fold_in_seconds: foldSeconds,
      fold_in_ms_per_user: (1000 * foldSeconds) / held.length,
      test_ndcg50_trained_users: trainedNdcg,
      test_ndcg50_folded_in_users: foldedNdcg,
      ratio: foldedNdcg / trainedNdcg,
      existing_users_probed: probe.length,
      top10_overlap_mean: overlap / probe.length,
    };
    process.stdout.write(
      `| held-out users | trained users' test NDCG@50 | folded-in users' test NDCG@50 | ratio | top-10 overlap (existing users) | fold-in ms/user |\n|---|---|---|---|---|---|\n` +
        `| ${held.length} | ${trainedNdcg.toFixed(4)} | ${foldedNdcg.toFixed(4)} | ${result.ratio.toFixed(3)} | ${result.top10_overlap_mean.toFixed(3)} (${probe.length} users) | ${result.fold_in_ms_per_user.toFixed(2)} |\n`,
    );
    if (v.out) await writeJson(path.resolve(v.out), result);
  } finally {
    await model.close();
  }
}

runScript('fold-in-study', main);
