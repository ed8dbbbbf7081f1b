import type { Model } from '../model/store.js';

/** Plain copies of the embeddings, reused: a state to fall back to. */
export class Snapshot {
  readonly user: Float32Array;
  readonly item: Float32Array;
  epoch = 0;
  constructor(m: Model) {
    this.user = new Float32Array(m.user.length);
    this.item = new Float32Array(m.item.length);
  }
  take(m: Model, epoch: number): void {
    this.user.set(m.user);
    this.item.set(m.item);
    this.epoch = epoch;
  }
  restore(m: Model): void {
    m.user.set(this.user);
    m.item.set(this.item);
  }
}

/**
 * Validation-driven stopping: keeps the best validated state, and says stop
 * after `patience` validations without improvement (0: never stops early).
 */
export class EarlyStopping {
  bestScore = -Infinity;
  sinceBest = 0;
  readonly best: Snapshot;

  constructor(
    model: Model,
    readonly patience: number,
  ) {
    this.best = new Snapshot(model);
  }

  get bestEpoch(): number {
    return this.best.epoch;
  }

  /** Records a validation score after `epoch`; true when training should stop. */
  observe(epoch: number, score: number, model: Model): boolean {
    if (score > this.bestScore) {
      this.bestScore = score;
      this.sinceBest = 0;
      this.best.take(model, epoch);
      return false;
    }
    this.sinceBest++;
    return this.patience > 0 && this.sinceBest >= this.patience;
  }
}

/**
 * How much an epoch's mean loss may exceed the lowest one so far before the
 * run counts as diverged. The PRIS, SA and BPR losses start near ln 2 and
 * fall; a hundredfold rise means the scores have blown up (seen with adagrad
 * or adam at --lr 1e9: 1e17, while still finite).
 */
export const DIVERGENCE_FACTOR = 100;

/** Why an epoch's loss means divergence, or undefined when it does not. */
export function divergence(loss: number, lowest: number): string | undefined {
  if (!Number.isFinite(loss)) return `the loss became ${loss}`;
  if (lowest > 0 && loss > DIVERGENCE_FACTOR * lowest) {
    return `the loss grew to ${loss.toPrecision(3)}, more than ${DIVERGENCE_FACTOR}x its lowest (${lowest.toPrecision(3)})`;
  }
  return undefined;
}
