/**
 * The row order every pris interaction file uses: by user, then by item.
 * Counting sort on users (linear), then each user's short run sorted by item
 * with a native Float64Array sort on packed keys (no JS comparator: tens of
 * millions of rows sort in seconds).
 */
export interface UserGroups {
  /** Row numbers in (user, item) order. */
  perm: Int32Array;
  /** User u's rows are `perm[start[u] .. start[u+1])`. */
  start: Int32Array;
}

/**
 * Groups rows by user and sorts each user's rows by item. With `keys`, rows
 * are ordered by `keys.user[user]` and `keys.item[item]` instead of the raw
 * numbers (provisional ids ranked by the id rule: the import sorts by the
 * final order without building rank columns); `nUsers` is then the number
 * of user keys.
 */
/** Runs up to this long are insertion-sorted. */
const SMALL_RUN = 24;

export function groupByUser(
  user: Int32Array,
  item: Int32Array,
  nUsers: number,
  keys: { user?: Int32Array; item?: Int32Array } = {},
): UserGroups {
  const n = user.length;
  const uk = keys.user;
  const ik = keys.item;
  const start = new Int32Array(nUsers + 1);
  for (let r = 0; r < n; r++) start[(uk ? uk[user[r]!]! : user[r]!) + 1]!++;
  for (let u = 0; u < nUsers; u++) start[u + 1]! += start[u]!;
  const perm = new Int32Array(n);
  const fill = start.slice(0, nUsers);
  for (let r = 0; r < n; r++) perm[fill[uk ? uk[user[r]!]! : user[r]!]!++] = r;

  let keysBuf = new Float64Array(64);
  let itemKeys = new Int32Array(64);
  let rows = new Int32Array(64);
  for (let u = 0; u < nUsers; u++) {
    const a = start[u]!;
    const len = start[u + 1]! - a;
    if (len < 2) continue;
    if (rows.length < len) {
      keysBuf = new Float64Array(len * 2);
      itemKeys = new Int32Array(len * 2);
      rows = new Int32Array(len * 2);
    }
    // Each row's item key is looked up once (the rank table is a cache miss at 10^5+ items).
    for (let k = 0; k < len; k++) {
      const r = perm[a + k]!;
      rows[k] = r;
      itemKeys[k] = ik ? ik[item[r]!]! : item[r]!;
    }
    if (len <= SMALL_RUN) {
      // Insertion sort by (item, input position): stable, and a short run
      // is sorted faster inline than by a call to the native sort.
      for (let k = 1; k < len; k++) {
        const key = itemKeys[k]!;
        const r = rows[k]!;
        let j = k - 1;
        while (j >= 0 && itemKeys[j]! > key) {
          itemKeys[j + 1] = itemKeys[j]!;
          rows[j + 1] = rows[j]!;
          j--;
        }
        itemKeys[j + 1] = key;
        rows[j + 1] = r;
      }
      for (let k = 0; k < len; k++) perm[a + k] = rows[k]!;
      continue;
    }
    // key = item * len + position: distinct, ordered by item then by input order (stable),
    // and exact in a double while nItems * len < 2^53.
    for (let k = 0; k < len; k++) keysBuf[k] = itemKeys[k]! * len + k;
    const run = keysBuf.subarray(0, len).sort();
    for (let k = 0; k < len; k++) perm[a + k] = rows[run[k]! % len]!;
  }
  return { perm, start };
}

type Column = Int32Array | Float32Array | Float64Array | Uint8Array | BigInt64Array;

/** Rows `idx[0..n)` of a column, in that order. */
export function takeColumn<T extends Column>(a: T, idx: Int32Array, n = idx.length): T {
  const out = new (a.constructor as new (n: number) => T)(n);
  for (let k = 0; k < n; k++) out[k] = a[idx[k]!]!;
  return out;
}

/** The same rows of every column of a row set (absent optional columns stay absent). */
export function takeRows<R extends { [K in keyof R]: Column | undefined }>(rows: R, idx: Int32Array, n = idx.length): R {
  const out = {} as R;
  for (const key of Object.keys(rows) as (keyof R)[]) {
    const col = rows[key];
    if (col !== undefined) out[key] = takeColumn(col as Column, idx, n) as R[keyof R];
  }
  return out;
}
