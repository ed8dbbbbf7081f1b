/**
 * Names and numeric codes shared by the TypeScript side and the WebAssembly
 * kernels (src/kernels/assembly/index.ts uses the same numbers).
 *
 * Losses, for one (user u, positive i) pair and L negatives j_l drawn from a
 * proposal Q (Eq. 6 of the paper):
 *   a_l = x_uj_l - ln Q~(j_l),  w = softmax(a),  loss = - sum_l w_l ln sigma(x_ui - x_uj_l)
 *   pris  gradient flows through w (the authors' code has no stop-gradient)
 *   sa    w held constant (self-adversarial weighting)
 *   bpr   w_l = 1/L
 */
export const LOSS_KINDS = ['pris', 'sa', 'bpr'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

export function lossCode(kind: LossKind): number {
  return LOSS_KINDS.indexOf(kind);
}

/** Per-sample optimizers of the kernel: sgd (row -= lr g) and Adagrad (per element). */
export const OPT_SGD = 0;
export const OPT_ADAGRAD = 1;
