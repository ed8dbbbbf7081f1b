import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupedCsv, pris } from './helpers/cli.js';
import { SHARED_DATASETS } from '../scripts/lib/datasets.js';
import { evaluate, fit, loadDataset, loadModel } from '../src/index.js';
import { loadModel as readModelDir } from '../src/model/io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(path.join(tmpdir(), 'pris-api-'));
const dsDir = path.join(work, 'ds');

t.before(() => {
  const csv = path.join(work, 'x.csv');
  writeFileSync(csv, groupedCsv(300, 150, 12, 5));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', dsDir, '-q'], ['data', 'split', dsDir, '--seed', '1']]) {
    const r = pris(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});

t.test('the README example runs as written (with the package imported by its name)', async (t) => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /## Use it as a library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(block, 'the README has the example');
  const u = path.join(SHARED_DATASETS, 'ml-100k', 'u.data');
  if (!existsSync(u)) {
    t.comment(`MovieLens 100K not found at ${u}: the README example was not run`);
    return;
  }
  const ml = path.join(work, 'ml');
  t.equal(pris(['data', 'import', 'movielens', u, '--min-rating', '>=4', '--out', ml, '-q']).code, 0);
  t.equal(pris(['data', 'split', ml, '--seed', '1']).code, 0);
  // Inside the package directory, so `import ... from 'pris-rec'` resolves to this checkout (package self-reference).
  const dir = path.join(root, 'runs', `readme-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const code = block!.replaceAll("'runs/ml'", JSON.stringify(ml)).replaceAll("'runs/ml-model'", JSON.stringify(path.join(work, 'ml-model')));
  const file = path.join(dir, 'example.mjs');
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: dir });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^196 \[/m, 'recommendations for user 196');
  t.match(r.stdout, /ndcg/, 'evaluation printed');
  t.ok(existsSync(path.join(work, 'ml-model', 'item_embeddings.arrow')), 'the model was saved');
});

t.test('fit, recommend, evaluate, save and load in-process', async (t) => {
  const ds = await loadDataset(dsDir);
  const epochs: number[] = [];
  const model = await fit(ds, { epochs: 6, dim: 8, threads: 2, evalEvery: 2, seed: 4, onEpoch: (e) => epochs.push(e.epoch) });
  t.teardown(() => model.close());
  t.same(epochs, [1, 2, 3, 4, 5, 6]);
  t.equal(model.dim, 8);
  const [recs] = await model.recommend([model.userIds[3]!], { k: 5 });
  t.equal(recs!.user, model.userIds[3]);
  t.equal(recs!.items.length, 5);
  const known = new Set<number>();
  for (const c of [ds.train, ds.valid, ds.test]) for (let k = c.indptr[3]!; k < c.indptr[4]!; k++) known.add(c.indices[k]!);
  const index = new Map(model.itemIds.map((id, k) => [id, k]));
  t.ok(recs!.items.every((x) => !known.has(index.get(x.item)!)), 'known items left out');
  t.ok(recs!.items.every((x, r) => r === 0 || x.score <= recs!.items[r - 1]!.score), 'best first');
  const all = await model.recommend([model.userIds[3]!], { k: 5, exclude: 'none' });
  t.ok(all[0]!.items[0]!.score >= recs!.items[0]!.score, 'with nothing left out the best can only be better');
  await t.rejects(model.recommend(['nobody']), /unknown user 'nobody'/);
  const sim = await model.similarItems([model.itemIds[0]!], { k: 3 });
  t.equal(sim[0]!.similar.length, 3);
  t.ok(sim[0]!.similar.every((s) => s.item !== model.itemIds[0] && s.score <= 1 + 1e-6), 'cosines, itself left out');
  const res = await evaluate(model, ds, { k: [10, 50] });
  t.same(res.perK.map((m) => m.k), [10, 50]);
  t.ok(res.perK[1]!.ndcg > 0.2, `learned something: ndcg@50 ${res.perK[1]!.ndcg}`);
  const saved = path.join(work, 'saved');
  await model.save(saved);
  const back = await loadModel(saved, { dataset: ds });
  t.teardown(() => back.close());
  t.same(back.userEmbeddings(), model.userEmbeddings(), 'the same embeddings after a round trip');
  const res2 = await evaluate(back, ds, { k: [10, 50] });
  t.same(res2.perK, res.perK, 'and the same metrics');
  const noDs = await loadModel(saved);
  t.teardown(() => noDs.close());
  await t.rejects(noDs.recommend([model.userIds[0]!]), /no dataset attached/);
  t.equal((await noDs.recommend([model.userIds[0]!], { exclude: 'none', k: 2 }))[0]!.items.length, 2);
});

t.test('fold-in: deterministic for a seed, and close to the trained vector of an existing user', async (t) => {
  const ds = await loadDataset(dsDir);
  const model = await fit(ds, { epochs: 15, dim: 8, threads: 1, seed: 2 });
  t.teardown(() => model.close());
  const u = 7;
  const items: string[] = [];
  for (let k = ds.train.indptr[u]!; k < ds.train.indptr[u + 1]!; k++) items.push(model.itemIds[ds.train.indices[k]!]!);
  const a = model.foldIn([items], { seed: 1 });
  t.same(model.foldIn([items], { seed: 1 }), a, 'same seed, same vector');
  t.notSame(model.foldIn([items], { seed: 2 }), a, 'another seed, another start');
  const [folded] = await model.recommendForItems([items], { k: 10 });
  t.equal(folded!.user, null);
  t.ok(folded!.items.every((x) => !items.includes(x.item)), 'the given items are left out');
  const [trained] = await model.recommend([model.userIds[u]!], { k: 10, exclude: ['train'] });
  const overlap = folded!.items.filter((x) => trained!.items.some((y) => y.item === x.item)).length;
  t.ok(overlap >= 3, `top-10 of the folded-in user overlaps the trained user's by ${overlap}`);
  await t.rejects(model.recommendForItems([[]]), /has no items/);
});

t.test('the library and the CLI train byte-identical embeddings with --threads 1 --seed S', async (t) => {
  const cliOut = path.join(work, 'cli-model');
  const r = pris(['train', dsDir, '--out', cliOut, '--threads', '1', '--seed', '9', '--epochs', '5', '--dim', '8', '--sampler', 'cluster-popularity', '--clusters', '6', '-q']);
  t.equal(r.code, 0, r.stderr);
  const ds = await loadDataset(dsDir);
  const model = await fit(ds, { threads: 1, seed: 9, epochs: 5, dim: 8, sampler: 'cluster-popularity', clusters: 6 });
  t.teardown(() => model.close());
  const fromCli = readModelDir(cliOut).model;
  t.same(model.userEmbeddings(), Float32Array.from(fromCli.user), 'user embeddings');
  t.same(model.itemEmbeddings(), Float32Array.from(fromCli.item), 'item embeddings');
});
