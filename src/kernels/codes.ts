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
 * and SimpleX's cosine contrastive loss (Mao et al., CIKM'21), on rows kept at
 * unit length so that a score is a cosine:
 *   ccl   loss = (1 - x_ui) + (w / L) sum_l max(0, x_uj_l - margin)
 */
export const LOSS_KINDS = ['pris', 'sa', 'bpr', 'ccl'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

export function lossCode(kind: LossKind): number {
  return LOSS_KINDS.indexOf(kind);
}

export const LOSS_CCL = lossCode('ccl');

/**
 * The softmax-kernel loss that stands in for `kind` where a model is fitted
 * with its item rows fixed or a sampler is trained (fold-in, joint samplers):
 * ccl has none, and bpr's ranking of a user's items by u.v is what a ccl
 * model's unit item rows need (a user row's length never changes its ranking).
 */
export function softmaxLossCode(kind: LossKind): number {
  return lossCode(kind === 'ccl' ? 'bpr' : kind);
}

/**
 * Optimizers. sgd and adagrad step per sample (Hogwild); adam sums the
 * gradients of a mini-batch of positives inside a worker and then applies lazy
 * Adam to the rows the batch touched (the paper: Adam, lr 1e-3, batch 128).
 */
export const OPTIMIZERS = ['adagrad', 'adagrad-row', 'sgd', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];
export const OPT_SGD = 0;
export const OPT_ADAGRAD = 1;
export const OPT_ADAM = 2;
/** Adagrad with one accumulator per row (mean squared gradient of the row): half the state traffic. */
export const OPT_ADAGRAD_ROW = 3;

const CODES: Record<OptimizerKind, number> = { sgd: OPT_SGD, adagrad: OPT_ADAGRAD, adam: OPT_ADAM, 'adagrad-row': OPT_ADAGRAD_ROW };

export function optimizerCode(kind: OptimizerKind): number {
  return CODES[kind];
}

/** Learning rates used when --lr is not given. */
export const DEFAULT_LR: Record<OptimizerKind, number> = { adagrad: 0.1, 'adagrad-row': 0.1, sgd: 0.05, adam: 0.001 };

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-7;

/** Adam's bias-corrected step size after t steps (TensorFlow's form: lr sqrt(1 - b2^t) / (1 - b1^t)). */
export function adamStepSize(lr: number, t: number): number {
  return (lr * Math.sqrt(1 - Math.pow(ADAM_BETA2, t))) / (1 - Math.pow(ADAM_BETA1, t));
}
