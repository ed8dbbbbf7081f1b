import type { Argv } from 'yargs';
import { registerDataCommands } from './data.js';
import { registerTrainCommands } from './train.js';
import { registerEvaluateCommands } from './evaluate.js';
import { registerRecommendCommands } from './recommend.js';

/**
 * The command tree. Each group of commands lives in its own module under
 * src/cli/ and is registered here, so `pris --help` lists them in one place.
 */
export function registerCommands(y: Argv): Argv {
  return registerRecommendCommands(registerEvaluateCommands(registerTrainCommands(registerDataCommands(y))));
}
