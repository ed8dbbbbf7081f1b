import type { Csr } from '../data/csr.js';
import type { Model } from '../model/store.js';

/**
 * What every pool worker receives once, through `workerData`: views of shared
 * memory only (structured clone shares SharedArrayBuffers, it does not copy).
 * Training adds its optimizer state and sampler tables in `train`.
 */
export interface PoolData {
  /** the shared WebAssembly memory every array below lives in (set by createPool) */
  memory?: WebAssembly.Memory;
  model: Model;
  splits: { train: Csr; valid: Csr; test: Csr };
  train?: unknown;
}
