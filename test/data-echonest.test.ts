import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DEFAULTS,
  ECHONEST_FULL,
  EchonestGenerator,
  PAPER_MIN_COUNT,
  PAPER_MIN_USER_SONGS,
  parseParams,
  summarize,
  tripletChunks,
  writeTriplets,
  type EchonestParams,
} from '../src/experiment/echonest-shape.js';
import { FILES, readMeta } from '../src/data/dataset.js';
import { readIdMap, readInteractions } from '../src/data/interactions.js';

/** The Echonest-shaped generator: layout, determinism, the shape it promises, and that pris imports it. */

const ROOT = path.resolve(import.meta.dirname, '..');
const SMALL: EchonestParams = { ...DEFAULTS, scale: 0.01 };

function tmp(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pris-echonest-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const text = (p: EchonestParams) => Buffer.concat([...tripletChunks(p)]).toString('latin1');

function pris(...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli.js'), ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('0.01x: the real layout, exact row and user counts, users with >= 10 distinct songs, contiguous and in song-id order', async (t) => {
  const s = text(SMALL);
  const lines = s.split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, Math.round(ECHONEST_FULL.rows * 0.01));
  const songsPerUser = new Map<string, string[]>();
  const allSongs = new Set<string>();
  let last = '';
  let bad = 0;
  let split = 0;
  for (const line of lines) {
    const m = /^([0-9a-f]{40})\t(SO[0-9A-Z]{16})\t([1-9][0-9]{0,3})$/.exec(line);
    if (!m) {
      bad++;
      continue;
    }
    const [, user, song] = m;
    if (user !== last) {
      if (songsPerUser.has(user!)) split++;
      songsPerUser.set(user!, []);
      last = user!;
    }
    songsPerUser.get(user!)!.push(song!);
    allSongs.add(song!);
  }
  t.equal(split, 0, "each user's rows are one block");
  t.equal(bad, 0, 'every line is <40 hex>\\t<SO + 16 [0-9A-Z]>\\t<count>');
  t.equal(songsPerUser.size, Math.round(ECHONEST_FULL.users * 0.01));
  t.ok(allSongs.size <= Math.round(ECHONEST_FULL.songs * 0.01));
  let tooFew = 0;
  let unsorted = 0;
  let repeated = 0;
  for (const songs of songsPerUser.values()) {
    if (songs.length < 10) tooFew++;
    if (new Set(songs).size !== songs.length) repeated++;
    for (let k = 1; k < songs.length; k++) if (songs[k - 1]! >= songs[k]!) unsorted++;
  }
  t.equal(tooFew, 0, 'every user has at least 10 songs');
  t.equal(repeated, 0, 'no (user, song) pair twice');
  t.equal(unsorted, 0, "each user's rows are in song-id order");
});

t.test('same seed, same bytes; another seed, another file; gzip holds the same text', async (t) => {
  const hash = (p: EchonestParams) => createHash('sha256').update(text(p)).digest('hex');
  const a = hash(SMALL);
  t.equal(hash(SMALL), a);
  t.not(hash({ ...SMALL, seed: 2 }), a);
  const dir = tmp(t);
  await writeTriplets(SMALL, path.join(dir, 'a.txt.gz'), true);
  t.equal(createHash('sha256').update(gunzipSync(readFileSync(path.join(dir, 'a.txt.gz')))).digest('hex'), a);
});

t.test('play counts: mostly 1, a heavy tail; song popularity: Zipf-like; users: heavy-tailed activity', async (t) => {
  const s = summarize({ ...SMALL, scale: 0.03 });
  const [one, two, three, four, fivePlus] = s.counts.share;
  t.ok(one > 0.5, `most counts are 1 (${one})`);
  t.ok(one > two && two > three && three > four, 'the histogram falls');
  t.ok(fivePlus > 0.05 && fivePlus < 0.2, `a tail of counts >= 5 (${fivePlus})`);
  t.ok(s.counts.max >= 1000, `the tail reaches thousands (${s.counts.max})`);
  t.ok(s.songsPerUser.min === 10 && s.songsPerUser.median < s.songsPerUser.mean && s.songsPerUser.max > 10 * s.songsPerUser.median, 'songs per user: min 10, right-skewed');
  t.ok(s.concentration > 0.25, `the top 5% of songs carry a large share of the rows (${s.concentration})`);

  // Zipf: rows per song against popularity rank fall like a power law (log-log slope near -songZipf in the tail).
  const gen = new EchonestGenerator({ ...SMALL, scale: 0.03 });
  const perSong = new Float64Array(gen.shape.songs);
  for (const { rows } of gen.users()) for (let j = 0; j < rows.n; j++) perSong[rows.songs[j]!]!++;
  const at = (r: number) => perSong.subarray(r, r * 2).reduce((a, b) => a + b, 0) / r;
  const slope = Math.log(at(2000) / at(200)) / Math.log(10);
  t.ok(slope < -0.6 && slope > -1.3, `rows per song fall with rank as a power law (slope ${slope.toFixed(2)})`);
});

t.test('taste structure: a user concentrates on a few topics, far beyond popularity, and so do their positives', async (t) => {
  const gen = new EchonestGenerator(SMALL);
  const T = gen.shape.topics;
  const rowsPerTopic = new Float64Array(T);
  const perTopic = new Int32Array(T);
  let users = 0;
  let rowsInOwn = 0;
  let positivesInOwn = 0;
  let total = 0;
  for (const { rows: r } of gen.users()) {
    perTopic.fill(0);
    let positives = 0;
    for (let j = 0; j < r.n; j++) {
      perTopic[gen.topicOf(r.songs[j]!)]!++;
      if (r.counts[j]! >= PAPER_MIN_COUNT) positives++;
    }
    for (let k = 0; k < T; k++) rowsPerTopic[k]! += perTopic[k]!;
    total += r.n;
    if (positives < PAPER_MIN_USER_SONGS) continue;
    // "Own" topics: those holding at least 10% of the user's rows.
    const own = (s: number) => perTopic[gen.topicOf(s)]! >= 0.1 * r.n;
    let rin = 0;
    let pin = 0;
    for (let j = 0; j < r.n; j++) {
      if (!own(r.songs[j]!)) continue;
      rin++;
      if (r.counts[j]! >= PAPER_MIN_COUNT) pin++;
    }
    users++;
    rowsInOwn += rin / r.n;
    positivesInOwn += pin / positives;
  }
  const largestTopicShare = Math.max(...rowsPerTopic) / total;
  t.ok(users > 500, `${users} users pass the paper's filter`);
  t.ok(rowsInOwn / users > 0.6, `a user's rows in their own topics: ${(rowsInOwn / users).toFixed(3)}`);
  t.ok(largestTopicShare < 0.1, `while the largest topic has ${largestTopicShare.toFixed(3)} of all rows`);
  t.ok(positivesInOwn / users > rowsInOwn / users, `positives in own topics ${(positivesInOwn / users).toFixed(3)}: replays follow taste`);
});

t.test('pris data import triplets reads it; --preset paper is exactly the filtered full file', async (t) => {
  const dir = tmp(t);
  const full = path.join(dir, 'full.txt.gz');
  const paper = path.join(dir, 'paper.txt');
  await writeTriplets(SMALL, full, true);
  await writeTriplets({ ...SMALL, paperRowsOnly: true }, paper, false);
  const a = pris('data', 'import', 'triplets', full, '--min-count', String(PAPER_MIN_COUNT), '--min-user-interactions', String(PAPER_MIN_USER_SONGS), '--out', path.join(dir, 'a'), '--quiet');
  t.equal(a.code, 0, a.stderr);
  const b = pris('data', 'import', 'triplets', paper, '--out', path.join(dir, 'b'), '--quiet');
  t.equal(b.code, 0, b.stderr);
  const raw = pris('data', 'import', 'triplets', full, '--out', path.join(dir, 'raw'), '--quiet');
  t.equal(raw.code, 0, raw.stderr);
  const metaRaw = readMeta(path.join(dir, 'raw'));
  t.match(metaRaw, { users: Math.round(ECHONEST_FULL.users * 0.01), interactions: Math.round(ECHONEST_FULL.rows * 0.01), dropped: { duplicates: 0 } });

  const ma = readMeta(path.join(dir, 'a'));
  const mb = readMeta(path.join(dir, 'b'));
  const s = summarize(SMALL);
  t.match(ma, { users: s.paper.users, items: s.paper.songs, interactions: s.paper.positives }, '--summary predicts the filtered import');
  t.match(mb, { users: ma.users, items: ma.items, interactions: ma.interactions });
  t.equal(mb.dropped.minCount ?? 0, 0);
  t.same(readIdMap(path.join(dir, 'a', FILES.users)), readIdMap(path.join(dir, 'b', FILES.users)));
  t.same(readIdMap(path.join(dir, 'a', FILES.items)), readIdMap(path.join(dir, 'b', FILES.items)));
  const xa = readInteractions(path.join(dir, 'a', FILES.interactions));
  const xb = readInteractions(path.join(dir, 'b', FILES.interactions));
  t.same([xa.user, xa.item, xa.weight], [xb.user, xb.item, xb.weight], 'same rows, same play counts');
});

t.test('an existing file is replaced only with force, and only if this script wrote it', async (t) => {
  const dir = tmp(t);
  const mine = path.join(dir, 'mine.txt');
  await writeTriplets(SMALL, mine, false);
  await t.rejects(writeTriplets(SMALL, mine, false), { name: 'UserError', message: /already holds an Echonest-shaped triplets file written by pris; give --force/ });
  await writeTriplets({ ...SMALL, seed: 3 }, mine, false, true);
  const theirs = path.join(dir, 'theirs.txt');
  writeFileSync(theirs, 'precious\n');
  await t.rejects(writeTriplets(SMALL, theirs, false, true), { name: 'UserError', message: /is not an Echonest-shaped triplets file written by pris/ });
  t.equal(readFileSync(theirs, 'utf8'), 'precious\n');
});

t.test('flags: scale bounds, presets, --set names; the script fails in one line', async (t) => {
  t.throws(() => parseParams({ scale: '0.001' }), { message: '--scale must be between 0.01 and 1 (got 0.001)' });
  t.throws(() => parseParams({ scale: '2' }), { message: /--scale must be between 0.01 and 1/ });
  t.throws(() => parseParams({ preset: 'tiny' }), { message: "--preset must be full or paper (got 'tiny')" });
  t.throws(() => parseParams({ set: ['zipf=1'] }), { message: /^--set takes name=value with name one of/ });
  t.match(parseParams({ preset: 'paper' }), { scale: 1, paperRowsOnly: true });
  t.match(parseParams({ set: ['songZipf=1.1'], seed: '7' }), { songZipf: 1.1, seed: 7, scale: 0.01 });
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'gen-echonest.js'), '--scale', '3', '--out', 'x.txt'], { encoding: 'utf8', env });
  t.equal(r.status, 2);
  t.equal(r.stderr, 'gen-echonest: --scale must be between 0.01 and 1 (got 3)\n');
});
