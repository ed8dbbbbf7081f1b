import t from 'tap';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClusterTables } from '../src/samplers/cluster-tables.js';
import { sharedMemory, sharedInt32 } from '../src/memory/shared.js';

// Workers run the compiled modules (tests run after `npm run build`).
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src');
const url = (m: string) => pathToFileURL(path.join(dist, m)).href;

const WRITER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const shared = await import(${JSON.stringify(url('memory/shared.js'))});
  const tables = await import(${JSON.stringify(url('samplers/cluster-tables.js'))});
  shared.attachSharedMemory(workerData.memory);
  const t = workerData.tables;
  const { k, dim, nItems } = t;
  const centers = new Float32Array(k * dim);
  const labels = new Int32Array(nItems);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let n = 0; n < workerData.versions; n++) {
    while (!shared.halfFreeForNext(t.vc)) Atomics.wait(cell, 0, 0, 0.05);
    const v = shared.currentVersion(t.vc) + 1;
    // Content that depends on the version, so a mix of two versions cannot pass the check.
    for (let q = 0; q < centers.length; q++) centers[q] = v + q / 1024;
    for (let j = 0; j < nItems; j++) labels[j] = (j + v) % k;
    tables.fillHalf(tables.halfOf(t, v), k, dim, centers, labels, undefined, v);
    shared.publishVersion(t.vc);
  }
  Atomics.store(workerData.done, 0, 1);
  parentPort.postMessage('ok');
})();
`;

const READER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const shared = await import(${JSON.stringify(url('memory/shared.js'))});
  const tables = await import(${JSON.stringify(url('samplers/cluster-tables.js'))});
  shared.attachSharedMemory(workerData.memory);
  const t = workerData.tables;
  const r = shared.claimReaderSlot(t.vc);
  let reads = 0, torn = 0, versions = new Set();
  while (Atomics.load(workerData.done, 0) === 0) {
    const v = shared.acquireVersion(t.vc, r);
    if (v === 0) continue;
    const h = tables.halfOf(t, v);
    // A long "user visit": read everything, then verify it against the version held.
    const sum = tables.halfChecksum(h);
    let ok = h.stamp[0] === v && h.stamp[1] === sum && h.centers[0] === v;
    for (let j = 0; j < h.labels.length && ok; j++) ok = h.labels[j] === (j + v) % t.k;
    if (!ok) torn++;
    reads++;
    versions.add(v);
  }
  shared.releaseReader(t.vc, r);
  parentPort.postMessage({ reads, torn, versions: versions.size });
})();
`;

t.test('readers racing the clustering writer never see a torn version', async (t) => {
  const readers = 3;
  const tables = createClusterTables(16, 8, 4000, readers);
  const done = sharedInt32(1);
  const workerData = { memory: sharedMemory(), tables, done, versions: 300 };
  const run = (code: string) =>
    new Promise<unknown>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const results = (await Promise.all([run(WRITER), ...Array.from({ length: readers }, () => run(READER))])) as [
    string,
    ...{ reads: number; torn: number; versions: number }[],
  ];
  const [, ...stats] = results;
  for (const s of stats) {
    t.equal(s.torn, 0, `reader saw no torn version in ${s.reads} reads`);
    t.ok(s.reads > 10 && s.versions > 1, `reader raced the writer across ${s.versions} versions`);
  }
  t.equal(tables.vc.ctrl[0], 300, 'every version published');
});
