import type { RngState } from '../kernels/rng.js';
import { drawAlias, type AliasTable } from './alias.js';
import { PositiveMask, type NegativeSampler } from './sampler.js';

/** Item popularity shared by every worker: f_j, ln f_j and an alias table over f. */
export interface PopularityTables {
  f: Float64Array;
  lnf: Float64Array;
  alias: AliasTable;
  total: number;
}

/** Users whose positives hold more than this share of the proposal mass are skipped (acceptance < 1e-4). */
export const MAX_POSITIVE_MASS_SHARE = 1 - 1e-4;

/**
 * Algorithm 2: draw from P_Q(j) = f_j / sum f over all items and reject the
 * user's positives: exactly Q^P of Eq. 9. ln Q~(j) = ln f_j gives Eq. 10.
 * Items with f_j = 0 (no training interaction) are never drawn.
 */
export class PopularitySampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  private readonly mask: PositiveMask;
  constructor(private readonly t: PopularityTables) {
    this.mask = new PositiveMask(t.f.length);
  }
  private left = 0;
  beginUser(_u: number, pos: Int32Array, from: number, to: number): boolean {
    this.mask.set(pos, from, to);
    let posMass = 0;
    for (let k = from; k < to; k++) posMass += this.t.f[pos[k]!]!;
    this.left = this.t.total - posMass;
    return posMass < this.t.total * MAX_POSITIVE_MASS_SHARE;
  }
  lnMass(): number {
    return Math.log(this.left);
  }
  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows = 1, lnqStride = L): void {
    const mask = this.mask;
    const alias = this.t.alias;
    const lnf = this.t.lnf;
    let draws = 0;
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < L; l++) {
        let j: number;
        do {
          j = drawAlias(alias, rng);
          draws++;
        } while (mask.has(j));
        negs[r * L + l] = j;
        lnq[r * lnqStride + l] = lnf[j]!;
      }
    }
    this.draws += draws;
    this.accepted += rows * L;
  }
}
