import type { Argv } from 'yargs';

/** Registers the `train` command(s). */
export function registerTrainCommands(y: Argv): Argv {
  return y;
}
