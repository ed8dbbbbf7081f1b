/**
 * What every script in scripts/ shares at its edges: flag parsing with
 * --help, and an entry point that prints a user's mistake as one line
 * (no stack trace) with a non-zero exit, as the pris CLI does. Flag values
 * are checked with the CLI's own parsers (src/cli/args.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isUserError, UserError } from '../../src/errors.js';

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
  try {
    return parseArgs<T>({ ...config, args: argv });
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n\n${usage}`);
  }
}

/** Exits as runScript does for an error that escaped a script. */
function exitWith(name: string, e: unknown): never {
  process.stderr.write(isUserError(e) ? `${name}: ${e.message}\n` : `${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(isUserError(e) ? e.exitCode : 1);
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
