import { JsScorer } from './score-js.js';
import { WasmScorer } from './score-wasm.js';
import type { BlockScorer, ScorerKind } from './scorer.js';
import { simdSupported } from './wasm-asm.js';

export type { BlockScorer, ScorerKind } from './scorer.js';

let simd: boolean | undefined;

/** The SIMD kernel where the engine has WebAssembly SIMD, plain JS otherwise. */
export function defaultScorerKind(): ScorerKind {
  simd ??= simdSupported();
  return simd ? 'wasm' : 'js';
}

export function createScorer(kind: ScorerKind, maxUsers: number): BlockScorer {
  return kind === 'wasm' ? new WasmScorer(maxUsers) : new JsScorer(maxUsers);
}
