// periodic(): runs on its interval, never two runs at once, goes on after a failure, stop() waits for the run.
// Jest's fake timers drive the interval, so "ticks came during the run" and "nothing ran after stop" are exact.
import { periodic } from '../../src/infra/periodic';

describe('periodic', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('skips ticks while a run is going, reports a failure and goes on, and stop() waits for the run', async () => {
    let runs = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let release: (() => void) | null = null;
    const errors: unknown[] = [];
    const job = periodic(
      async () => {
        runs++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (runs === 1) throw new Error('first run fails');
          if (runs === 2) await new Promise<void>((r) => (release = r)); // a long run: ticks come meanwhile
        } finally {
          inFlight--;
        }
      },
      10,
      (err) => errors.push(err),
    );
    job.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(runs).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ message: 'first run fails' })]);
    await jest.advanceTimersByTimeAsync(10);
    expect(runs).toBe(2);
    await jest.advanceTimersByTimeAsync(100); // ten ticks during the long run: none starts another
    expect(runs).toBe(2);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(10);
    expect(stopped).toBe(false); // waits for the run in progress
    release!();
    await stopping;
    expect(job.current).toBeNull();
    await jest.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2); // nothing after stop
    expect(maxInFlight).toBe(1);
  });
});
