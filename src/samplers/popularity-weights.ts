import { sharedFloat64 } from '../memory/shared.js';

/** The paper's popularity functions f(c) of an item's training count c (section 4.2.2). */
export const POPULARITY_FNS = ['log1p', 'count', 'pow0.75'] as const;
export type PopularityFn = (typeof POPULARITY_FNS)[number];

export function popularityWeights(counts: Float64Array, fn: PopularityFn): Float64Array {
  const f = sharedFloat64(counts.length);
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    f[k] = fn === 'log1p' ? Math.log1p(c) : fn === 'count' ? c : Math.pow(c, 0.75);
  }
  return f;
}
