// One trigger for rebuilding what Redis should hold from PostgreSQL: whenever the watched connection becomes
// ready (start-up, reconnect — after a restart that may have lost everything), and by a periodic sweep. Runs the
// tasks one after the other; triggers arriving during a run coalesce into one more run. Each task is idempotent
// (several processes may rebuild at once) and owned by its domain (cases/rebuild.ts, agents/rebuild.ts).
import type { Logger } from './logger';
import type { Redis } from './redis';

export interface RebuildTask {
  name: string;
  run(): Promise<object>;
}

export interface RebuildRun {
  reason: string;
  startedAt: Date;
  ms: number;
  results: Record<string, object | { error: string }>;
}

export class Rebuilder {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private pending: string | null = null;
  private stopped = false;
  private readonly onReady = () => this.wake('redis ready');
  /** Completed runs (last one last); tests and logs. */
  readonly runs: RebuildRun[] = [];

  constructor(
    private readonly o: { trigger: Redis; tasks: RebuildTask[]; sweepMs: number; logger: Logger },
  ) {}

  start(): void {
    this.o.trigger.on('ready', this.onReady);
    if (this.o.sweepMs > 0) {
      this.timer = setInterval(() => this.wake('sweep'), this.o.sweepMs);
      this.timer.unref();
    }
    if (this.o.trigger.status === 'ready') this.wake('start');
  }

  /** Run now (or once more after the current run). Never throws. */
  wake(reason: string): void {
    if (this.stopped) return;
    this.pending = reason;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopped) {
      const reason = this.pending;
      this.pending = null;
      const startedAt = new Date();
      const t0 = performance.now();
      const results: RebuildRun['results'] = {};
      for (const task of this.o.tasks) {
        if (this.stopped) return;
        try {
          results[task.name] = await task.run();
        } catch (err) {
          // Redis gone again or PostgreSQL down: the next ready event or sweep tries again.
          results[task.name] = { error: err instanceof Error ? err.message : String(err) };
          this.o.logger.warn({ err, task: task.name, reason }, 'rebuild from PostgreSQL failed');
        }
      }
      const run = { reason, startedAt, ms: Math.round(performance.now() - t0), results };
      this.runs.push(run);
      if (this.runs.length > 20) this.runs.shift();
      this.o.logger.debug(run, 'rebuild from PostgreSQL done');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.o.trigger.off('ready', this.onReady);
    await this.running?.catch(() => undefined);
  }
}
