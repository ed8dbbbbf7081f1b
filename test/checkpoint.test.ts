import t from 'tap';
import { mkdtempSync, readdirSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../src/train/checkpoint.js';
import { sharedFloat32 } from '../src/memory/shared.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pris-ckpt-'));

t.test('a checkpoint reads back exactly what was written, from shared and plain arrays', async (t) => {
  const live = sharedFloat32(1001).map((_, k) => Math.sin(k) * 1e-3);
  const arrays = { user: live, acc: Float64Array.from([1.5, Number.MAX_VALUE, -0]), labels: Int32Array.from([3, -1, 7]), empty: new Float32Array(0) };
  const state = { epoch: 7, history: [{ epoch: 1, loss: 0.5 }], note: 'é' };
  const file = path.join(dir, 'a.pris');
  const bytes = await writeCheckpoint(file, { state, arrays });
  t.equal(statSync(file).size, bytes);
  const back = readCheckpoint<typeof state>(file);
  t.same(back.state, state);
  t.same(Array.from(back.arrays.user!), Array.from(live));
  t.ok(back.arrays.acc instanceof Float64Array && Object.is(back.arrays.acc[2], -0));
  t.same(Array.from(back.arrays.labels!), [3, -1, 7]);
  t.equal(back.arrays.empty!.length, 0);
  t.same(readdirSync(dir), ['a.pris'], 'nothing else written (pris train makes it atomic: OutputDir.writeFileWith)');
});

t.test('a torn or foreign file is refused with a message naming it', async (t) => {
  const file = path.join(dir, 'b.pris');
  await writeCheckpoint(file, { state: { epoch: 1 }, arrays: { x: new Float32Array(5000) } });
  truncateSync(file, statSync(file).size - 100);
  t.throws(() => readCheckpoint(file), /b\.pris: not a usable checkpoint \(truncated at array x\)/);
  const other = path.join(dir, 'c.pris');
  writeFileSync(other, 'hello world, not a checkpoint');
  t.throws(() => readCheckpoint(other), /not a usable checkpoint \(not a pris checkpoint\)/);
  t.throws(() => readCheckpoint(path.join(dir, 'missing.pris')), /cannot read checkpoint .*ENOENT/);
});
