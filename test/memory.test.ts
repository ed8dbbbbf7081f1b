import t from 'tap';
import { releaseShared, sharedBytesSince, sharedFloat32, sharedInt32, sharedMark, toShared, inSharedMemory } from '../src/memory/shared.js';

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

t.test('releaseShared gives memory back zeroed, so a process can train model after model', async (t) => {
  const mark = sharedMark();
  const x = sharedFloat32(1000).fill(7);
  const y = sharedInt32(10).fill(-1);
  t.equal(sharedBytesSince(mark) >= 4040, true);
  releaseShared(mark);
  t.equal(sharedMark(), mark, 'allocator back at the mark');
  const z = sharedFloat32(1000);
  t.equal(z.byteOffset, x.byteOffset, 'the same bytes are reused');
  t.ok(z.every((v) => v === 0), 'and read as zeros');
  void y;
  t.throws(() => releaseShared(sharedMark() + 64), /bad mark/);
});
