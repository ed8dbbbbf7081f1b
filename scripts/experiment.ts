/**
 * The experiments moved into the CLI as `pris experiment <study>`
 * (src/experiment, docs/experiments.md). This alias keeps the commands
 * recorded in docs/results/ runnable: `node dist/scripts/experiment.js
 * <args>` is `pris experiment <args>`.
 */
import { main } from '../src/cli.js';

process.exitCode = await main(['experiment', ...process.argv.slice(2)]);
