import type { ClusterTables } from './cluster-tables.js';
import type { Kernels } from '../kernels/wasm.js';
import type { Model } from '../model/store.js';
import { ClusterSampler } from './cluster.js';
import { ExactSampler } from './exact.js';
import { PopularitySampler, type PopularityTables } from './popularity.js';
import type { NegativeSampler } from './sampler.js';
import { UniformSampler } from './uniform.js';

export const SAMPLER_KINDS = [
  'uniform',
  'popularity',
  'cluster-uniform',
  'cluster-popularity',
  'cluster-uniform-joint',
  'cluster-popularity-joint',
  'exact',
] as const;
export type SamplerKind = (typeof SAMPLER_KINDS)[number];

export const isClusterSampler = (k: SamplerKind): boolean => k.startsWith('cluster-');
/** Samplers whose proposal uses item popularity (directly or within clusters). */
export const usesPopularity = (k: SamplerKind): boolean => k === 'popularity' || k.startsWith('cluster-popularity');
/** Cluster samplers whose clustering is learned jointly with the model (section 4.3) instead of K-means. */
export const isJointSampler = (k: SamplerKind): boolean => k.endsWith('-joint');

/** Shared, read-only tables the samplers of every worker draw from. */
export interface SamplerTables {
  nItems: number;
  popularity?: PopularityTables;
  clusters?: ClusterTables;
  /** exact sampler: also exclude the user's this-many best-scored non-positives */
  exactMaskTop: number;
}

/** What a worker hands the factory: the shared tables and its own resources. */
export interface SamplerContext {
  tables: SamplerTables;
  model: Model;
  kernels: Kernels;
  /** this worker's reader slot for published cluster versions */
  reader: number;
}

/** A worker's own sampler instance over the shared tables. */
export function createSampler(kind: SamplerKind, c: SamplerContext): NegativeSampler {
  const t = c.tables;
  switch (kind) {
    case 'uniform':
      return new UniformSampler(t.nItems, c.kernels);
    case 'popularity':
      if (!t.popularity) throw new Error('popularity sampler needs popularity tables');
      return new PopularitySampler(t.popularity, c.kernels);
    case 'cluster-uniform':
    case 'cluster-popularity':
    case 'cluster-uniform-joint':
    case 'cluster-popularity-joint': {
      if (!t.clusters) throw new Error(`${kind} needs cluster tables`);
      const pop = usesPopularity(kind);
      const base = pop ? createSampler('popularity', c) : createSampler('uniform', c);
      return new ClusterSampler(pop, t.clusters, base, c.model.user, c.kernels, c.reader, pop ? t.popularity : undefined);
    }
    case 'exact':
      return new ExactSampler(t.nItems, c.model.dim, c.model.user, c.model.item, c.kernels, t.exactMaskTop);
  }
}
