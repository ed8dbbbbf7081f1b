/**
 * The piscina worker entry: thin, it only names the task functions that live in
 * src/ (compiled to dist/src). The coordinator picks one per task with `{ name }`.
 */
export { evalTask as evaluate } from '../src/eval/eval-task.js';
