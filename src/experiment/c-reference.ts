/**
 * The C reference of the PRIS hot loop (../shared/bench/hogwild_ref.c): what
 * this machine can do, run beside pris on the same training pairs so a
 * throughput figure is a ratio measured under the same load.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { Csr } from '../data/csr.js';
import { UserError } from '../errors.js';
import { SHARED } from './datasets.js';

export const C_REFERENCE_SOURCE = path.join(SHARED, 'bench', 'hogwild_ref.c');

/** Builds the C reference into `dir` with the build line of the file's header; returns the binary. */
export function buildCReference(dir: string): string {
  if (!existsSync(C_REFERENCE_SOURCE)) {
    throw new UserError(`the C reference ${C_REFERENCE_SOURCE} is missing (../shared beside the repository, or set PRIS_SHARED)`);
  }
  const bin = path.join(dir, 'hogwild_ref');
  try {
    execFileSync('gcc', ['-O3', '-march=native', '-pthread', '-o', bin, C_REFERENCE_SOURCE, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new UserError(`building the C reference with gcc failed: ${err.stderr?.toString().trim() || err.message}`);
  }
  return bin;
}

/** Positives per second of the C loop (its own mean over epochs) on a LightGCN-format training file. */
export function runCReference(bin: string, trainFile: string, threads: number, epochs: number): number {
  const out = execFileSync(bin, [trainFile, String(threads), String(epochs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out.trim().split('\n').pop()!) as { pos_per_s_mean: number }).pos_per_s_mean;
}

/** Writes a CSR as the C loop reads it (LightGCN's `user item item ...` lines, internal indices); users without items are left out. */
export function writeLightGcnLines(csr: Csr, file: string): void {
  const fd = openSync(file, 'wx');
  try {
    const chunk: string[] = [];
    let chars = 0;
    for (let u = 0; u < csr.nUsers; u++) {
      const a = csr.indptr[u]!;
      const b = csr.indptr[u + 1]!;
      if (a === b) continue;
      const line = `${u} ${Array.from(csr.indices.subarray(a, b)).join(' ')}\n`;
      chunk.push(line);
      chars += line.length;
      if (chars > 1 << 22) {
        writeSync(fd, chunk.join(''));
        chunk.length = 0;
        chars = 0;
      }
    }
    if (chunk.length) writeSync(fd, chunk.join(''));
  } finally {
    closeSync(fd);
  }
}
