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

/**
 * Optimizers. sgd and adagrad step per sample (Hogwild); adam sums the
 * gradients of a mini-batch of positives inside a worker and then applies lazy
 * Adam to the rows the batch touched (the paper: Adam, lr 1e-3, batch 128).
 */
export const OPTIMIZERS = ['adagrad', 'sgd', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];
export const OPT_SGD = 0;
export const OPT_ADAGRAD = 1;
export const OPT_ADAM = 2;

export function optimizerCode(kind: OptimizerKind): number {
  return kind === 'sgd' ? OPT_SGD : kind === 'adagrad' ? OPT_ADAGRAD : OPT_ADAM;
}

/** Learning rates used when --lr is not given. */
export const DEFAULT_LR: Record<OptimizerKind, number> = { adagrad: 0.1, sgd: 0.05, adam: 0.001 };

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-7;
