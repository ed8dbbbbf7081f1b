import type { Argv } from 'yargs';

/** Registers the `data` command(s). */
export function registerDataCommands(y: Argv): Argv {
  return y;
}
