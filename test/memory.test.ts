import t from 'tap';
import { arenaBytesUsed, createArena, sharedFloat32, sharedInt32, standaloneInt32, toShared, inSharedMemory, withArena } from '../src/memory/shared.js';
import { kernels } from '../src/kernels/wasm.js';

t.test('allocations are aligned views of one shared memory', async (t) => {
  const a = sharedFloat32(3);
  const b = sharedInt32(5);
  t.ok(a.buffer instanceof SharedArrayBuffer);
  t.equal(a.byteOffset % 64, 0, 'cache-line aligned');
  t.equal(b.byteOffset % 64, 0);
  t.ok(b.byteOffset >= a.byteOffset + a.byteLength, 'no overlap');
  t.ok(inSharedMemory(a) && inSharedMemory(b));
  const plain = Float32Array.from([1, 2, 3]);
  const c = toShared(plain);
  t.ok(inSharedMemory(c) && c !== plain);
  t.same(Array.from(c), [1, 2, 3]);
  t.equal(toShared(c), c, 'already shared: no copy');
});

t.test('arenas are separate memories: allocation goes to the one withArena selects, kernels address each', async (t) => {
  const before = arenaBytesUsed();
  const arena = createArena(1 << 20);
  t.ok(arena.buffer.byteLength >= 1 << 20, 'sized up front');
  const x = withArena(arena, () => sharedFloat32(1000).fill(7));
  t.equal(x.buffer, arena.buffer, 'allocated in the selected arena');
  t.equal(arenaBytesUsed(), before, 'the default arena did not grow');
  t.ok(arenaBytesUsed(arena) >= 4000);
  t.notOk(inSharedMemory(standaloneInt32(4)), 'standalone buffers are not kernel-addressable');
  // The kernels of each arena see that arena's bytes.
  const y = withArena(arena, () => sharedFloat32(4).fill(2));
  const out = withArena(arena, () => sharedFloat32(1));
  kernels(arena).scoreRows(y.byteOffset, y.byteOffset, 1, 4, out.byteOffset);
  t.equal(out[0], 16, 'a dot product computed in the arena');
  t.throws(() => withArena(arena, () => Promise.resolve(1)), /synchronous/);
});
