import type { NegativeSampler } from './sampler.js';
import { UniformSampler } from './uniform.js';
import { PopularitySampler, type PopularityTables } from './popularity.js';

export const SAMPLER_KINDS = ['uniform', 'popularity'] as const;
export type SamplerKind = (typeof SAMPLER_KINDS)[number];

/** Shared, read-only tables the samplers of every worker draw from. */
export interface SamplerTables {
  nItems: number;
  popularity?: PopularityTables;
}

/** A worker's own sampler instance over the shared tables. */
export function createSampler(kind: SamplerKind, t: SamplerTables): NegativeSampler {
  switch (kind) {
    case 'uniform':
      return new UniformSampler(t.nItems);
    case 'popularity':
      if (!t.popularity) throw new Error('popularity sampler needs popularity tables');
      return new PopularitySampler(t.popularity);
  }
}
