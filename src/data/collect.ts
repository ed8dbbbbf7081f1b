import { Growable } from './growable.js';
import { Interner } from './idmap.js';
import type { Rows, WeightFilter } from './filters.js';

/** Which optional columns an import produces. */
export interface Columns {
  weight: boolean;
  timestamp: boolean;
  /** Rows carry a train/test flag (a source that comes already split). */
  predefinedTest: boolean;
}

/**
 * Where format readers put rows: readers intern raw ids to provisional
 * numbers with `users` / `items` and values go to typed arrays as they stream in. The weight filters run here,
 * before a row is stored, so a 48M-row file filtered to 10% costs 10%.
 * Ids are interned even when their row is filtered out, so the number of
 * distinct users and items in the input is known (the items bound
 * --catalog-items; both are reported as dropped ids).
 */
export class RowCollector {
  readonly users = new Interner();
  readonly items = new Interner();
  readonly dropped: Record<string, number> = {};
  private readonly user = new Growable(Int32Array);
  private readonly item = new Growable(Int32Array);
  private readonly weight?: Growable<Float32Array>;
  private readonly timestamp?: Growable<Float64Array>;
  private readonly test?: Growable<Uint8Array>;
  /** Rows offered, before any filter. */
  seen = 0;

  /** Rows kept by the weight filters. */
  get stored(): number {
    return this.user.length;
  }

  constructor(
    readonly columns: Columns,
    private readonly filters: readonly WeightFilter[] = [],
  ) {
    if (columns.weight) this.weight = new Growable(Float32Array);
    if (columns.timestamp) this.timestamp = new Growable(Float64Array);
    if (columns.predefinedTest) this.test = new Growable(Uint8Array);
    for (const f of filters) this.dropped[f.name] = 0;
  }

  /** A row of provisional ids; `weight`/`timestamp` are ignored when the import has no such column. */
  add(u: number, i: number, weight = NaN, timestamp = NaN, isTest = false): void {
    this.seen++;
    for (const f of this.filters) {
      if (!f.keep(weight)) {
        this.dropped[f.name]!++;
        return;
      }
    }
    this.user.push(u);
    this.item.push(i);
    this.weight?.push(weight);
    this.timestamp?.push(timestamp);
    this.test?.push(isTest ? 1 : 0);
  }

  /** The stored rows (the collector is spent afterwards; each column's chunks go as it is copied out). */
  finish(): Rows {
    const rows: Rows = { user: this.user.finish(), item: this.item.finish() };
    if (this.weight) rows.weight = this.weight.finish();
    if (this.timestamp) rows.timestamp = this.timestamp.finish();
    if (this.test) rows.test = this.test.finish();
    return rows;
  }
}
