import type { Argv, Options } from 'yargs';
import { UserError } from '../errors.js';
import { checkValue, parseValue, resolveTrainConfig, TRAIN_OPTIONS, type OptionSpec, type TrainConfig } from '../index.js';

/**
 * The training options as yargs flags, derived from the one table in
 * src/train/options.ts: names, aliases, types, choices, help and defaults are
 * never written twice. No yargs defaults are set, so an option the user did
 * not give takes the table's default (or its derived one) in
 * resolveTrainConfig; --help shows them.
 */
function flagOf(o: OptionSpec): Options {
  const base: Options = {
    // An option whose default is a number but which also takes auto says what auto does.
    describe: 'auto' in o && o.auto && o.default !== 'auto' ? `${o.help}; auto: ${o.auto.help}` : o.help,
    group: `Training (${o.group}):`,
    ...(o.aliases ? { alias: o.aliases } : {}),
    defaultDescription: o.deriveHelp ?? (Array.isArray(o.default) ? o.default.join(',') : o.default === 'auto' && 'auto' in o ? `auto: ${o.auto!.help}` : String(o.default)),
  };
  switch (o.type) {
    case 'int':
    case 'number':
      // A number or 'auto': parsed by the table (parseValue), not by yargs.
      return { ...base, type: o.auto ? 'string' : 'number', requiresArg: true };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'choice':
      return { ...base, type: 'string', choices: o.choices as string[], requiresArg: true };
    case 'intList':
      return { ...base, type: 'string', requiresArg: true };
  }
}

/** The training options as flags; those in `except` are left to the command (pris tune searches lr, reg, dim, sampler). */
export function addTrainOptions<T>(y: Argv<T>, except: ReadonlySet<string> = new Set()): Argv<T> {
  let out = y;
  for (const o of TRAIN_OPTIONS) if (!except.has(o.key)) out = out.option(o.flag, flagOf(o)) as Argv<T>;
  return out;
}

/** The options the user gave on the command line, checked one by one (the rest is left to the defaults). */
export function givenTrainOptions(argv: Record<string, unknown>, except: ReadonlySet<string> = new Set()): Partial<TrainConfig> {
  const given: Record<string, unknown> = {};
  for (const o of TRAIN_OPTIONS) {
    if (except.has(o.key)) continue;
    const v = argv[o.flag];
    if (v === undefined) continue;
    if (o.type === 'intList') {
      // `--k 10 --k 50` or `--k 10,50`
      given[o.key] = parseValue(o, (Array.isArray(v) ? v : [v]).map(String).join(','));
    } else if (Array.isArray(v)) {
      throw new UserError(`--${o.flag} was given ${v.length} times; give it once`);
    } else if (typeof v === 'string' && (o.type === 'int' || o.type === 'number')) {
      // a number or auto
      given[o.key] = parseValue(o, v);
    } else if ((o.type === 'int' || o.type === 'number') && Number.isNaN(v)) {
      throw new UserError(`--${o.flag} must be a number`);
    } else {
      given[o.key] = checkValue(o, v);
    }
  }
  return given as Partial<TrainConfig>;
}

/** The whole configuration from the command line: what was given, checked, and the defaults. */
export function trainConfigFromArgs(argv: Record<string, unknown>): TrainConfig {
  return resolveTrainConfig(givenTrainOptions(argv));
}
