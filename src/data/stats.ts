import { hasSplit, readMeta, readPart, type DatasetMeta, type SplitName } from './dataset.js';

/**
 * `pris data stats`: the paper's Table 1 (users, items, interactions, density,
 * concentration) for the whole dataset, and the same figures per split part.
 *
 * Concentration is the share of interactions on the top ceil(5% x #items)
 * most popular items, #items being the whole item map (with a declared
 * catalogue, as in the paper's CiteULike figure). Density is interactions /
 * (#users x #items) of the whole map for every row, so the parts' densities add up.
 */
export interface PartStats {
  /** For 'all' the id-map sizes; for a split part, users / items with at least one row in it. */
  users: number;
  items: number;
  interactions: number;
  density: number;
  concentration: number;
}

export interface DatasetStats {
  dir: string;
  source: DatasetMeta['source'];
  /** How many top items the concentration counts: ceil(5% of the item map). */
  topItems: number;
  all: PartStats & { usersWithInteractions: number; itemsWithInteractions: number };
  split?: {
    seed: number;
    testFraction: number;
    validFraction: number;
    predefined: boolean;
    usersWithoutTest: number;
    usersWithoutValid: number;
    parts: Record<SplitName, PartStats>;
  };
}

export const TOP_SHARE_PERCENT = 5;

/** ceil(5% of n) in integers (0.05 * n in floating point can land just above an integer). */
export const topItemCount = (nItems: number): number => Math.max(1, Math.floor((nItems * TOP_SHARE_PERCENT + 99) / 100));

/** Table-1 figures of one set of rows over a `nUsers` x `nItems` map. */
export function partStats(user: Int32Array, item: Int32Array, nUsers: number, nItems: number): PartStats {
  const perItem = new Int32Array(nItems);
  const userSeen = new Uint8Array(nUsers);
  for (let r = 0; r < item.length; r++) {
    perItem[item[r]!]!++;
    userSeen[user[r]!] = 1;
  }
  let users = 0;
  for (let u = 0; u < nUsers; u++) users += userSeen[u]!;
  let items = 0;
  for (let i = 0; i < nItems; i++) if (perItem[i]! > 0) items++;
  perItem.sort();
  let top = 0;
  for (let k = nItems - topItemCount(nItems); k < nItems; k++) top += perItem[k]!;
  const n = item.length;
  return { users, items, interactions: n, density: n / (nUsers * nItems), concentration: n === 0 ? 0 : top / n };
}

export function datasetStats(dir: string): DatasetStats {
  const meta = readMeta(dir);
  const x = readPart(dir, meta, 'interactions');
  const all = partStats(x.user, x.item, meta.users, meta.items);
  const out: DatasetStats = {
    dir,
    source: meta.source,
    topItems: topItemCount(meta.items),
    all: { ...all, users: meta.users, items: meta.items, usersWithInteractions: all.users, itemsWithInteractions: all.items },
  };
  if (meta.split && hasSplit(dir)) {
    const parts = {} as Record<SplitName, PartStats>;
    for (const name of ['train', 'valid', 'test'] as const) {
      const p = readPart(dir, meta, name);
      parts[name] = partStats(p.user, p.item, meta.users, meta.items);
    }
    const s = meta.split;
    out.split = {
      seed: s.seed,
      testFraction: s.testFraction,
      validFraction: s.validFraction,
      predefined: s.predefined,
      usersWithoutTest: s.usersWithoutTest,
      usersWithoutValid: s.usersWithoutValid,
      parts,
    };
  }
  return out;
}

// ---- text form --------------------------------------------------------------

export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** 6.53e-04, the paper's notation (two-digit exponent). */
export const formatDensity = (d: number): string => d.toExponential(2).replace(/e([+-])(\d)$/, 'e$10$2');

export const formatPercent = (f: number): string => `${(100 * f).toFixed(1)}%`;

export function formatStats(s: DatasetStats): string {
  const header = ['', '#users', '#items', '#interactions', 'density', 'concentration'];
  const rows: string[][] = [header];
  const row = (name: string, p: PartStats) =>
    rows.push([name, formatCount(p.users), formatCount(p.items), formatCount(p.interactions), formatDensity(p.density), formatPercent(p.concentration)]);
  row('all', s.all);
  if (s.split) for (const name of ['train', 'valid', 'test'] as const) row(name, s.split.parts[name]);
  const width = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!))).join('  '));
  const notes = [
    `dataset ${s.dir} (${s.source.format}: ${s.source.inputs.join(', ')})`,
    ...lines,
    `concentration: share of interactions on the top ${formatCount(s.topItems)} items (${TOP_SHARE_PERCENT}% of ${formatCount(s.all.items)}); ` +
      `${formatCount(s.all.itemsWithInteractions)} items have interactions`,
  ];
  if (s.split) {
    const sp = s.split;
    notes.push(
      'split rows: #users / #items with at least one interaction in the part; density over the whole map',
      `split: seed ${sp.seed}, ` +
        (sp.predefined ? 'predefined test' : `test ${formatPercent(sp.testFraction)}`) +
        `, valid ${formatPercent(sp.validFraction)} of train; users without test: ${formatCount(sp.usersWithoutTest)}, without valid: ${formatCount(sp.usersWithoutValid)}`,
    );
  } else {
    notes.push(`not split yet: pris data split ${s.dir} --seed 1`);
  }
  return notes.join('\n') + '\n';
}
