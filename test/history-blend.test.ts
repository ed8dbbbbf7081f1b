import t from 'tap';
import { buildCsr } from '../src/data/csr.js';
import { blendFoldedRow, blendUserRows } from '../src/model/history-blend.js';

// A small random model and two history splits (train, valid) with some users empty in both.
const nUsers = 30;
const nItems = 40;
const d = 8;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const user = Float32Array.from({ length: nUsers * d }, rand);
const item = Float32Array.from({ length: nItems * d }, rand);
function split(p: number): { u: number[]; i: number[] } {
  const u: number[] = [];
  const i: number[] = [];
  for (let a = 0; a < nUsers; a++) {
    if (a % 7 === 3) continue;
    for (let b = 0; b < nItems; b++) if (Math.abs(rand()) < p) (u.push(a), i.push(b));
  }
  return { u, i };
}
const s1 = split(0.2);
const s2 = split(0.05);
const train = buildCsr(nUsers, nItems, Int32Array.from(s1.u), Int32Array.from(s1.i));
const valid = buildCsr(nUsers, nItems, Int32Array.from(s2.u), Int32Array.from(s2.i));

/** The definition, in float64, one user at a time: |e| * normalize((1 - w) e/|e| + w h/|h|), h the mean of the items' rows. */
function reference(u: number, w: number): number[] {
  const e = Array.from(user.subarray(u * d, u * d + d));
  const items = [...s1.i.filter((_, n) => s1.u[n] === u), ...s2.i.filter((_, n) => s2.u[n] === u)];
  if (items.length === 0) return e;
  const h = new Array<number>(d).fill(0);
  for (const i of items) for (let c = 0; c < d; c++) h[c]! += item[i * d + c]! / items.length;
  const norm = (x: number[]) => Math.hypot(...x);
  const p = e.map((x, c) => ((1 - w) * x) / norm(e) + (w * h[c]!) / norm(h));
  return p.map((x) => (x / norm(p)) * norm(e));
}

t.test('blendUserRows matches the definition, row by row, for several weights', async (t) => {
  for (const w of [0, 0.1, 0.3, 0.6, 1]) {
    const out = new Float32Array(user.length);
    blendUserRows(out, item, d, [train, valid], w, user);
    let worst = 0;
    for (let u = 0; u < nUsers; u++) {
      const want = reference(u, w);
      for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs(out[u * d + c]! - want[c]!));
    }
    t.ok(worst < 1e-5, `w ${w}: worst difference ${worst}`);
  }
});

t.test('w 0 keeps every row; users without items keep theirs at any w; norms are kept', async (t) => {
  const same = user.slice();
  blendUserRows(same, item, d, [train, valid], 0);
  t.same(Array.from(same), Array.from(user), 'w 0 is the identity');
  const mixed = user.slice();
  blendUserRows(mixed, item, d, [train, valid], 0.5);
  for (let u = 0; u < nUsers; u++) {
    const a = user.subarray(u * d, u * d + d);
    const b = mixed.subarray(u * d, u * d + d);
    if (u % 7 === 3) t.same(Array.from(b), Array.from(a), `user ${u} has no items: unchanged`);
    t.ok(Math.abs(Math.hypot(...b) - Math.hypot(...a)) < 1e-5, `user ${u}: norm kept`);
  }
  t.notSame(Array.from(mixed), Array.from(user), 'w 0.5 moves the users with items');
});

t.test('in place and from a copy give the same rows', async (t) => {
  const inPlace = user.slice();
  blendUserRows(inPlace, item, d, [train], 0.4);
  const fromCopy = new Float32Array(user.length).fill(9);
  blendUserRows(fromCopy, item, d, [train], 0.4, user);
  t.same(Array.from(fromCopy), Array.from(inPlace));
});

t.test('with a user list, only the users listed are blended, each as the whole table would be', async (t) => {
  const whole = user.slice();
  blendUserRows(whole, item, d, [train, valid], 0.4);
  const listed = Int32Array.from([0, 4, 10, 17, 29]);
  const part = user.slice();
  blendUserRows(part, item, d, [train, valid], 0.4, user, listed);
  for (let u = 0; u < nUsers; u++) {
    const want = (listed.includes(u) ? whole : user).subarray(u * d, u * d + d);
    t.same(Array.from(part.subarray(u * d, u * d + d)), Array.from(want), `user ${u}${listed.includes(u) ? ' (listed)' : ''}`);
  }
});

t.test('blendFoldedRow treats a folded-in vector as blendUserRows treats a known user', async (t) => {
  const all = user.slice();
  blendUserRows(all, item, d, [train], 0.3);
  for (const u of [0, 1, 5, 11]) {
    const row = user.slice(u * d, u * d + d);
    blendFoldedRow(row, item, train.indices.subarray(train.indptr[u]!, train.indptr[u + 1]!), 0.3);
    t.same(Array.from(row), Array.from(all.subarray(u * d, u * d + d)), `user ${u}`);
  }
});
