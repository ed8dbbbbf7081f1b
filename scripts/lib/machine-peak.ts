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
 * rate, not the boost clock, and on a shared machine what counts is the
 * cycles this thread gets. A chain of dependent integer adds and xors
 * (one cycle each on every x86 core) runs in a tiny WebAssembly module
 * compiled here; ops per second of the chain = cycles per second.
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

/**
 * This thread's clock in GHz, over about `ms` milliseconds of the chain
 * (the best of a few slices, after a warm-up that lets the JIT finish).
 */
export async function measureClockGHz(ms = 200): Promise<number> {
  chainFn ??= await compileChain();
  const f = chainFn;
  f(1_000_000, 1, 3);
  const turns = 2_000_000;
  let best = 0;
  const end = performance.now() + ms;
  do {
    const t0 = performance.now();
    f(turns, 1, 3);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, (turns * OPS_PER_TURN) / s / 1e9);
  } while (performance.now() < end);
  return best;
}

/** Float32 multiply-adds per second that `threads` cores at `clockGHz` can do without FMA. */
export function peakMaddsPerSecond(threads: number, clockGHz: number): number {
  return threads * clockGHz * 1e9 * MADDS_PER_CYCLE;
}
