import type { Argv } from 'yargs';
import { registerDataCommands } from './data.js';
import { registerTrainCommands } from './train.js';
import { registerEvaluateCommands } from './evaluate.js';
import { registerRecommendCommands } from './recommend.js';
import { registerExperimentCommand } from './experiment.js';
import { registerTuneCommand } from './tune.js';
import { registerCombineCommand } from './combine.js';

/**
 * The command tree. Each group of commands lives in its own module under
 * src/cli/ and is registered here, so `pris --help` lists them in one place.
 * `rawArgs` (the command line as typed) is what a study records.
 */
export function registerCommands(y: Argv, rawArgs: readonly string[]): Argv {
  const commands = registerCombineCommand(registerRecommendCommands(registerEvaluateCommands(registerTrainCommands(registerDataCommands(y)))));
  return registerExperimentCommand(registerTuneCommand(commands, rawArgs), rawArgs);
}
