import type { Argv } from 'yargs';

/** Registers the `evaluate` command(s). */
export function registerEvaluateCommands(y: Argv): Argv {
  return y;
}
