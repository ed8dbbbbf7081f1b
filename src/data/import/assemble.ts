import { UserError } from '../../errors.js';
import type { RowCollector } from '../collect.js';
import { foldDuplicates, type Rows } from '../filters.js';
import { allIntegerIds, compareIntegerIds, completeCatalog, isIntegerId, rankIds } from '../idmap.js';
import type { Interactions } from '../interactions.js';
import { groupByUser, takeColumn } from '../order.js';

/**
 * From the rows a reader collected (provisional ids, input order) to the rows
 * a dataset holds: sorted by (user, item) in the final id order, duplicates
 * folded, users under --min-user-interactions dropped, ids renumbered 0..n-1
 * (idmap.ts's rule over the ids that stay, plus the declared catalogue).
 *
 * Ids are ranked by the rule first and rows sorted by those ranks, so the
 * rows come out in final order from one sort: the final numbers are then a
 * monotone renumbering of the ranks. Columns are copied out one at a time
 * and the collected ones let go, so a 48M-row import holds about 20 bytes
 * per row at its peak, not three copies of every column.
 */
export interface Assembled {
  x: Interactions;
  /** The rows that came from a predefined test file (also in `x`). */
  test?: Interactions;
  userIds: string[];
  itemIds: string[];
  /** Items with at least one interaction (the rest of `itemIds` is declared catalogue). */
  seenItems: number;
  duplicates: number;
  minUser?: { droppedRows: number; droppedUsers: number };
  /** Distinct raw ids of the input that are not in the id maps. */
  droppedUsers: number;
  droppedItems: number;
}

export interface AssembleOptions {
  minUserInteractions?: number;
  catalogItems?: number;
}

/** Provisional → final index (-1: not kept), from the ranks and which provisional ids stay. */
function renumber(rank: Int32Array, kept: Uint8Array): Int32Array {
  const keptAtRank = new Uint8Array(rank.length);
  for (let k = 0; k < rank.length; k++) keptAtRank[rank[k]!] = kept[k]!;
  const before = new Int32Array(rank.length);
  let n = 0;
  for (let r = 0; r < rank.length; r++) {
    before[r] = n;
    n += keptAtRank[r]!;
  }
  const out = new Int32Array(rank.length);
  for (let k = 0; k < rank.length; k++) out[k] = kept[k] ? before[rank[k]!]! : -1;
  return out;
}

/** The kept ids in final order. */
function finalIds(ids: readonly string[], map: Int32Array): string[] {
  let n = 0;
  for (let k = 0; k < map.length; k++) if (map[k]! >= 0) n++;
  const out = new Array<string>(n);
  for (let k = 0; k < map.length; k++) if (map[k]! >= 0) out[map[k]!] = ids[k]!;
  return out;
}

/** Two lists of integer ids, each in numeric order, as one. */
function mergeIntegerIds(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < out.length; k++) out[k] = j >= b.length || (i < a.length && compareIntegerIds(a[i]!, b[j]!) < 0) ? a[i++]! : b[j++]!;
  return out;
}

/** Position of `id` in integer ids in numeric order, or -1. */
function findIntegerId(sorted: readonly string[], id: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareIntegerIds(sorted[mid]!, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Integer timestamps (exact in doubles) as Int64, without a BigInt per row. */
function toInt64(ts: Float64Array, idx: Int32Array, n: number): BigInt64Array {
  const out = new BigInt64Array(n);
  const halves = new Int32Array(out.buffer);
  for (let k = 0; k < n; k++) {
    const v = ts[idx[k]!]!;
    const hi = Math.floor(v / 4294967296);
    halves[2 * k] = v - hi * 4294967296; // little-endian low word
    halves[2 * k + 1] = hi;
  }
  return out;
}

interface Ordered {
  idx: Int32Array;
  m: number;
  userRank: Int32Array;
  itemRank: Int32Array;
  keptUser: Uint8Array;
  keptItem: Uint8Array;
  duplicates: number;
  droppedRows: number;
  droppedUsersBelowMin: number;
}

/** Sort, fold duplicates, drop light users; `rows` may be replaced (rare path), so it is passed in a holder. */
function order(holder: { rows: Partial<Rows> }, users: string[], items: string[], min: number): Ordered {
  const rows = holder.rows as Rows;
  // The id rule depends on the ids that stay: rank by the rule over all ids,
  // and rank again in the rare case the filters left only integers of a mixed set.
  const userNumeric = allIntegerIds(users);
  const itemNumeric = allIntegerIds(items);
  let userRank = rankIds(users, userNumeric);
  let itemRank = rankIds(items, itemNumeric);
  const groups = groupByUser(rows.user, rows.item, users.length, { user: userRank, item: itemRank });
  const folded = foldDuplicates(rows, groups, min, itemRank);
  let idx = folded.keep;
  const m = folded.m;
  if (m === 0) throw new UserError(`no interactions left after --min-user-interactions ${min} (all ${folded.droppedUsers} users have fewer)`);
  const keptUser = new Uint8Array(users.length);
  const keptItem = new Uint8Array(items.length);
  for (let k = 0; k < m; k++) {
    keptUser[rows.user[idx[k]!]!] = 1;
    keptItem[rows.item[idx[k]!]!] = 1;
  }
  const userNow = userNumeric || allIntegerIds(users, keptUser);
  const itemNow = itemNumeric || allIntegerIds(items, keptItem);
  if (userNow !== userNumeric || itemNow !== itemNumeric) {
    userRank = rankIds(users, userNow);
    itemRank = rankIds(items, itemNow);
    const kept = {} as Rows;
    for (const [k, col] of Object.entries(rows)) (kept as unknown as Record<string, unknown>)[k] = takeColumn(col, idx, m);
    holder.rows = kept;
    idx = groupByUser(kept.user, kept.item, users.length, { user: userRank, item: itemRank }).perm;
  }
  return {
    idx,
    m,
    userRank,
    itemRank,
    keptUser,
    keptItem,
    duplicates: folded.duplicates,
    droppedRows: folded.droppedRows,
    droppedUsersBelowMin: folded.droppedUsers,
  };
}

export function assembleRows(sink: RowCollector, opts: AssembleOptions): Assembled {
  const users = sink.users.ids;
  const items = sink.items.ids;
  const holder: { rows: Partial<Rows> } = { rows: sink.finish() };
  const o = order(holder, users, items, opts.minUserInteractions ?? 0);
  const rows = holder.rows;
  const { idx, m } = o;

  const userMap = renumber(o.userRank, o.keptUser);
  let itemMap = renumber(o.itemRank, o.keptItem);
  const userIds = finalIds(users, userMap);
  let itemIds = finalIds(items, itemMap);
  const seenItems = itemIds.length;
  if (opts.catalogItems !== undefined) {
    const catalog = completeCatalog(itemIds, opts.catalogItems, items.length);
    if (catalog.added > 0) {
      // The kept ids are integers in numeric order and the added ones increasing
      // integers: merge them, no sort and no map of a possibly huge catalogue.
      const all = mergeIntegerIds(itemIds, catalog.ids.slice(itemIds.length));
      const moved = new Int32Array(itemIds.length);
      for (let k = 0, j = 0; k < itemIds.length; k++, j++) {
        while (all[j] !== itemIds[k]) j++;
        moved[k] = j;
      }
      for (let k = 0; k < items.length; k++) {
        const f = itemMap[k]!;
        // A filtered-out item whose id is in the catalogue is in the map after all.
        itemMap[k] = f >= 0 ? moved[f]! : isIntegerId(items[k]!) ? findIntegerId(all, items[k]!) : -1;
      }
      itemIds = all;
    }
  }

  // Copy the columns out in final order, letting each collected one go.
  const x = {} as Interactions;
  const outUser = new Int32Array(m);
  for (let k = 0; k < m; k++) outUser[k] = userMap[rows.user![idx[k]!]!]!;
  x.user = outUser;
  delete rows.user;
  const outItem = new Int32Array(m);
  for (let k = 0; k < m; k++) outItem[k] = itemMap[rows.item![idx[k]!]!]!;
  x.item = outItem;
  delete rows.item;
  if (rows.weight) {
    x.weight = takeColumn(rows.weight, idx, m);
    delete rows.weight;
  }
  if (rows.timestamp) {
    x.timestamp = toInt64(rows.timestamp, idx, m);
    delete rows.timestamp;
  }
  let test: Interactions | undefined;
  if (rows.test) {
    const flag = takeColumn(rows.test, idx, m);
    delete rows.test;
    const at = new Int32Array(m);
    let t = 0;
    for (let k = 0; k < m; k++) if (flag[k] === 1) at[t++] = k;
    test = {} as Interactions;
    for (const [k, col] of Object.entries(x)) (test as unknown as Record<string, unknown>)[k] = takeColumn(col, at, t);
  }
  let droppedUsers = 0;
  for (let k = 0; k < users.length; k++) if (!o.keptUser[k]) droppedUsers++;
  let droppedItems = 0;
  for (let k = 0; k < items.length; k++) if (itemMap[k]! < 0) droppedItems++;
  return {
    x,
    ...(test && { test }),
    userIds,
    itemIds,
    seenItems,
    duplicates: o.duplicates,
    ...(opts.minUserInteractions !== undefined && { minUser: { droppedRows: o.droppedRows, droppedUsers: o.droppedUsersBelowMin } }),
    droppedUsers,
    droppedItems,
  };
}
