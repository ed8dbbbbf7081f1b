/**
 * Writes the bundled default dataset, data/synthetic/interactions.csv: a
 * small implicit-feedback set with the structure real ones have, so that a
 * factorisation model has something to learn beyond popularity:
 *
 *   - items belong to latent topics and have Zipf-like popularity;
 *   - each user likes a mixture of 1-3 topics and picks items from them in
 *     proportion to popularity, with a little taste-free noise;
 *   - 20-40 distinct items per user (skewed towards 20).
 *
 * Ids are strings (u00001, i00001) so imports exercise the string-id path.
 * Deterministic: a fixed seed and pris's own xoshiro128** generator.
 *
 *   npm run build && node dist/scripts/gen-synthetic.js [out.csv] [--force]
 *
 * An existing file is replaced only with --force, and only when it is in
 * this script's own format (a `user,item` header, then `uNNNNN,iNNNNN` lines).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { nextFloat, nextInt, seedRng, type RngState } from '../src/kernels/rng.js';
import { packageRoot } from '../src/paths.js';
import { openOutputFile, type OutputKind } from '../src/util/output.js';
import { runScript, scriptArgs } from './lib/script.js';

export const SYNTHETIC = {
  seed: 20200420,
  users: 3000,
  items: 3000,
  topics: 24,
  /** Item popularity ∝ 1 / rank^itemZipf over a random ranking of all items. */
  itemZipf: 0.9,
  /** Topic weight ∝ 1 / rank^topicZipf: some tastes are more common than others. */
  topicZipf: 0.6,
  minPerUser: 20,
  maxPerUser: 40,
  /** Share of a user's picks drawn from global popularity, ignoring taste. */
  noise: 0.1,
} as const;

/** Cumulative weights, for drawing an index in proportion to its weight. */
function cumulative(w: ArrayLike<number>): Float64Array {
  const c = new Float64Array(w.length);
  let s = 0;
  for (let k = 0; k < w.length; k++) c[k] = s += w[k]!;
  return c;
}

function draw(rng: RngState, cum: Float64Array): number {
  const x = nextFloat(rng) * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function shuffled(rng: RngState, n: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = nextInt(rng, k + 1);
    [a[k], a[j]] = [a[j]!, a[k]!];
  }
  return a;
}

const pad = (prefix: string, k: number) => prefix + String(k + 1).padStart(5, '0');

export function generate(p = SYNTHETIC): string {
  const rng = seedRng(p.seed);
  const rank = shuffled(rng, p.items);
  const popularity = Float64Array.from(rank, (r) => 1 / Math.pow(r + 1, p.itemZipf));
  const topicOf = Int32Array.from({ length: p.items }, () => nextInt(rng, p.topics));
  const topicItems: number[][] = Array.from({ length: p.topics }, () => []);
  for (let i = 0; i < p.items; i++) topicItems[topicOf[i]!]!.push(i);
  const topicCum = topicItems.map((items) => cumulative(items.map((i) => popularity[i]!)));
  const globalCum = cumulative(popularity);
  const topicRank = shuffled(rng, p.topics);
  const topicPickCum = cumulative(Float64Array.from(topicRank, (r) => 1 / Math.pow(r + 1, p.topicZipf)));

  const lines = ['user,item'];
  for (let u = 0; u < p.users; u++) {
    const nTopics = 1 + draw(rng, cumulative([0.4, 0.4, 0.2]));
    const topics: number[] = [];
    while (topics.length < nTopics) {
      const t = draw(rng, topicPickCum);
      if (!topics.includes(t)) topics.push(t);
    }
    const mix = cumulative(topics.map(() => 0.2 + nextFloat(rng)));
    const span = p.maxPerUser - p.minPerUser;
    const n = p.minPerUser + Math.round(span * Math.pow(nextFloat(rng), 2));
    const picked = new Set<number>();
    for (let tries = 0; picked.size < n && tries < 100 * n; tries++) {
      let item: number;
      if (nextFloat(rng) < p.noise) {
        item = draw(rng, globalCum);
      } else {
        const t = topics[draw(rng, mix)]!;
        item = topicItems[t]![draw(rng, topicCum[t]!)]!;
      }
      if (!picked.has(item)) picked.add(item);
    }
    for (const i of picked) lines.push(`${pad('u', u)},${pad('i', i)}`);
  }
  return lines.join('\n') + '\n';
}

/** A CSV this script wrote: its header and id format, line by line (a CSV cannot carry a marker). */
const OUTPUT: OutputKind = {
  name: 'synthetic-csv',
  what: 'a synthetic dataset',
  identify: (file) => /^user,item\n(u\d{5},i\d{5}\n)*$/.test(readFileSync(file, 'utf8')),
};

async function main(): Promise<void> {
  const { values, positionals } = scriptArgs('usage: node dist/scripts/gen-synthetic.js [out.csv] [--force]', {
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false } },
  });
  using out = await openOutputFile({
    path: positionals[0] ?? path.join(packageRoot(), 'data', 'synthetic', 'interactions.csv'),
    flag: 'output',
    kind: OUTPUT,
    force: values.force,
  });
  const text = generate();
  out.write(text);
  const rows = text.split('\n').length - 2;
  process.stdout.write(`wrote ${out.path}: ${rows} interactions, ${(text.length / 1e6).toFixed(2)} MB\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  runScript('gen-synthetic', main);
}
