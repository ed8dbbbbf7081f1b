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
 * then src/train/options.ts fills the rest: unless a layer sets them, the
 * learning rate follows the optimizer and clusterSync is on only with one
 * thread, exactly as in `pris train`.
 */
import { findOption, parseValue, resolveTrainConfig, TRAIN_OPTIONS, type OptionKey, type TrainConfig } from '../train/options.js';
import { UserError } from '../errors.js';

export type ConfigKey = OptionKey;
export type ConfigPatch = Partial<TrainConfig>;

/** Every TrainConfig field, for --set and for the CSV columns. */
export const CONFIG_KEYS: ConfigKey[] = TRAIN_OPTIONS.map((o) => o.key);

export interface SetOverride {
  /** only runs whose series or axis value equals this (case-insensitive); all runs when absent */
  scope?: string;
  key: ConfigKey;
  value: TrainConfig[ConfigKey];
  /** as typed, for messages */
  text: string;
}

/** Parses one `--set [scope:]key=value`: the key is a flag, alias or config name of src/train/options.ts, the value checked there. */
export function parseSet(text: string): SetOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--set takes key=value (got '${text}')`);
  const lhs = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  const colon = lhs.lastIndexOf(':');
  const scope = colon > 0 ? lhs.slice(0, colon).trim() : undefined;
  const name = colon > 0 ? lhs.slice(colon + 1).trim() : lhs;
  const option = findOption(name);
  if (!option) throw new UserError(`--set ${text}: unknown setting '${name}' (known: ${CONFIG_KEYS.join(', ')})`);
  let value: TrainConfig[ConfigKey];
  try {
    value = parseValue(option, raw);
  } catch (e) {
    throw new UserError(`--set ${text}: ${(e as Error).message}`);
  }
  return { ...(scope ? { scope } : {}), key: option.key, value, text };
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

/** The run's validated config (a UserError names the bad flag); lr and clusterSync follow optimizer and threads unless a layer sets them. */
export function resolveConfig(l: RunLayers): TrainConfig {
  const applied: ConfigPatch = {};
  const global = l.sets.filter((s) => !s.scope);
  const scoped = l.sets.filter((s) => s.scope && inScope(s, l.series, l.x));
  for (const s of [...global, ...scoped]) (applied as Record<string, unknown>)[s.key] = s.value;
  return resolveTrainConfig({ threads: l.threads, ...l.studyDefaults, ...l.flags, ...applied, ...l.vary });
}

/** --set keys that a study's runs override anyway: worth a note, since the user's value is ignored there. */
export function shadowedSets(sets: SetOverride[], varied: Iterable<ConfigKey>): SetOverride[] {
  const v = new Set(varied);
  return sets.filter((s) => v.has(s.key));
}
