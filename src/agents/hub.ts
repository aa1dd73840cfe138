// Screen-pop hub. An agent's console may be connected to any service process, and the call may be handled by
// another one: messages go through Redis pub/sub on a channel per agent; each process subscribes only for the
// agents whose sockets it holds. A console on the publishing process itself gets the message at once, not after a
// round trip through Redis (the pop's hot path); the copy Redis brings back to this process is dropped by its tag.
import { randomUUID } from 'node:crypto';
import type { Redis } from '../infra/redis';
import type { Logger } from '../infra/logger';

export interface AgentSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
}

export type ScreenMessage =
  | {
      type: 'call.offered';
      callId: string;
      callerNumber: string;
      caller: unknown;
      recentCalls: unknown[];
      openCases: unknown[];
      queueWaitMs: number;
      offeredAt: string;
      /** A keep-my-place callback: the resident is dialled once the agent answers. */
      callback?: boolean;
    }
  | { type: 'call.connected'; callId: string; connectedAt: string }
  | { type: 'call.ended'; callId: string; endedAt: string; outcome: string; hangupBy: string | null; reason?: string }
  | { type: 'agent.state'; state: string; reason: string | null; since: number; /** re-created from PostgreSQL after Redis lost it */ restored?: boolean }
  | {
      type: 'transfer.progress';
      callId: string;
      transferId: number | null;
      mode: 'blind' | 'three_way';
      target: string;
      status: 'ringing' | 'answered' | 'failed' | 'completed' | 'left';
      reason?: string;
    };

export class ScreenPopHub {
  private readonly sockets = new Map<number, Set<AgentSocket>>();
  /** Heads every message this process publishes ("<origin>\n<json>"; JSON text never holds a raw newline). */
  private readonly origin = randomUUID();

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.sub.on('message', (channel: string, message: string) => this.deliverLocal(channel, message));
  }

  private channel(agentId: number): string {
    return `${this.prefix}:pop:${agentId}`;
  }

  async attach(agentId: number, socket: AgentSocket): Promise<void> {
    let set = this.sockets.get(agentId);
    if (!set) {
      set = new Set();
      this.sockets.set(agentId, set);
      await this.sub.subscribe(this.channel(agentId));
    }
    set.add(socket);
  }

  async detach(agentId: number, socket: AgentSocket): Promise<void> {
    const set = this.sockets.get(agentId);
    if (!set) return;
    set.delete(socket);
    if (set.size === 0) {
      this.sockets.delete(agentId);
      await this.sub.unsubscribe(this.channel(agentId));
    }
  }

  /** Sends to every console of the agent, wherever it is connected. Resolves with how many processes got it. */
  async publish(agentId: number, msg: ScreenMessage): Promise<number> {
    const text = JSON.stringify(msg);
    const local = this.sockets.get(agentId);
    if (local) send(local, text);
    try {
      return await this.pub.publish(this.channel(agentId), `${this.origin}\n${text}`);
    } catch (err) {
      // Redis down: a console on another process misses it but the call itself goes on; it re-syncs via GET
      // /api/agents/me. A console on this process already has it.
      this.logger.warn({ err: (err as Error).message, agentId, type: msg.type, local: Boolean(local) }, 'screen pop not delivered to other processes');
      return local ? 1 : 0;
    }
  }

  connectedAgents(): number[] {
    return [...this.sockets.keys()];
  }

  closeAll(): void {
    for (const set of this.sockets.values()) for (const s of set) s.close(1001, 'server shutting down');
    this.sockets.clear();
  }

  private deliverLocal(channel: string, message: string): void {
    const nl = message.indexOf('\n');
    if (nl >= 0 && message.slice(0, nl) === this.origin) return; // sent by publish() already
    const id = Number(channel.slice(channel.lastIndexOf(':') + 1));
    const set = this.sockets.get(id);
    if (set) send(set, nl >= 0 ? message.slice(nl + 1) : message);
  }
}

function send(sockets: Set<AgentSocket>, text: string): void {
  for (const s of sockets) if (s.readyState === 1) s.send(text);
}
