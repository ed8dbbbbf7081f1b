import type { Argv } from 'yargs';

/**
 * The command tree. Each command lives in its own module under src/cli/ and is
 * registered here, so `pris --help` lists them all in one place.
 */
export function registerCommands(y: Argv): Argv {
  return y;
}
