/**
 * xoshiro128** (Blackman & Vigna): 32-bit state words so every step is plain
 * int32 arithmetic in V8 (no BigInt), fast enough for the sampling hot loop.
 * State lives in a Uint32Array(4) the caller owns, so a worker keeps one per
 * task and nothing is allocated per draw.
 */
export type RngState = Uint32Array;

/** splitmix32 step, used only to expand a seed into a full state. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A state from any number of integer seed parts (run seed, shard, epoch, ...):
 * different tuples give unrelated streams.
 */
export function seedRng(...parts: number[]): RngState {
  let h = 0x6a09e667;
  for (const p of parts) {
    // Mix 53-bit-safe integers in two 32-bit halves.
    h = splitmix32(h ^ (p >>> 0));
    h = splitmix32(h ^ Math.floor(p / 4294967296));
  }
  const s = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    h = splitmix32(h + k);
    s[k] = h;
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return s;
}

/** Next uint32. */
export function nextU32(s: RngState): number {
  const s0 = s[0]!;
  const s1 = s[1]!;
  const s2 = s[2]!;
  const s3 = s[3]!;
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = s1 << 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  s[1] = s1 ^ n2;
  s[0] = s0 ^ n3;
  s[2] = n2 ^ t;
  s[3] = (n3 << 11) | (n3 >>> 21);
  return result;
}

/** Uniform in [0, 1) with 32 random bits. */
export function nextFloat(s: RngState): number {
  return nextU32(s) * 2.3283064365386963e-10;
}

/** Uniform integer in [0, n), n < 2^31 (bias below 2^-32 per draw). */
export function nextInt(s: RngState, n: number): number {
  return Math.floor(nextU32(s) * 2.3283064365386963e-10 * n);
}

/** Standard normal via Box-Muller (initialisation only, not hot). */
export function nextGaussian(s: RngState): number {
  let u = 0;
  while (u === 0) u = nextFloat(s);
  const v = nextFloat(s);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher-Yates shuffle of `a[from..to)` in place. */
export function shuffleRange(s: RngState, a: Int32Array, from: number, to: number): void {
  for (let k = to - 1; k > from; k--) {
    const j = from + nextInt(s, k - from + 1);
    const tmp = a[k]!;
    a[k] = a[j]!;
    a[j] = tmp;
  }
}
