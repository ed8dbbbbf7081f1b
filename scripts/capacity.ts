/**
 * What fits in one training run: the shared memory (a wasm32 arena, at most
 * 4 GiB) and the whole memory a run needs, from the same plan `pris train`
 * checks before allocating (src/train/resources.ts), for the Echonest shape
 * and multiples of it, at several dimensions, thread counts and samplers.
 * Prints markdown tables (docs/scale.md).
 *
 *   node dist/scripts/capacity.js [--threads 2,16,64] [--dims 32,64,128,256,512]
 */
import { MAX_ARENA_BYTES } from '../src/memory/shared.js';
import { resolveAgainstData, resolveTrainConfig, type TrainConfig } from '../src/train/options.js';
import { planResources, type DataShape } from '../src/train/resources.js';
import { parseCountList } from '../src/cli/args.js';
import { readFlags, runScript, scriptArgs } from './lib/script.js';

const USAGE = `usage: node dist/scripts/capacity.js [--threads 2,16,64] [--dims 32,64,128,256,512]

The largest Echonest-shaped data (users, items and interactions in the full
set's proportions) whose training fits the 4 GiB of one WebAssembly memory,
per dimension, thread count and sampler; and the memory of the full set.`;

const { threads, dims } = readFlags('capacity', () => {
  const { values } = scriptArgs(USAGE, { options: { threads: { type: 'string', default: '2,16,64' }, dims: { type: 'string', default: '32,64,128,256,512' } } });
  return { threads: parseCountList('threads', values.threads!), dims: parseCountList('dims', values.dims!) };
});

/** The full Taste Profile with the default split (70% train, 10% valid, 20% test of each user's rows). */
const ECHONEST: DataShape = { nUsers: 1_019_318, nItems: 384_546, train: 33_861_510, valid: 4_837_359, test: 9_674_717, maxUserItems: 3_500 };

function times(s: DataShape, f: number): DataShape {
  const r = (n: number) => Math.max(1, Math.round(n * f));
  return { nUsers: r(s.nUsers), nItems: r(s.nItems), train: r(s.train), valid: r(s.valid), test: r(s.test), maxUserItems: s.maxUserItems };
}

/** The largest multiple of the Echonest shape whose arena fits (bisection on the factor). */
function largestFactor(dim: number, t: number, sampler: TrainConfig['sampler']): number {
  const cfg = resolveTrainConfig({ dim, threads: t, sampler });
  const fits = (f: number) => {
    const shape = times(ECHONEST, f);
    return planResources(shape, resolveAgainstData(cfg, shape)).arenaBytes <= MAX_ARENA_BYTES * 0.98;
  };
  let lo = 0;
  let hi = 1;
  while (fits(hi)) hi *= 2;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

const gib = (b: number) => (b / 2 ** 30).toFixed(2);
const m = (n: number) => (n / 1e6).toFixed(n >= 1e7 ? 0 : 1);

async function main(): Promise<void> {
  const samplers: TrainConfig['sampler'][] = ['popularity', 'cluster-popularity'];
  console.log(`Largest multiple of the Echonest shape (${ECHONEST.nUsers.toLocaleString('en-US')} users, ${ECHONEST.nItems.toLocaleString('en-US')} items) whose run fits one 4 GiB arena, adagrad-row:\n`);
  console.log(`| d | threads | ${samplers.map((s) => `${s}: x Echonest (users M, items M, rows M)`).join(' | ')} |`);
  console.log(`|---|---|${samplers.map(() => '---').join('|')}|`);
  for (const d of dims) {
    for (const t of threads) {
      const cells = samplers.map((s) => {
        const f = largestFactor(d, t, s);
        const x = times(ECHONEST, f);
        return `${f.toFixed(2)} (${m(x.nUsers)}, ${m(x.nItems)}, ${m(x.train + x.valid + x.test)})`;
      });
      console.log(`| ${d} | ${t} | ${cells.join(' | ')} |`);
    }
  }
  console.log(`\nThe full Echonest shape, popularity sampler, adagrad-row: memory by part (GiB)\n`);
  console.log('| d | threads | arena (of 4 GiB) | of which embeddings | evaluation buffers | outside the arena | total |');
  console.log('|---|---|---|---|---|---|---|');
  for (const d of dims) {
    for (const t of threads) {
      const p = planResources(ECHONEST, resolveAgainstData(resolveTrainConfig({ dim: d, threads: t, sampler: 'popularity' }), ECHONEST));
      const heap = p.totalBytes - p.arenaBytes;
      console.log(`| ${d} | ${t} | ${gib(p.arenaBytes)}${p.arenaBytes > MAX_ARENA_BYTES * 0.98 ? ' (refused)' : ''} | ${gib(p.arena.embeddings!)} | ${gib(p.arena.evaluation!)} | ${gib(heap)} | ${gib(p.totalBytes)} |`);
    }
  }
}

runScript('capacity', main);
