// Reconnect delays for ARI and AMI: exponential with full-range jitter so several hotline114 processes
// restarting against one Asterisk do not reconnect in lockstep.

export interface BackoffOptions {
  /** First delay (ms). Default 500. */
  initialMs?: number;
  /** Ceiling (ms). Default 30 000. */
  maxMs?: number;
  /** Fraction of the delay that is randomised (0 … 1). Default 0.2. */
  jitter?: number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = Math.max(1, opts.initialMs ?? 500);
    this.maxMs = Math.max(this.initialMs, opts.maxMs ?? 30_000);
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    // Cap the exponent so 2 ** attempt never overflows after days of retrying.
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    const spread = base * this.jitter;
    return Math.max(1, Math.round(base - spread + Math.random() * 2 * spread));
  }

  reset(): void {
    this.attempt = 0;
  }
}
