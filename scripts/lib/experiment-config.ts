/**
 * How an experiment run's TrainConfig is put together, in layers (later wins):
 *
 *   DEFAULTS + threads       pris train's defaults
 *   study defaults           e.g. the optimizers study validates every epoch
 *   command line             --epochs, --threads
 *   --set key=value          the user's overrides for every run
 *   --set scope:key=value    ... for the runs of one series or axis value (e.g. bpr:reg=0.5)
 *   the run's own values     what the study varies (sampler, L, d, K, ...) and the seed
 *
 * then, unless set explicitly, the learning rate follows the optimizer
 * (DEFAULT_LR, as in `pris train`) and clusterSync is on only with one thread
 * (also as in `pris train`: a one-thread run stays reproducible).
 */
import { DEFAULT_LR } from '../../src/kernels/codes.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../../src/train/config.js';
import { UserError } from '../../src/errors.js';

export type ConfigKey = keyof TrainConfig;
export type ConfigPatch = Partial<TrainConfig>;

/** Every TrainConfig field, for --set and for the CSV columns. */
export const CONFIG_KEYS: ConfigKey[] = [...(Object.keys(DEFAULTS) as ConfigKey[]), 'threads'];

export interface SetOverride {
  /** only runs whose series or axis value equals this (case-insensitive); all runs when absent */
  scope?: string;
  key: ConfigKey;
  value: TrainConfig[ConfigKey];
  /** as typed, for messages */
  text: string;
}

/** `batch-size` and `batchSize` both name TrainConfig.batchSize (the CLI spells flags in kebab case). */
function configKey(name: string): ConfigKey | undefined {
  const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return CONFIG_KEYS.find((k) => k === camel);
}

function parseValue(key: ConfigKey, raw: string, text: string): TrainConfig[ConfigKey] {
  if (key === 'reg' && raw === 'auto') return 'auto';
  const sample = key === 'threads' || key === 'reg' ? 1 : DEFAULTS[key];
  if (Array.isArray(sample)) {
    const list = raw.split(',').map((x) => Number(x.trim()));
    if (list.length === 0 || list.some((x) => !Number.isFinite(x))) throw new UserError(`--set ${text}: ${key} takes comma-separated numbers`);
    return list;
  }
  if (typeof sample === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new UserError(`--set ${text}: ${key} takes a number (got '${raw}')`);
    return n;
  }
  if (typeof sample === 'boolean') {
    const v = raw.toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    throw new UserError(`--set ${text}: ${key} takes true or false (got '${raw}')`);
  }
  // Strings (loss, sampler, optimizer, ...) are checked by validateConfig with its allowed values.
  return raw as TrainConfig[ConfigKey];
}

/** Parses one `--set [scope:]key=value`. */
export function parseSet(text: string): SetOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--set takes key=value (got '${text}')`);
  const lhs = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  const colon = lhs.lastIndexOf(':');
  const scope = colon > 0 ? lhs.slice(0, colon).trim() : undefined;
  const name = colon > 0 ? lhs.slice(colon + 1).trim() : lhs;
  const key = configKey(name);
  if (!key) throw new UserError(`--set ${text}: unknown setting '${name}' (known: ${CONFIG_KEYS.join(', ')})`);
  return { ...(scope ? { scope } : {}), key, value: parseValue(key, raw, text), text };
}

export interface RunLayers {
  threads: number;
  studyDefaults: ConfigPatch;
  flags: ConfigPatch;
  sets: SetOverride[];
  /** what the study varies for this run, plus its seed */
  vary: ConfigPatch;
  /** the run's series and axis value, matched against scoped --set */
  series: string;
  x: string | number;
}

export function inScope(s: SetOverride, series: string, x: string | number): boolean {
  if (!s.scope) return true;
  const scope = s.scope.toLowerCase();
  return scope === series.toLowerCase() || scope === String(x).toLowerCase();
}

/** The run's validated config (a UserError names the bad flag). */
export function resolveConfig(l: RunLayers): TrainConfig {
  const applied: ConfigPatch = {};
  const global = l.sets.filter((s) => !s.scope);
  const scoped = l.sets.filter((s) => s.scope && inScope(s, l.series, l.x));
  for (const s of [...global, ...scoped]) (applied as Record<string, unknown>)[s.key] = s.value;
  const c: TrainConfig = { ...DEFAULTS, threads: l.threads, ...l.studyDefaults, ...l.flags, ...applied, ...l.vary };
  const chosen = (k: ConfigKey) => k in applied || k in l.vary || k in l.studyDefaults;
  if (!chosen('lr')) c.lr = DEFAULT_LR[c.optimizer];
  if (!chosen('clusterSync')) c.clusterSync = c.threads === 1;
  return validateConfig(c);
}

/** --set keys that a study's runs override anyway: worth a note, since the user's value is ignored there. */
export function shadowedSets(sets: SetOverride[], varied: Iterable<ConfigKey>): SetOverride[] {
  const v = new Set(varied);
  return sets.filter((s) => v.has(s.key));
}
