/**
 * Runs a study's configurations one after another in this process
 * (runTraining uses every core it is given, so never two at once), each into
 * its own temporary model directory, and records what the tables need. A run
 * that throws is recorded as failed with its message and the study goes on.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { TrainConfig } from '../train/options.js';
import type { EpochStats } from '../train/session.js';
import { runTrainJob, testMetrics } from '../api/train-job.js';
import { combineModels, combineSummary } from '../api/combine.js';
import type { CombinedInfo, PrisModel } from '../api/model.js';
import { withModels } from '../api/load.js';
import { loadDataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { inScope, resolveConfig, type ConfigPatch, type SetOverride } from './config.js';
import type { PaperRef } from './paper.js';
import type { RunSpec, Study } from './studies.js';

/** The part of metrics.json an experiment keeps (see src/train/train.ts runSummary and src/api/train-job.ts). */
export interface RunMetrics {
  test: Record<string, number>;
  valid?: Record<string, number>;
  best_epoch?: number;
  epochs_run: number;
  train_seconds: number;
  eval_seconds: number;
  positives_per_second: number;
  draws_per_negative: number;
  clustering?: Record<string, number>;
  /** --history-weight: the weight the model was served with (auto: the one its validation chose) */
  history_weight?: number;
  /** a combination (pris combine): the second part's share, chosen on validation */
  combine_weight?: number;
  /** a refit: the SGD seconds of the validated run that chose its epochs (valid and best_epoch are that run's) */
  selection_seconds?: number;
  history: EpochStats[];
}

export interface RunRecord {
  name: string;
  series: string;
  x: number | string;
  seed: number;
  status: 'ok' | 'failed';
  error?: string;
  /** the whole job: loading, SGD, validation, test evaluation, saving */
  wall_seconds: number;
  config: TrainConfig;
  paper?: PaperRef;
  metrics?: RunMetrics;
}

export interface PlannedRun {
  spec: RunSpec;
  seed: number;
  config: TrainConfig;
}

export interface PlanOptions {
  seeds: number[];
  threads: number;
  flags: ConfigPatch;
  sets: SetOverride[];
}

/**
 * Every (configuration, seed) pair with its resolved config, configuration-
 * major. Resolving them all before the first run means a bad --set fails at
 * once instead of an hour in.
 */
export function planRuns(study: Study, specs: RunSpec[], o: PlanOptions): PlannedRun[] {
  // A scope that matches nothing is most likely a typo: say so rather than run without it.
  for (const s of o.sets) {
    if (s.scope && !specs.some((r) => inScope(s, r.series, r.x))) {
      const names = [...new Set(specs.flatMap((r) => [r.series, String(r.x)]))];
      throw new UserError(`--set ${s.text}: no series or configuration of the ${study.name} study is called '${s.scope}' (scopes: ${names.join(', ')})`);
    }
  }
  return specs.flatMap((spec) =>
    o.seeds.map((seed) => ({
      spec,
      seed,
      config: resolveConfig({
        threads: o.threads,
        studyDefaults: study.defaults,
        flags: o.flags,
        sets: o.sets,
        vary: { ...spec.vary, seed },
        series: spec.series,
        x: spec.x,
      }),
    })),
  );
}

function pick(m: Record<string, unknown>): RunMetrics {
  const out: RunMetrics = {
    test: m.test as Record<string, number>,
    epochs_run: m.epochs_run as number,
    train_seconds: m.train_seconds as number,
    eval_seconds: m.eval_seconds as number,
    positives_per_second: m.positives_per_second as number,
    draws_per_negative: m.draws_per_negative as number,
    history: m.history as EpochStats[],
  };
  if (m.valid) out.valid = m.valid as Record<string, number>;
  if (m.best_epoch !== undefined) out.best_epoch = m.best_epoch as number;
  if (m.clustering) out.clustering = m.clustering as Record<string, number>;
  if (m.history_weight !== undefined) out.history_weight = m.history_weight as number;
  return out;
}

export interface RunAllOptions {
  dataset: string;
  /** model directories go here, one per run (removed after the run unless keepModels) */
  workDir: string;
  keepModels: boolean;
  /** the training's own output: per-epoch lines, or nothing */
  progress: 'lines' | 'quiet';
  /** each run chooses the epochs on validation, then a refit on train + valid for that many is tested */
  refit?: boolean;
  /** after every run, with all records so far (the results are rewritten each time) */
  onRecord: (records: RunRecord[]) => Promise<void>;
  log: (text: string) => void;
}

function label(p: PlannedRun, seeds: number): string {
  return seeds > 1 ? `${p.spec.name} seed ${p.seed}` : p.spec.name;
}

function summary(r: RunRecord): string {
  if (r.status === 'failed') return `FAILED: ${r.error}`;
  const m = r.metrics!;
  const k = r.config.k[0];
  const parts = [`ndcg@${k} ${m.test[`ndcg@${k}`]?.toFixed(4)}`, `recall@${k} ${m.test[`recall@${k}`]?.toFixed(4)}`];
  if (m.combine_weight !== undefined) return [...parts, `weight ${m.combine_weight}`, `${m.train_seconds.toFixed(1)} s SGD of the parts`].join(', ');
  if (m.best_epoch !== undefined) parts.push(`best epoch ${m.best_epoch}`);
  parts.push(`${m.train_seconds.toFixed(1)} s SGD`, `${Math.round(m.positives_per_second).toLocaleString('en-US')} pos/s`);
  return parts.join(', ');
}

/** A configuration's models that a combination of the study needs: the validated run's, and the one tested (the refit, or the same). */
interface KeptModels {
  valid: string;
  tested: string;
  metrics: RunMetrics;
}

export async function runAll(plan: PlannedRun[], o: RunAllOptions): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const seeds = new Set(plan.map((p) => p.seed)).size;
  const parts = new Set(plan.flatMap((p) => p.spec.combine ?? []));
  const kept = new Map<string, KeptModels>();
  const keyOf = (name: string, seed: number) => `${name}@${seed}`;
  try {
    for (const [i, p] of plan.entries()) {
      const head = `[${i + 1}/${plan.length}] ${label(p, seeds)}`;
      // With per-epoch lines in between, the result gets a line of its own.
      if (o.progress === 'lines') o.log(`${head} ...\n`);
      else o.log(`${head} ... `);
      const out = path.join(o.workDir, `run-${i + 1}`);
      const base = { name: p.spec.name, series: p.spec.series, x: p.spec.x, seed: p.seed, config: configOf(p, plan), ...(p.spec.paper ? { paper: p.spec.paper } : {}) };
      const t0 = performance.now();
      const keep = parts.has(p.spec.name);
      let record: RunRecord;
      try {
        const metrics = p.spec.combine
          ? await combineRun(p.spec.combine.map((name) => kept.get(keyOf(name, p.seed))), p.spec.combine, out, configOf(p, plan), o)
          : await trainRun(p, out, keep && o.refit ? `${out}-valid` : out, o);
        record = { ...base, status: 'ok', wall_seconds: (performance.now() - t0) / 1000, metrics: metrics.metrics };
        if (keep) kept.set(keyOf(p.spec.name, p.seed), metrics);
      } catch (e) {
        record = { ...base, status: 'failed', error: e instanceof Error ? e.message : String(e), wall_seconds: (performance.now() - t0) / 1000 };
      } finally {
        // A combination's parts stay until the study ends (a failed one has nothing to give).
        if (!o.keepModels && !kept.has(keyOf(p.spec.name, p.seed))) removeRun(out);
      }
      records.push(record);
      o.log(`${o.progress === 'lines' ? `${head}: ` : ''}${summary(record)} (${record.wall_seconds.toFixed(1)} s)\n`);
      await o.onRecord(records);
    }
  } finally {
    if (!o.keepModels) for (const m of kept.values()) removeRun(m.tested);
  }
  return records;
}

/** What a run's row shows as its configuration: a combination's is its first part's, at the combined dimension. */
function configOf(p: PlannedRun, plan: PlannedRun[]): TrainConfig {
  if (!p.spec.combine) return p.config;
  const [a, b] = p.spec.combine.map((name) => plan.find((q) => q.spec.name === name && q.seed === p.seed)?.config);
  return a && b ? { ...a, dim: a.dim + b.dim } : p.config;
}

function removeRun(out: string): void {
  rmSync(out, { recursive: true, force: true });
  rmSync(`${out}-valid`, { recursive: true, force: true });
}

/** One configuration: trained with validation into `validOut`, then (a refit study) refit on train + valid into `out`. */
async function trainRun(p: PlannedRun, out: string, validOut: string, o: RunAllOptions): Promise<KeptModels> {
  // The study owns workDir (a part of its own output): an earlier study's model there is replaced.
  const train = (given: TrainConfig, dir: string) => runTrainJob({ dataset: o.dataset, out: dir, given, checkpointEvery: 0, resume: false, force: true, progress: o.progress, log: (line) => o.log(line + '\n') });
  const first = await train(p.config, validOut);
  const v = pick(first.metrics);
  if (!o.refit) return { valid: validOut, tested: validOut, metrics: v };
  if (v.best_epoch === undefined) throw new UserError('a refit needs the epochs chosen on validation, and this run did not validate (eval-every 0 or an empty validation split)');
  // --history-weight auto was resolved on validation too: the refit takes the weight chosen.
  const historyWeight = first.config.historyWeight;
  o.log(`validated: best epoch ${v.best_epoch}${historyWeight !== 0 ? `, history weight ${historyWeight}` : ''}; refit on train + valid ... `);
  const r = pick((await train({ ...p.config, epochs: v.best_epoch, trainOn: 'train+valid', evalEvery: 0, patience: 0, historyWeight }, out)).metrics);
  return { valid: validOut, tested: out, metrics: { ...r, best_epoch: v.best_epoch, ...(v.valid ? { valid: v.valid } : {}), selection_seconds: v.train_seconds, history: v.history } };
}

/**
 * A combination (pris combine): the weight chosen on the parts' validated
 * models, then their tested models (the refits) combined with it into `out`
 * and tested as pris train tests. Its SGD seconds, epochs and positives are
 * the parts' together; its validation score is the combination's at the
 * weight kept (on models already blended by --history-weight, where a part's
 * own `valid` is early stopping's score before the blend).
 */
async function combineRun(models: (KeptModels | undefined)[], names: readonly string[], out: string, config: TrainConfig, o: RunAllOptions): Promise<KeptModels> {
  const [a, b] = models;
  if (!a || !b) throw new UserError(`combines ${names.join(' and ')}, and ${names[a ? 1 : 0]} did not train`);
  const ds = loadDataset(o.dataset);
  const opts = { dataset: ds, threads: config.threads };
  const validOut = `${out}-valid`;
  const refit = a.tested !== a.valid;
  // The combination is tested in memory, before it is saved: the one tested is the one kept.
  const chosen = await withModels([a.valid, b.valid], opts, async ([va, vb]) => combineSaveTest(await combineModels(va!, vb!, { weight: 'auto', ...opts }), [a.valid, b.valid], validOut, !refit));
  if (!refit) return { valid: validOut, tested: validOut, metrics: metricsOf(chosen.test!, chosen.combined) };
  const weight = chosen.combined.weight;
  o.log(`weight ${weight} chosen on validation; the tested models combined ... `);
  const final = await withModels([a.tested, b.tested], opts, async ([ta, tb]) => combineSaveTest(await combineModels(ta!, tb!, { weight, ...opts }), [a.tested, b.tested], out, true));
  return { valid: validOut, tested: out, metrics: metricsOf(final.test!, chosen.combined) };

  /** Tests the combined model (when asked), saves it, closes it. */
  async function combineSaveTest(m: PrisModel, parts: string[], dir: string, test: boolean) {
    try {
      const t = test ? await testMetrics(m, ds, m.config, { log: () => {}, progress: 'quiet', out: dir }) : undefined;
      await m.save(dir, { ...combineSummary(parts, m.info.combined!), ...t }, { force: true });
      return { combined: m.info.combined!, test: t };
    } finally {
      await m.close();
    }
  }

  /** The study's row: the test of the model kept, the parts' SGD together, validation the combination's at the weight `c` chose. */
  function metricsOf(test: Record<string, unknown>, c: CombinedInfo): RunMetrics {
    const [ma, mb] = [a!.metrics, b!.metrics];
    const positives = (m: RunMetrics) => m.positives_per_second * m.train_seconds;
    const sum = (f: (m: RunMetrics) => number) => f(ma) + f(mb);
    return {
      test: test.test as Record<string, number>,
      valid: { [`ndcg@${c.valid_k!}`]: c.weight_valid![String(c.weight)]! },
      epochs_run: sum((m) => m.epochs_run),
      train_seconds: sum((m) => m.train_seconds),
      eval_seconds: test.test_eval_seconds as number,
      positives_per_second: sum(positives) / sum((m) => m.train_seconds),
      draws_per_negative: sum((m) => m.draws_per_negative * positives(m)) / sum(positives),
      combine_weight: c.weight,
      ...(o.refit ? { selection_seconds: sum((m) => m.selection_seconds ?? 0) } : {}),
      history: [],
    };
  }
}
