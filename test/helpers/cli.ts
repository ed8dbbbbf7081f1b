import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (tests run after `npm run build`). */
export function pris(args: string[], opts: { cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'src', 'cli.js'), ...args], {
    cwd: opts.cwd ?? root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same entry point in this process (no node start-up): exit code, stdout, stderr. */
export async function prisHere(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const capture = (add: (s: string) => void) =>
    ((chunk: string | Uint8Array) => {
      add(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => (out += s));
  process.stderr.write = capture((s) => (err += s));
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

/** A small CSV with taste groups: users in group g mostly pick items of group g. */
export function groupedCsv(users: number, items: number, perUser: number, groups: number, seed = 1): string {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const lines = ['user,item'];
  const per = Math.floor(items / groups);
  for (let u = 0; u < users; u++) {
    const g = u % groups;
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      const inGroup = rand() < 0.85;
      const it = inGroup ? g * per + Math.floor(rand() * rand() * per) : Math.floor(rand() * items);
      chosen.add(it);
    }
    for (const it of chosen) lines.push(`u${u},i${it}`);
  }
  return lines.join('\n') + '\n';
}
