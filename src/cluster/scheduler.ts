import type { ClusterResult, ClusterTask } from './refresh-task.js';

/** When and how the cluster samplers' clustering is refreshed during a run. */
export interface ClusterSchedule {
  /** refresh after every `every` epochs (never after the last) */
  every: number;
  /** wait for each refresh before the next epoch (reproducible one-thread runs) */
  sync: boolean;
  epochs: number;
  seed: number;
  iterations: number;
  warm: boolean;
  /** joint samplers: fixed temperature, or annealed from 1 to 0.1 over the run */
  temperature: number;
  anneal: boolean;
}

/** Where a schedule stands, for checkpoints: a resumed run continues the same sequence of refreshes. */
export interface SchedulerState {
  round: number;
  skipped: number;
  runs: ClusterResult[];
}

/** Joint clustering's temperature at refresh `round`: fixed, or annealed geometrically from 1 to 0.1 over the run. */
export function jointTemperature(s: ClusterSchedule, round: number): number {
  if (!s.anneal) return s.temperature;
  const rounds = Math.max(1, Math.floor(s.epochs / s.every) - 1);
  return Math.pow(0.1, Math.min(1, (round - 1) / rounds));
}

/**
 * Runs refreshes on the clustering worker between epochs. Asynchronous by
 * default: SGD workers switch to a new version at their next user, and a
 * refresh still running when the next one is due is skipped (counted). A
 * background failure is never left rejected: it is rethrown at the next epoch
 * boundary.
 */
export class ClusterScheduler {
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private st: SchedulerState = { round: 0, skipped: 0, runs: [] };

  constructor(
    private readonly refresh: (task: ClusterTask) => Promise<ClusterResult>,
    private readonly s: ClusterSchedule,
  ) {}

  /** Call after epoch `epoch` finished. */
  async afterEpoch(epoch: number): Promise<void> {
    this.rethrow();
    if (epoch % this.s.every !== 0 || epoch >= this.s.epochs) return;
    if (this.s.sync) {
      this.start();
      await this.running;
      this.rethrow();
    } else if (!this.running) {
      this.start();
    } else {
      this.st.skipped++;
    }
  }

  /** Waits for a refresh in flight (before the model is read whole: evaluation, saving). */
  async drain(): Promise<void> {
    await this.running;
  }

  state(): SchedulerState {
    return { round: this.st.round, skipped: this.st.skipped, runs: [...this.st.runs] };
  }

  restore(st: SchedulerState): void {
    this.st = { round: st.round, skipped: st.skipped, runs: [...st.runs] };
  }

  /** For metrics.json: how much clustering cost. */
  summary(): Record<string, number> | undefined {
    const runs = this.st.runs;
    if (runs.length === 0) return undefined;
    const sum = (f: (r: ClusterResult) => number) => runs.reduce((s, r) => s + f(r), 0);
    return {
      refreshes: runs.length,
      seconds_total: sum((r) => r.seconds),
      seconds_per_refresh: sum((r) => r.seconds) / runs.length,
      wait_seconds_total: sum((r) => r.waitSeconds),
      mean_iterations: sum((r) => r.iterations) / runs.length,
      reseeded_total: sum((r) => r.reseeded),
      ...(runs.some((r) => r.jointLoss !== undefined) ? { joint_loss_last: runs.at(-1)!.jointLoss ?? NaN } : {}),
      refreshes_skipped: this.st.skipped,
    };
  }

  private start(): void {
    const round = ++this.st.round;
    const task: ClusterTask = {
      seed: this.s.seed,
      round,
      iterations: this.s.iterations,
      warm: this.s.warm,
      temperature: jointTemperature(this.s, round),
    };
    this.running = this.refresh(task).then(
      (r) => {
        this.st.runs.push(r);
        this.running = undefined;
      },
      (e: unknown) => {
        this.failure = { error: e };
        this.running = undefined;
      },
    );
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
