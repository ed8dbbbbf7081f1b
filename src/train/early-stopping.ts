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
 * How far an epoch's mean loss may exceed a reference before the run counts
 * as diverged. The PRIS, SA and BPR losses start at ln 2 (every score 0 at
 * initialisation weighs a negative like the positive) and fall; a hundredfold
 * rise over the lowest epoch, or over ln 2 in the first one, means the scores
 * have blown up (seen with adagrad or adam at --lr 1e9: a loss of 1e17 that is
 * still finite).
 */
export const DIVERGENCE_FACTOR = 100;

/** Why an epoch's loss means divergence, or undefined when it does not (`lowest`: the lowest epoch so far, Infinity before the first). */
export function divergence(loss: number, lowest: number): string | undefined {
  if (!Number.isFinite(loss)) return `the loss became ${loss}`;
  const reference = Math.min(lowest, Math.LN2);
  if (reference > 0 && loss > DIVERGENCE_FACTOR * reference) {
    return `the loss grew to ${loss.toPrecision(3)}, more than ${DIVERGENCE_FACTOR}x ${lowest < Math.LN2 ? `its lowest (${lowest.toPrecision(3)})` : 'its starting value ln 2'}`;
  }
  return undefined;
}
