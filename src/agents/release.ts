// Releasing an agent after a call, in one place: the console hears that the call ended, then the agent goes into
// wrap-up (ACD), after which they are eligible again by time alone (no timer to lose).
import type { Acd, AgentState } from './acd';
import type { ScreenPopHub } from './hub';

export interface CallEnded {
  outcome: 'answered' | 'abandoned';
  hangupBy: 'caller' | 'agent' | 'system' | null;
  reason?: string;
}

export class AgentRelease {
  constructor(
    private readonly acd: Acd,
    private readonly hub: ScreenPopHub,
    private readonly wrapUpMs: number,
  ) {}

  /** The agent's part of the call is over (the record says so already): tell the console, then wrap-up. */
  async afterCall(agentId: number, callId: string, ended: CallEnded, opts: { wrapMs?: number; now?: number } = {}): Promise<AgentState | null> {
    const now = opts.now ?? Date.now();
    // Not awaited before the wrap-up: the hub and the ACD share one Redis connection, so Redis runs the PUBLISH
    // before the script that frees the agent, and a console on this process has the message already. Any offer
    // the freed agent gets comes after "ended" on every console, one round trip sooner.
    const told = this.hub.publish(agentId, {
      type: 'call.ended',
      callId,
      endedAt: new Date(now).toISOString(),
      outcome: ended.outcome,
      hangupBy: ended.hangupBy,
      ...(ended.reason ? { reason: ended.reason } : {}),
    });
    const [, state] = await Promise.all([told, this.acd.end(agentId, callId, opts.wrapMs ?? this.wrapUpMs, now)]);
    return state;
  }

  /** A call this process lost track of (crash, restart): free the agent it still holds, without a message. */
  async afterLostCall(agentId: number, callId: string, talked: boolean): Promise<void> {
    if (talked) await this.acd.end(agentId, callId, this.wrapUpMs);
    else await this.acd.cancel(agentId, callId);
  }
}
