import { JsScorer } from './score-js.js';
import { WasmScorer } from './score-wasm.js';
import type { BlockScorer, ScorerKind } from './scorer.js';

export type { BlockScorer, ScorerKind } from './scorer.js';

/**
 * The SIMD kernels of dist/kernels.wasm: they need WebAssembly SIMD and
 * threads, which training needs anyway, so there is no engine where the
 * plain-JS scorer would be the only one left. It stays as an independent
 * check of the kernel (the tests, the hidden `--scorer js` of `pris evaluate`).
 */
export function defaultScorerKind(): ScorerKind {
  return 'wasm';
}

export function createScorer(kind: ScorerKind, maxUsers: number): BlockScorer {
  return kind === 'wasm' ? new WasmScorer(maxUsers) : new JsScorer(maxUsers);
}
