/**
 * What every script in scripts/ shares at its edges: flag parsing with
 * --help, and an entry point that prints a user's mistake as one line
 * (no stack trace) with a non-zero exit, as the pris CLI does. Flag values
 * are checked with the CLI's own parsers (src/cli/args.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { jsonOutputKind, type OutputKind } from '../../src/util/output.js';
import { isUserError, osUserError, UserError } from '../../src/errors.js';

/**
 * node:util parseArgs over process.argv, strict. `--help`/`-h` prints the
 * usage and exits 0; an unknown or malformed option becomes a UserError
 * carrying the usage (parseArgs throws TypeErrors for them: a user mistake,
 * not a bug).
 */
export function scriptArgs<T extends Omit<ParseArgsConfig, 'args'>>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    process.exit(0);
  }
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs<T>({ ...config, args: argv });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${usage}`);
  }
  refuseRepeated(argv, config);
  return parsed;
}

/**
 * parseArgs keeps the last of a flag given twice (`--out a --out b` writes
 * to b without a word): refused, except for the flags meant to repeat
 * (`multiple: true`, such as --set and --skip).
 */
function refuseRepeated(argv: string[], config: Omit<ParseArgsConfig, 'args'>): void {
  const { tokens } = parseArgs({ ...config, args: argv, tokens: true });
  const seen = new Map<string, number>();
  for (const tok of tokens ?? []) {
    if (tok.kind !== 'option' || config.options?.[tok.name]?.multiple) continue;
    const n = (seen.get(tok.name) ?? 0) + 1;
    seen.set(tok.name, n);
    if (n === 2) throw new UserError(`--${tok.name} was given more than once; give it once`);
  }
}

/** Exits as runScript does for an error that escaped a script. */
function exitWith(name: string, e: unknown): never {
  const user = isUserError(e) ? e : osUserError(e);
  process.stderr.write(user ? `${name}: ${user.message}\n` : `${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(user ? user.exitCode : 1);
}

/**
 * For flags read at module top level, outside main: runs `parse` and ends
 * the process on a UserError as runScript would, instead of an uncaught
 * exception's stack trace.
 */
export function readFlags<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    exitWith(name, e);
  }
}

/**
 * The file output kind of a benchmark's JSON result (src/util/output.ts):
 * the file says `"pris_output": "<script>"`; one written before that is
 * recognised by `legacy`.
 */
export function benchOutputKind(script: string, legacy: (json: Record<string, unknown>) => boolean = (j) => String(j.command ?? '').startsWith(`node dist/scripts/${script}.js`)): OutputKind {
  return jsonOutputKind(script, `a ${script} result`, legacy);
}

/**
 * Runs a script's main and exits with its code. A UserError prints
 * `<name>: message` and exits with its code; anything else is a bug and
 * keeps its stack. The exit is explicit: a run that failed mid-training
 * may have left worker threads behind.
 */
export function runScript(name: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (e: unknown) => exitWith(name, e),
  );
}
