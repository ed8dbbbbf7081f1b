import type { RngState } from '../kernels/rng.js';
import type { Kernels } from '../kernels/wasm.js';
import { DrawTargets, KernelRng, kernelAddress, PositiveBits, type NegativeSampler } from './sampler.js';

/**
 * The samplers over every item (uniform, popularity): their draws run in
 * the kernel itemDraw, a user's sets of negatives in one call, the user's
 * positives rejected through a bitset. Subclasses say per user whether
 * anything is left to draw.
 */
export abstract class ItemSampler implements NegativeSampler {
  draws = 0;
  accepted = 0;
  protected readonly bits: PositiveBits;
  private readonly rng = new KernelRng();
  // Kernel arguments are addresses, read once: a typed array's byteOffset is a slow getter.
  private readonly pBits: number;
  private readonly pEntries: number;
  private readonly out = new DrawTargets('item sampler');

  /** entries: the packed popularity alias table (PopularityTables.entries), or none for uniform draws. */
  constructor(
    protected readonly nItems: number,
    entries: Int32Array | undefined,
    private readonly kern: Kernels,
  ) {
    this.bits = new PositiveBits(nItems);
    this.pBits = this.bits.words.byteOffset;
    this.pEntries = entries ? kernelAddress(entries, 'item sampler', 'entries') : 0;
  }

  abstract beginUser(u: number, pos: Int32Array, from: number, to: number): boolean;

  draw(rng: RngState, L: number, negs: Int32Array, lnq: Float32Array, rows = 1, lnqStride = L): void {
    this.out.use(negs, lnq);
    this.rng.load(rng);
    this.draws += this.kern.itemDraw(this.rng.address, rows, L, lnqStride, this.nItems, this.pEntries, this.pBits, this.out.pNegs, this.out.pLnq);
    this.rng.store(rng);
    this.accepted += rows * L;
  }
}
