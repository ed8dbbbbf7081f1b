import { onInterrupt, signalExitCode } from '../util/atomic.js';

/**
 * The first SIGINT, SIGTERM or SIGHUP aborts the returned signal (the long
 * work stops at its next step and the command keeps what it has) and is
 * remembered for the exit code, the shell's 128 + signal; a second one quits
 * at once (src/util/atomic.ts removes the temporaries).
 */
export function interruptible(what: string): { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void } {
  const controller = new AbortController();
  let code: number | undefined;
  const dispose = onInterrupt((sig) => {
    code = signalExitCode(sig);
    process.stderr.write(`\n${sig}: ${what} (send it again to quit at once)\n`);
    controller.abort();
  });
  return { signal: controller.signal, exitCode: () => code, dispose };
}
