/**
 * The piscina worker entry: thin, it only points at the dispatcher in
 * src/pool/worker.ts (compiled to dist/src), which adopts the pool's arena and
 * runs each typed call.
 */
export { default } from '../src/pool/worker.js';
