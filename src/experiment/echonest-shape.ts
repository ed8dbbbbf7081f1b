/**
 * Writes a triplet file shaped like the Echonest / Million Song Dataset Taste
 * Profile (`train_triplets.txt`), which is not available here, at any scale
 * from 0.01x to 1x of the real one (1x = 1,019,318 users, 384,546 songs,
 * 48,373,586 rows), for `pris data import triplets`:
 *
 *   <40 lowercase hex user id>\t<SO + 16 uppercase alphanumerics>\t<play count>\n
 *
 * Each user's rows are contiguous and sorted by song id, as in the real file.
 *
 * The shape, and why:
 *   - **songs per user**: at least 10 (the Taste Profile kept only users
 *     with 10 or more songs), log-normal above that (most users have a few
 *     dozen songs, a few have thousands), capped at 5,000 (and at a quarter of
 *     the songs at small scales); the per-user counts are then nudged so the
 *     file has exactly round(48,373,586 x scale) rows;
 *   - **song popularity**: Zipf-Mandelbrot, weight of the song of rank r
 *     = (r + offset)^-zipf; the offset flattens the head, since no song can
 *     have more listeners than there are users;
 *   - **taste**: every song belongs to one of ~sqrt(songs)/2 topics; a user
 *     draws 1 to 5 topics (more for heavier users) in proportion to the topics'
 *     popularity mass, and takes each song from their topics (by popularity
 *     inside the topic) or, with probability `noise`, from all songs. So song
 *     popularity stays Zipf overall while users who share a topic share songs:
 *     a factorisation model has something to learn beyond popularity;
 *   - **play counts**: 1 + floor(user intensity x song replay x T), T a
 *     Lomax (Pareto II) variable of shape `countTail`. Most counts are 1, the
 *     tail is a power law, and which rows reach 5 plays (the paper's positives)
 *     depends on the user (casual listeners never replay: most users drop out
 *     of the paper's filter) and on the song (most songs are never replayed,
 *     which is why only a sixth of the songs survive it); songs taken from a
 *     user's own topics are replayed more than the noise picks, so the
 *     positives carry the taste structure. Counts are capped at 9,999.
 *
 * The parameters are calibrated so that at 1x the paper's filter (play count
 * >= 5, users with >= 5 such songs) leaves about the paper's Echonest
 * (217,966 users, 60,654 songs, 4,422,471 positives, 45.63% of them on the
 * top 5% of songs): `--summary` prints both side by side, and docs/formats.md
 * records what the generator gives. `--preset paper` writes only those rows
 * of the 1x model, so the paper-sized dataset costs 4 M rows of disk, not 48 M.
 *
 * Deterministic: the same flags give the same bytes (pris's own xoshiro128**).
 * Streams: memory is bounded by the song tables and one Int32 per user,
 * whatever the number of rows; `--gzip` compresses on the way out.
 *
 *   npm run build && node dist/scripts/gen-echonest.js --scale 0.1 --out triplets.txt
 */
import { createWriteStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { peekLines } from '../data/input.js';
import { UserError } from '../errors.js';
import { writeFileAtomicWithAsync } from '../util/atomic.js';
import { openOutputFile, type OutputKind } from '../util/output.js';
import { nextFloat, nextGaussian, nextInt, nextU32, seedRng, type RngState } from '../kernels/rng.js';
import { fillAlias } from '../samplers/alias.js';

/** The real Taste Profile (the MSD Challenge's training triplets). */
export const ECHONEST_FULL = { users: 1_019_318, songs: 384_546, rows: 48_373_586 } as const;

/** The paper's Echonest after play count >= 5 and users with >= 5 songs (its Table 1). */
export const PAPER_ECHONEST = { users: 217_966, songs: 60_654, positives: 4_422_471, concentration: 0.4563 } as const;

export const PAPER_MIN_COUNT = 5;
export const PAPER_MIN_USER_SONGS = 5;

export interface EchonestParams {
  seed: number;
  /** Fraction of the full set's users, songs and rows, 0.01 to 1. */
  scale: number;
  /** Topics; 0: round(sqrt(songs) / 2). */
  topics: number;
  minSongsPerUser: number;
  maxSongsPerUser: number;
  /** Songs per user above the minimum: log-normal with this median and log-sd. */
  activityMedian: number;
  activitySigma: number;
  songZipf: number;
  /** Zipf-Mandelbrot offset, as a fraction of the number of songs. */
  songOffset: number;
  /** Share of a user's songs drawn from all songs rather than their topics. */
  noise: number;
  /** Lomax shape of the play-count tail (smaller: heavier). */
  countTail: number;
  /** The scale of a row's tail, x = intensity x replay, saturates: x / (1 + x / replayCeiling). */
  replayCeiling: number;
  /** log of the user intensity ~ N(mean, sd) + intensityActivity x log(songs / minSongsPerUser). */
  userIntensityMean: number;
  userIntensitySd: number;
  intensityActivity: number;
  /** log of the song replay factor ~ N(0, sd). */
  songReplaySd: number;
  /**
   * Share of songs people replay; the others are played 1 to 4 times
   * (geometric with ratio `dullRatio`). The replayed songs are the top
   * `replayShare` by replayPopularity x log(popularity) + N(0, 1).
   */
  replayShare: number;
  replayPopularity: number;
  dullRatio: number;
  /** Replay factor of a noise pick relative to a pick from the user's own topics. */
  noiseReplay: number;
  /** Write only the rows the paper's filter keeps (count >= 5, users with >= 5 of them). */
  paperRowsOnly: boolean;
}

export const DEFAULTS: EchonestParams = {
  seed: 1,
  scale: 1,
  topics: 0,
  minSongsPerUser: 10,
  maxSongsPerUser: 5000,
  activityMedian: 17,
  activitySigma: 1.25,
  songZipf: 1.0,
  songOffset: 0.0005,
  noise: 0.2,
  countTail: 1.6,
  replayCeiling: 20,
  userIntensityMean: -5.75,
  userIntensitySd: 2.2,
  intensityActivity: 2.8,
  songReplaySd: 3,
  replayShare: 0.16,
  replayPopularity: 0.5,
  dullRatio: 0.2,
  noiseReplay: 0.05,
  paperRowsOnly: false,
};

export const MAX_PLAY_COUNT = 9999;

export interface Shape {
  users: number;
  songs: number;
  rows: number;
  topics: number;
}

export function shapeOf(p: EchonestParams): Shape {
  if (!(p.scale >= 0.01 && p.scale <= 1)) throw new UserError(`--scale must be between 0.01 and 1 (got ${p.scale})`);
  const songs = Math.round(ECHONEST_FULL.songs * p.scale);
  return {
    users: Math.round(ECHONEST_FULL.users * p.scale),
    songs,
    rows: Math.round(ECHONEST_FULL.rows * p.scale),
    topics: p.topics > 0 ? p.topics : Math.max(2, Math.round(Math.sqrt(songs) / 2)),
  };
}

// ---- ids ---------------------------------------------------------------------

const HEX = Buffer.from('0123456789abcdef');
const ALNUM = Buffer.from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ');
export const USER_ID_BYTES = 40;
export const SONG_ID_BYTES = 18;

/** `n` distinct song ids, `SO` + 16 characters of [0-9A-Z], as 18 bytes each. */
function songIds(rng: RngState, n: number): Buffer {
  const out = Buffer.allocUnsafe(n * SONG_ID_BYTES);
  const seen = new Set<string>();
  for (let s = 0; s < n; s++) {
    const at = s * SONG_ID_BYTES;
    for (;;) {
      out[at] = 0x53; // 'S'
      out[at + 1] = 0x4f; // 'O'
      for (let k = 2; k < SONG_ID_BYTES; k++) out[at + k] = ALNUM[nextInt(rng, 36)]!;
      const id = out.toString('latin1', at, at + SONG_ID_BYTES);
      if (!seen.has(id)) {
        seen.add(id);
        break;
      }
    }
  }
  return out;
}

/** A 160-bit user id (the real ones are SHA-1 hex digests), written at `at`. */
function writeUserId(rng: RngState, out: Uint8Array, at: number): void {
  for (let w = 0; w < 5; w++) {
    const x = nextU32(rng);
    for (let k = 0; k < 8; k++) out[at + w * 8 + k] = HEX[(x >>> (28 - 4 * k)) & 15]!;
  }
}

// ---- the model -----------------------------------------------------------------

/** Per-user songs and counts, handed to the writer (and to --summary). */
export interface UserRows {
  /** Songs (indices, rank order: 0 is the most popular) in song-id order. */
  songs: Int32Array;
  counts: Int32Array;
  n: number;
}

interface Model {
  shape: Shape;
  ids: Buffer;
  /** Song index → its position in song-id order (rows are written in that order). */
  idRank: Int32Array;
  replay: Float64Array;
  topicOf: Int32Array;
  songsByTopic: Int32Array;
  topicStart: Int32Array;
  topicProb: Float64Array;
  topicAlias: Int32Array;
  /** Per-topic alias tables over `songsByTopic` segments. */
  inTopicProb: Float64Array;
  inTopicAlias: Int32Array;
  allProb: Float64Array;
  allAlias: Int32Array;
  songsPerUser: Int32Array;
}

function alias(weights: Float64Array): { prob: Float64Array; alias: Int32Array } {
  const n = weights.length;
  const prob = new Float64Array(n);
  const al = new Int32Array(n);
  fillAlias(weights, 0, n, prob, al, new Float64Array(n), new Int32Array(n), new Int32Array(n));
  return { prob, alias: al };
}

function drawFrom(rng: RngState, prob: Float64Array, al: Int32Array, from: number, n: number): number {
  const k = Math.floor(nextU32(rng) * 2.3283064365386963e-10 * n);
  return nextU32(rng) * 2.3283064365386963e-10 < prob[from + k]! ? k : al[from + k]!;
}

/**
 * Songs per user: 10 + a log-normal, capped; then a few users get one song
 * more or less until the total is exactly the target row count.
 */
function songsPerUser(rng: RngState, p: EchonestParams, shape: Shape): Int32Array {
  const min = p.minSongsPerUser;
  const max = Math.max(min, Math.min(p.maxSongsPerUser, Math.floor(shape.songs / 4)));
  const n = new Int32Array(shape.users);
  let total = 0;
  for (let u = 0; u < shape.users; u++) {
    const extra = Math.floor(p.activityMedian * Math.exp(p.activitySigma * nextGaussian(rng)));
    n[u] = Math.min(max, min + extra);
    total += n[u]!;
  }
  const target = Math.min(shape.rows, shape.users * max);
  if (target < shape.users * min) throw new UserError(`${shape.rows} rows cannot give ${shape.users} users ${min} songs each`);
  while (total !== target) {
    const u = nextInt(rng, shape.users);
    if (total < target && n[u]! < max) {
      n[u]!++;
      total++;
    } else if (total > target && n[u]! > min) {
      n[u]!--;
      total--;
    }
  }
  return n;
}

function buildModel(p: EchonestParams): { model: Model; rng: RngState } {
  const shape = shapeOf(p);
  const rng = seedRng(p.seed, 0x45434e54); // 'ECNT'
  const S = shape.songs;
  const T = shape.topics;
  const ids = songIds(rng, S);
  const order = Int32Array.from({ length: S }, (_, s) => s);
  const key = (s: number) => ids.toString('latin1', s * SONG_ID_BYTES, (s + 1) * SONG_ID_BYTES);
  const keys = Array.from({ length: S }, (_, s) => key(s));
  order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  const idRank = new Int32Array(S);
  for (let k = 0; k < S; k++) idRank[order[k]!] = k;

  const weight = new Float64Array(S);
  const offset = p.songOffset * S;
  for (let s = 0; s < S; s++) weight[s] = Math.pow(s + 1 + offset, -p.songZipf);
  const replay = new Float64Array(S);
  const replayScore = Float64Array.from(weight, (w) => p.replayPopularity * Math.log(w) + nextGaussian(rng));
  const cut = replayScore.slice().sort()[Math.min(S - 1, Math.floor(S * (1 - p.replayShare)))]!;
  for (let s = 0; s < S; s++) replay[s] = replayScore[s]! >= cut ? Math.exp(p.songReplaySd * nextGaussian(rng)) : 0;

  // Topics: songs dealt at random, so every topic has a head and a tail.
  const topicOf = new Int32Array(S);
  const topicStart = new Int32Array(T + 1);
  for (let s = 0; s < S; s++) topicStart[(topicOf[s] = nextInt(rng, T)) + 1]!++;
  for (let t = 0; t < T; t++) topicStart[t + 1]! += topicStart[t]!;
  const songsByTopic = new Int32Array(S);
  const fill = topicStart.slice(0, T);
  for (let s = 0; s < S; s++) songsByTopic[fill[topicOf[s]!]!++] = s;
  const byTopicWeight = Float64Array.from(songsByTopic, (s) => weight[s]!);
  const inTopicProb = new Float64Array(S);
  const inTopicAlias = new Int32Array(S);
  const scaled = new Float64Array(S);
  const small = new Int32Array(S);
  const large = new Int32Array(S);
  const mass = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    fillAlias(byTopicWeight, topicStart[t]!, topicStart[t + 1]!, inTopicProb, inTopicAlias, scaled, small, large);
    for (let k = topicStart[t]!; k < topicStart[t + 1]!; k++) mass[t]! += byTopicWeight[k]!;
  }
  const topics = alias(mass);
  const all = alias(weight);
  const model: Model = {
    shape,
    ids,
    idRank,
    replay,
    topicOf,
    songsByTopic,
    topicStart,
    topicProb: topics.prob,
    topicAlias: topics.alias,
    inTopicProb,
    inTopicAlias,
    allProb: all.prob,
    allAlias: all.alias,
    songsPerUser: songsPerUser(rng, p, shape),
  };
  return { model, rng };
}

const MAX_TOPICS_PER_USER = 5;
/** Draws from the user's topics before a repeat falls back to all songs. */
const TASTE_TRIES = 8;

/** One user's rows as the generator yields them; the arrays are reused for the next user. */
export interface GeneratedUser {
  index: number;
  /** 40 ASCII bytes. */
  id: Uint8Array;
  rows: UserRows;
}

/**
 * The model, built once (song ids, popularity, topics, songs per user), and
 * its users generated one at a time in file order.
 */
export class EchonestGenerator {
  readonly shape: Shape;
  /** Song s's id is bytes [18 s, 18 s + 18). */
  readonly songIds: Buffer;
  private readonly m: Model;
  private readonly rng: RngState;

  constructor(readonly params: EchonestParams) {
    const { model, rng } = buildModel(params);
    this.m = model;
    this.rng = rng;
    this.shape = model.shape;
    this.songIds = model.ids;
  }

  /** The topic of song s (to check the taste structure). */
  topicOf(s: number): number {
    return this.m.topicOf[s]!;
  }

  songId(s: number): string {
    return this.songIds.toString('latin1', s * SONG_ID_BYTES, (s + 1) * SONG_ID_BYTES);
  }

  /** Single use: the users continue the model's random stream. */
  *users(): Generator<GeneratedUser> {
    const { m, rng, params: p } = this;
    const { users, songs: S } = m.shape;
    const T = m.shape.topics;
    const maxN = m.songsPerUser.reduce((a, b) => Math.max(a, b), 0);
    const stamp = new Int32Array(S).fill(-1);
    const picked = new Int32Array(maxN);
    const fromTaste = new Uint8Array(S);
    const keys = new Float64Array(maxN);
    const rows: UserRows = { songs: new Int32Array(maxN), counts: new Int32Array(maxN), n: 0 };
    const out: GeneratedUser = { index: 0, id: new Uint8Array(USER_ID_BYTES), rows };
    const topics = new Int32Array(MAX_TOPICS_PER_USER);
    const mix = new Float64Array(MAX_TOPICS_PER_USER);
    const invTail = -1 / p.countTail;
    const dullCum = [1, 1 + p.dullRatio, 1 + p.dullRatio + p.dullRatio ** 2];
    const dullTotal = dullCum[2]! + p.dullRatio ** 3;

    for (let u = 0; u < users; u++) {
      writeUserId(rng, out.id, 0);
      const n = m.songsPerUser[u]!;
      // Heavier users spread over more topics: 1 topic below 40 songs, then one more per factor of 4.
      const k = Math.min(MAX_TOPICS_PER_USER, T, 1 + Math.floor(Math.log(n / p.minSongsPerUser) / Math.log(4)));
      let nt = 0;
      while (nt < k) {
        const t = drawFrom(rng, m.topicProb, m.topicAlias, 0, T);
        if (!topics.subarray(0, nt).includes(t)) topics[nt++] = t;
      }
      let mixTotal = 0;
      for (let j = 0; j < nt; j++) mix[j] = mixTotal += 0.2 + nextFloat(rng);
      const intensity = Math.exp(p.userIntensityMean + p.userIntensitySd * nextGaussian(rng) + p.intensityActivity * Math.log(n / p.minSongsPerUser));

      for (let j = 0; j < n; j++) {
        let s = -1;
        let taste = 0;
        if (nextFloat(rng) >= p.noise) {
          for (let tries = 0; tries < TASTE_TRIES; tries++) {
            const x = nextFloat(rng) * mixTotal;
            let tj = 0;
            while (mix[tj]! <= x) tj++;
            const t = topics[tj]!;
            const a = m.topicStart[t]!;
            const c = m.songsByTopic[a + drawFrom(rng, m.inTopicProb, m.inTopicAlias, a, m.topicStart[t + 1]! - a)]!;
            if (stamp[c] !== u) {
              s = c;
              taste = 1;
              break;
            }
          }
        }
        for (let tries = 0; s < 0; tries++) {
          // By popularity first; a heavy user who keeps hitting songs they have takes any song.
          const c = tries < TASTE_TRIES ? drawFrom(rng, m.allProb, m.allAlias, 0, S) : nextInt(rng, S);
          if (stamp[c] !== u) s = c;
        }
        stamp[s] = u;
        picked[j] = s;
        fromTaste[s] = taste;
      }
      // Song-id order, as in the real file: sort packed (id rank, song) keys natively.
      for (let j = 0; j < n; j++) keys[j] = m.idRank[picked[j]!]! * S + picked[j]!;
      const sorted = keys.subarray(0, n).sort();
      for (let j = 0; j < n; j++) {
        const s = sorted[j]! % S;
        rows.songs[j] = s;
        const replay = m.replay[s]!;
        if (replay > 0) {
          const x = intensity * replay * (fromTaste[s] ? 1 : p.noiseReplay);
          const scale = x / (1 + x / p.replayCeiling);
          const tail = Math.pow(1 - nextFloat(rng), invTail) - 1;
          rows.counts[j] = Math.min(MAX_PLAY_COUNT, 1 + Math.floor(scale * tail));
        } else {
          const x = nextFloat(rng) * dullTotal;
          rows.counts[j] = x < dullCum[0]! ? 1 : x < dullCum[1]! ? 2 : x < dullCum[2]! ? 3 : 4;
        }
      }
      rows.n = n;
      out.index = u;
      yield out;
    }
  }
}

/** The rows of a user that the paper's filter keeps (in place), or 0 if the user is dropped. */
export function paperRows(rows: UserRows): number {
  let m = 0;
  for (let j = 0; j < rows.n; j++) {
    if (rows.counts[j]! >= PAPER_MIN_COUNT) {
      rows.songs[m] = rows.songs[j]!;
      rows.counts[m++] = rows.counts[j]!;
    }
  }
  return m >= PAPER_MIN_USER_SONGS ? m : 0;
}

// ---- text ----------------------------------------------------------------------

const CHUNK_BYTES = 4 << 20;
/** Longest line: 40 + 1 + 18 + 1 + 4 digits + 1. */
const MAX_LINE = USER_ID_BYTES + SONG_ID_BYTES + 8;

/** The file's bytes, chunk by chunk, produced as the consumer asks for them (backpressure). */
export function* tripletChunks(p: EchonestParams): Generator<Buffer> {
  const gen = new EchonestGenerator(p);
  const ids = gen.songIds;
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let at = 0;
  for (const { id, rows } of gen.users()) {
    const n = p.paperRowsOnly ? paperRows(rows) : rows.n;
    for (let j = 0; j < n; j++) {
      if (at > CHUNK_BYTES - MAX_LINE) {
        yield buf.subarray(0, at);
        buf = Buffer.allocUnsafe(CHUNK_BYTES);
        at = 0;
      }
      buf.set(id, at);
      at += USER_ID_BYTES;
      buf[at++] = 9;
      const s = rows.songs[j]!;
      ids.copy(buf, at, s * SONG_ID_BYTES, (s + 1) * SONG_ID_BYTES);
      at += SONG_ID_BYTES;
      buf[at++] = 9;
      at += writeCount(buf, at, rows.counts[j]!);
      buf[at++] = 10;
    }
  }
  if (at > 0) yield buf.subarray(0, at);
}

/** Decimal digits of 1..9999 without a string. */
function writeCount(buf: Buffer, at: number, c: number): number {
  const digits = c < 10 ? 1 : c < 100 ? 2 : c < 1000 ? 3 : 4;
  for (let k = digits - 1; k >= 0; k--) {
    buf[at + k] = 48 + (c % 10);
    c = Math.floor(c / 10);
  }
  return digits;
}

// ---- summary -------------------------------------------------------------------

export interface Summary {
  shape: Shape;
  rows: number;
  users: number;
  /** Songs with at least one row. */
  songs: number;
  songsPerUser: { min: number; median: number; mean: number; max: number };
  /** Share of rows with play count 1, 2, 3, 4 and >= 5; mean and largest count. */
  counts: { share: [number, number, number, number, number]; mean: number; max: number };
  /** Share of rows on the top ceil(5%) of songs with rows (the paper's concentration). */
  concentration: number;
  /** What the paper's filter (count >= 5, users with >= 5 such songs) leaves. */
  paper: { users: number; songs: number; positives: number; concentration: number; density: number };
}

/** Share of `total` on the `ceil(5% of nonzero)` largest entries of `perSong`. */
function topShare(perSong: Int32Array): number {
  const sorted = perSong.filter((c) => c > 0).sort();
  const top = Math.max(1, Math.floor((sorted.length * 5 + 99) / 100));
  let all = 0;
  let head = 0;
  for (let k = 0; k < sorted.length; k++) {
    all += sorted[k]!;
    if (k >= sorted.length - top) head += sorted[k]!;
  }
  return all === 0 ? 0 : head / all;
}

/** The generated data's figures, computed from the users as they are generated (nothing written). */
export function summarize(p: EchonestParams): Summary {
  const gen = new EchonestGenerator(p);
  const S = gen.shape.songs;
  const rowsPerSong = new Int32Array(S);
  const positivesPerSong = new Int32Array(S);
  const perUser: number[] = [];
  const countHist = [0, 0, 0, 0, 0];
  let rows = 0;
  let countSum = 0;
  let maxCount = 0;
  let paperUsers = 0;
  let positives = 0;
  for (const { rows: r } of gen.users()) {
    perUser.push(r.n);
    rows += r.n;
    let m = 0;
    for (let j = 0; j < r.n; j++) {
      const c = r.counts[j]!;
      rowsPerSong[r.songs[j]!]!++;
      countHist[Math.min(c, 5) - 1]!++;
      countSum += c;
      if (c > maxCount) maxCount = c;
      if (c >= PAPER_MIN_COUNT) m++;
    }
    if (m >= PAPER_MIN_USER_SONGS) {
      paperUsers++;
      positives += m;
      for (let j = 0; j < r.n; j++) if (r.counts[j]! >= PAPER_MIN_COUNT) positivesPerSong[r.songs[j]!]!++;
    }
  }
  perUser.sort((a, b) => a - b);
  const songsWith = (a: Int32Array) => a.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  const paperSongs = songsWith(positivesPerSong);
  return {
    shape: gen.shape,
    rows,
    users: perUser.length,
    songs: songsWith(rowsPerSong),
    songsPerUser: { min: perUser[0]!, median: perUser[perUser.length >> 1]!, mean: rows / perUser.length, max: perUser.at(-1)! },
    counts: { share: countHist.map((c) => c / rows) as Summary['counts']['share'], mean: countSum / rows, max: maxCount },
    concentration: topShare(rowsPerSong),
    paper: {
      users: paperUsers,
      songs: paperSongs,
      positives,
      concentration: topShare(positivesPerSong),
      density: positives / (paperUsers * paperSongs),
    },
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (f: number) => `${(100 * f).toFixed(2)}%`;

export function formatSummary(s: Summary): string {
  const target = (got: number, want: number) => `${fmt(got)} (paper ${fmt(want)}, ${got >= want ? '+' : ''}${pct(got / want - 1)})`;
  const c = s.counts.share;
  return [
    `rows ${fmt(s.rows)}, users ${fmt(s.users)}, songs with rows ${fmt(s.songs)} of ${fmt(s.shape.songs)}, topics ${s.shape.topics}`,
    `songs per user: min ${s.songsPerUser.min}, median ${s.songsPerUser.median}, mean ${s.songsPerUser.mean.toFixed(2)}, max ${s.songsPerUser.max}`,
    `play counts: 1: ${pct(c[0])}, 2: ${pct(c[1])}, 3: ${pct(c[2])}, 4: ${pct(c[3])}, >=5: ${pct(c[4])}; mean ${s.counts.mean.toFixed(2)}, max ${s.counts.max}`,
    `concentration (rows on the top 5% of songs): ${pct(s.concentration)}`,
    `after --min-count ${PAPER_MIN_COUNT} --min-user-interactions ${PAPER_MIN_USER_SONGS}:`,
    `  users ${target(s.paper.users, PAPER_ECHONEST.users)}`,
    `  songs ${target(s.paper.songs, PAPER_ECHONEST.songs)}`,
    `  positives ${target(s.paper.positives, PAPER_ECHONEST.positives)}`,
    `  concentration ${pct(s.paper.concentration)} (paper ${pct(PAPER_ECHONEST.concentration)}), density ${s.paper.density.toExponential(2)} (paper 3.35e-04)`,
    ...(s.shape.users !== ECHONEST_FULL.users ? ['  (the paper figures are for the full set, scale 1)'] : []),
  ].join('\n') + '\n';
}

// ---- writing -------------------------------------------------------------------

const LINE = /^[0-9a-f]{40}\t(SO[0-9A-Z]{16})\t[0-9]+$/;

/** A file the generator wrote, recognised by its first line (the output contract replaces only those, with --force). */
const GENERATED: OutputKind = {
  name: 'echonest-triplets',
  what: 'an Echonest-shaped triplets file',
  identify: async (file) => LINE.test((await peekLines(file, 1).catch(() => []))[0] ?? ''),
};

/**
 * Streams the file to a temporary sibling and renames it into place, so an
 * interrupted run never leaves a truncated file under the final name; an
 * existing file is replaced only with `force` and only if the generator wrote it.
 */
export async function writeTriplets(p: EchonestParams, out: string, gzip: boolean, force = false): Promise<number> {
  using file = await openOutputFile({ path: out, kind: GENERATED, force });
  await writeFileAtomicWithAsync(file.path, async (tmp) => {
    const source = Readable.from(tripletChunks(p), { objectMode: false });
    if (gzip) await pipeline(source, createGzip({ level: 6 }), createWriteStream(tmp, { flags: 'wx' }));
    else await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
  });
  return statSync(file.path).size;
}

export const PARAM_KEYS = Object.keys(DEFAULTS).filter((k) => k !== 'seed' && k !== 'scale' && k !== 'paperRowsOnly') as (keyof EchonestParams)[];

export function parseParams(values: { scale?: string; preset?: string; seed?: string; set?: string[] }): EchonestParams {
  const p: EchonestParams = { ...DEFAULTS };
  const preset = values.preset ?? 'full';
  if (preset !== 'full' && preset !== 'paper') throw new UserError(`--preset must be full or paper (got '${preset}')`);
  p.paperRowsOnly = preset === 'paper';
  p.scale = values.scale === undefined ? (preset === 'paper' ? 1 : 0.01) : Number(values.scale);
  if (values.seed !== undefined) {
    p.seed = Number(values.seed);
    if (!Number.isSafeInteger(p.seed) || p.seed < 0) throw new UserError(`--seed must be a non-negative integer (got '${values.seed}')`);
  }
  for (const s of values.set ?? []) {
    const m = /^(\w+)=(.+)$/.exec(s);
    const key = m?.[1] as keyof EchonestParams | undefined;
    if (!m || !key || !PARAM_KEYS.includes(key)) throw new UserError(`--set takes name=value with name one of ${PARAM_KEYS.join(', ')} (got '${s}')`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new UserError(`--set ${key}: not a number ('${m[2]}')`);
    (p as unknown as Record<string, number>)[key] = v;
  }
  shapeOf(p);
  return p;
}
