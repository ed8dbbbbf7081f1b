import { UserError } from '../errors.js';

/**
 * Flag values shared by several commands, checked the same way everywhere:
 * a bad value is a UserError naming the flag.
 */

/** Lists longer than this are a typo, not a ranking (and would allocate per-thread buffers of that size). */
export const MAX_K = 100_000;

export function parseK(x: unknown): number {
  const k = Number(x);
  if (!Number.isInteger(k) || k < 1) throw new UserError(`--k must be a positive integer (got '${String(x)}')`);
  if (k > MAX_K) throw new UserError(`--k ${k} is too large (at most ${MAX_K})`);
  return k;
}

/** `--k 10 --k 50` or `--k 10,50` (a string flag: repeats arrive as an array). */
export function parseKs(v: unknown): number[] {
  const list = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter((x) => x.trim() !== '');
  if (list.length === 0) throw new UserError('--k needs a value, e.g. --k 50 or --k 10,20,50');
  return list.map(parseK);
}

/** A whole number >= min for `--name` (yargs gives NaN for a non-number; parseArgs an empty string). */
export function parseCount(name: string, v: unknown, min = 1): number {
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isInteger(n) || n < min) throw new UserError(`--${name} must be an integer >= ${min} (got '${String(v)}')`);
  return n;
}

/** A comma-separated list of whole numbers >= min for `--name`: `--threads 1,2,4`. */
export function parseCountList(name: string, v: string, min = 1): number[] {
  return v.split(',').map((x) => {
    const n = Number(x);
    if (x.trim() === '' || !Number.isInteger(n) || n < min) throw new UserError(`--${name} takes integers >= ${min}, comma-separated (got '${v}')`);
    return n;
  });
}
