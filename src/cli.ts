#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isUserError, osUserError, UserError } from './errors.js';
import { registerCommands } from './cli/commands.js';

/**
 * The `pris` command line. User mistakes (bad flags, malformed input) print one
 * line and exit 2; a crash inside pris prints its stack and exits 1.
 */
export async function main(argv: string[]): Promise<number> {
  let parser: Argv = yargs(argv)
    .scriptName('pris')
    .usage('$0 <command> [options]\n\nPersonalized Ranking with Importance Sampling: train item-recommendation embeddings from implicit feedback on every CPU core.')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs calls this for its own validation (msg) and for handler errors (err).
      if (err) throw err;
      throw new UserError(`${msg}\nRun 'pris --help' (or 'pris <command> --help') for usage.`);
    });
  parser = registerCommands(parser, argv).middleware(refuseRepeatedFlags as never);
  try {
    await parser.parseAsync();
    return 0;
  } catch (e) {
    const user = isUserError(e) ? e : osUserError(e);
    if (user) {
      process.stderr.write(`pris: ${user.message}\n`);
      return user.exitCode;
    }
    process.stderr.write(`pris: internal error (please report):\n${e instanceof Error ? e.stack : String(e)}\n`);
    return 1;
  }
}

/** Flags that take several values by repeating (`--k 10 --k 50`, `--items a,b --items c`); any other flag given twice is a mistake. */
const REPEATABLE = new Set(['k', 'users', 'items', 'set', 'skip']);

/**
 * yargs turns a flag given twice into an array, which the command would only
 * trip over later (at save time, after the training): `--out a --out b` is
 * refused here, before any work.
 */
function refuseRepeatedFlags(argv: Record<string, unknown>, y: { getOptions(): { array: string[]; alias: Record<string, string[]> } }): void {
  const { array, alias } = y.getOptions();
  const aliases = new Set(Object.values(alias).flat());
  for (const [key, value] of Object.entries(argv)) {
    if (!Array.isArray(value) || key === '_' || REPEATABLE.has(key) || array.includes(key) || aliases.has(key) || /[A-Z]/.test(key)) continue;
    throw new UserError(`--${key} was given ${value.length} times (${value.map((v) => `'${String(v)}'`).join(', ')}); give it once`);
  }
}

/** True when this file is the program (also through npm's bin symlink), false when imported. */
function invokedDirectly(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // `pris ... | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(hideBin(process.argv)).then((code) => {
    process.exitCode = code;
  });
}
