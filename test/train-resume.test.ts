import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupedCsv, pris } from './helpers/cli.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli.js');
const work = mkdtempSync(path.join(tmpdir(), 'pris-resume-'));
const ds = path.join(work, 'ds');

t.before(() => {
  const csv = path.join(work, 'x.csv');
  writeFileSync(csv, groupedCsv(1500, 600, 20, 6));
  for (const args of [['data', 'import', 'csv', csv, '--header', '--out', ds, '-q'], ['data', 'split', ds, '--seed', '1']]) {
    const r = pris(args);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});

// One thread, a seed, a cluster sampler refreshed synchronously, validation with a best state to keep:
// everything a checkpoint must carry for a resumed run to end bit for bit where an uninterrupted one does.
const RUN = ['--threads', '1', '--seed', '3', '--epochs', '30', '--eval-every', '2', '--patience', '0', '--sampler', 'cluster-popularity', '--clusters', '8', '--dim', '8'];

/** Starts `pris train`, sends `signal` once the log shows epoch `after` (or matches it), resolves with the exit code and stderr. */
function interrupt(out: string, signal: NodeJS.Signals, after: number | RegExp, run = RUN): Promise<{ code: number | null; sig: NodeJS.Signals | null; stderr: string }> {
  const when = typeof after === 'number' ? new RegExp(`^epoch ${after}/`, 'm') : after;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'train', ds, '--out', out, ...run], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr += s;
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('exit', (code, sig) => resolve({ code, sig, stderr }));
  });
}

const bytes = (dir: string) => [readFileSync(path.join(dir, 'user_embeddings.arrow')), readFileSync(path.join(dir, 'item_embeddings.arrow'))];

t.test('SIGINT keeps a checkpoint; --resume ends bit for bit where the uninterrupted run ends', async (t) => {
  const full = path.join(work, 'full');
  const r0 = pris(['train', ds, '--out', full, ...RUN, '-q']);
  t.equal(r0.code, 0, r0.stderr);
  const out = path.join(work, 'int');
  const r1 = await interrupt(out, 'SIGINT', 4);
  t.equal(r1.code, 130, 'the shell convention for SIGINT');
  t.match(r1.stderr, /interrupted after epoch (\d+): checkpoint of epoch \1 in .*; continue with: pris train .* --resume/);
  t.ok(existsSync(path.join(out, 'checkpoint.pris')));
  t.notOk(existsSync(path.join(out, 'user_embeddings.arrow')), 'no model yet: training did not finish');
  const again = pris(['train', ds, '--out', out, ...RUN, '-q']);
  t.equal(again.code, 2);
  t.match(again.stderr, /holds the checkpoint of an interrupted run: continue it with --resume/);
  const r2 = pris(['train', ds, '--out', out, ...RUN, '--resume', '-q']);
  t.equal(r2.code, 0, r2.stderr);
  t.match(r2.stderr, /resuming from epoch \d+/);
  t.same(bytes(out), bytes(full), 'identical embeddings');
  const [a, b] = [full, out].map((d) => JSON.parse(readFileSync(path.join(d, 'metrics.json'), 'utf8')));
  t.same([b.test, b.best_epoch, b.history.length], [a.test, a.best_epoch, a.history.length], 'same metrics, best epoch and history');
  t.notOk(existsSync(path.join(out, 'checkpoint.pris')), 'the checkpoint goes once the model is saved');
});

t.test('SIGTERM exits 143 with a checkpoint; SIGKILL mid-run loses at most the running epoch', async (t) => {
  const term = path.join(work, 'term');
  const r = await interrupt(term, 'SIGTERM', 3);
  t.equal(r.code, 143);
  t.ok(existsSync(path.join(term, 'checkpoint.pris')));
  const killed = path.join(work, 'killed');
  const k = await interrupt(killed, 'SIGKILL', 6);
  t.equal(k.sig, 'SIGKILL');
  t.ok(existsSync(path.join(killed, 'checkpoint.pris')), 'the checkpoint written before the kill survives');
  const resumed = pris(['train', ds, '--out', killed, ...RUN, '--resume', '--json', '-q']);
  t.equal(resumed.code, 0, resumed.stderr);
  const from = Number(/resuming from epoch (\d+)/.exec(resumed.stderr)?.[1]);
  t.ok(from >= 5, `resumed from epoch ${from}: at most the running epoch was lost`);
  t.equal(JSON.parse(resumed.stdout).epochs_run, 30);
});

t.test('SIGINT during the test evaluation: exit 130, the trained model is saved', async (t) => {
  const out = path.join(work, 'during-test');
  const r = await interrupt(out, 'SIGINT', /test evaluation on/, RUN.map((a) => (a === '30' ? '4' : a)));
  t.equal(r.code, 130);
  t.match(r.stderr, /interrupted after training; the model is saved in/);
  t.ok(existsSync(path.join(out, 'item_embeddings.arrow')), 'the model is there');
  t.notOk(existsSync(path.join(out, 'checkpoint.pris')), 'and the checkpoint is gone: the model holds the run');
  const m = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  t.equal(m.epochs_run, 4);
  t.comment(`test_status: ${m.test_status}`);
  // The evaluation of this small model may end before the signal lands; either way nothing is lost.
  t.ok(m.test_status === 'interrupted' || m.test !== null, `test_status ${m.test_status}`);
  const e = pris(['evaluate', out, ds, '--json']);
  t.equal(e.code, 0, e.stderr);
});

t.test('--resume checks: nothing to resume, options that would change the result, options that may change', async (t) => {
  const none = pris(['train', ds, '--out', path.join(work, 'nothing'), ...RUN, '--resume']);
  t.equal(none.code, 2);
  t.match(none.stderr, /--resume: no checkpoint in .*nothing to resume/);
  const out = path.join(work, 'opts');
  const r = await interrupt(out, 'SIGINT', 3);
  t.equal(r.code, 130);
  const changed = pris(['train', ds, '--out', out, ...RUN.slice(0, -2), '--dim', '16', '--resume']);
  t.equal(changed.code, 2);
  t.match(changed.stderr, /--dim 16 differs from the interrupted run's 8/);
  const longer = pris(['train', ds, '--out', out, '--resume', '--epochs', '32', '--json', '-q']);
  t.equal(longer.code, 0, longer.stderr);
  const m = JSON.parse(longer.stdout);
  t.equal(m.epochs_run, 32, 'the options come from the checkpoint; --epochs may grow');
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
  t.same([cfg.dim, cfg.sampler, cfg.seed, cfg.epochs], [8, 'cluster-popularity', 3, 32]);
});
