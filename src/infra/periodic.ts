// A background job run every intervalMs that never overlaps itself: a tick that comes while a run is going is
// skipped. A failed run is reported and the job goes on; stop() waits for the run in progress.
export interface Periodic {
  start(): void;
  stop(): Promise<void>;
  /** The run in progress, if any. */
  readonly current: Promise<void> | null;
}

export function periodic(run: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void): Periodic {
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;
  function tick(): void {
    if (current) return;
    current = run()
      .then(() => undefined, onError)
      .finally(() => {
        current = null;
      });
  }
  return {
    start(): void {
      timer ??= setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await current;
    },
    get current() {
      return current;
    },
  };
}
