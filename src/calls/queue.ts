// Callers of this process waiting for an agent, oldest first. A caller whose offer failed goes back with the
// original enqueue time, so they keep their place at the front.
import type { Call } from './call';

export class WaitingQueue {
  private readonly calls = new Set<Call>();

  add(call: Call): void {
    this.calls.add(call);
  }

  remove(call: Call): void {
    this.calls.delete(call);
  }

  has(call: Call): boolean {
    return this.calls.has(call);
  }

  ordered(): Call[] {
    return [...this.calls].sort((a, b) => (a.enqueuedAt ?? 0) - (b.enqueuedAt ?? 0) || a.startedAt - b.startedAt);
  }

  /** 1-based position among callers waiting for the same skill. */
  positionOf(call: Call): number {
    let pos = 1;
    for (const c of this.calls) {
      if (c !== call && c.skill === call.skill && ((c.enqueuedAt ?? 0) < (call.enqueuedAt ?? 0) || ((c.enqueuedAt ?? 0) === (call.enqueuedAt ?? 0) && c.startedAt < call.startedAt))) pos++;
    }
    return pos;
  }

  get size(): number {
    return this.calls.size;
  }

  oldestWaitMs(now = Date.now()): number {
    let oldest = now;
    for (const c of this.calls) oldest = Math.min(oldest, c.enqueuedAt ?? now);
    return now - oldest;
  }
}
