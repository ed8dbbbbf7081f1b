/**
 * The machine's limit for the scoring kernel, for the benchmarks: how many
 * float32 multiply-adds per second the cores can do with WebAssembly's
 * 128-bit SIMD, which has no fused multiply-add (relaxed SIMD's is not
 * enabled in Node 20).
 *
 * peak = threads x clock x MADDS_PER_CYCLE. A multiply-add is then one
 * f32x4.mul and one f32x4.add; a core of this machine class (AMD Zen 4) has
 * two floating-point pipes that multiply and two that add, each taking one
 * 128-bit operation per cycle, so it completes two f32x4 multiply-adds, 8
 * float32 multiply-adds, per cycle at best (other x86 cores of the last
 * decade, Intel's included, also issue two vector multiplies per cycle).
 *
 * The clock is measured, not read: /proc/cpuinfo in a VM shows the TSC's
 * rate, not the boost clock. A chain of dependent integer adds and xors
 * (one cycle each on every x86 core) runs in a tiny WebAssembly module
 * compiled here; operations per second of the chain = cycles per second.
 *
 * On a shared machine the wall clock counts the time other processes had
 * the core; rates are therefore also given per second of CPU time (the
 * process's, from getrusage: while one thread works alone, that thread's),
 * which is what the peak is about. `timed` gives both.
 */
import asc from 'assemblyscript/asc';

export const MADDS_PER_CYCLE = 8;

const CHAIN_SOURCE = `
// 8 dependent one-cycle operations per turn; nothing the optimizers can fold
// (y and i are unknown to them, and xor does not reassociate with add).
export function chain(n: i32, x: i32, y: i32): i32 {
  for (let i = 0; i < n; i++) {
    x = (x + y) ^ i; x = (x + y) ^ i; x = (x + y) ^ i; x = (x + y) ^ i;
  }
  return x;
}
`;
const OPS_PER_TURN = 8;

let chainFn: ((n: number, x: number, y: number) => number) | undefined;

async function compileChain(): Promise<(n: number, x: number, y: number) => number> {
  const r = await asc.compileString(CHAIN_SOURCE, { optimizeLevel: 3, runtime: 'stub' });
  if (r.error || !r.binary) throw new Error(`compiling the clock chain failed: ${r.error?.message ?? ''} ${r.stderr.toString()}`);
  return new WebAssembly.Instance(new WebAssembly.Module(r.binary)).exports.chain as (n: number, x: number, y: number) => number;
}

/** Wall and CPU seconds of `fn` (CPU: every thread of the process, user + system). */
export function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

/** The same for asynchronous work (worker threads' CPU time included). */
export async function timedAsync<T>(fn: () => Promise<T>): Promise<{ wall: number; cpu: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, value };
}

/**
 * This thread's clock in GHz: cycles per second of CPU time over about
 * `ms` milliseconds of the chain, after a warm-up that lets the JIT finish.
 * Call it while no other thread of the process works.
 */
export async function measureClockGHz(ms = 300): Promise<number> {
  chainFn ??= await compileChain();
  const f = chainFn;
  f(1_000_000, 1, 3);
  const turns = 2_000_000;
  let calls = 0;
  const end = performance.now() + ms;
  const t = timed(() => {
    do {
      f(turns, 1, 3);
      calls++;
    } while (performance.now() < end);
  });
  return (calls * turns * OPS_PER_TURN) / t.cpu / 1e9;
}

/** Float32 multiply-adds per second that `threads` cores at `clockGHz` can do without FMA. */
export function peakMaddsPerSecond(threads: number, clockGHz: number): number {
  return threads * clockGHz * 1e9 * MADDS_PER_CYCLE;
}
