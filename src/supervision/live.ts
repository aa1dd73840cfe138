// Live calls of every service process, for the supervisors' board: each process publishes a summary of its own
// calls (CallService.registry / stats()) into Redis every second, under a key that expires when the process stops
// publishing (crash, shutdown). Readers merge the summaries of every node whose heartbeat is fresh.
//   <prefix>:sup:nodes        zset  nodeId → last publish (ms)
//   <prefix>:sup:live:<node>  string JSON NodeLive, PX = 5 × the publish period
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { CallService } from '../calls/service';

export interface LiveCall {
  callId: string;
  node: string;
  state: string;
  callerNumber: string;
  /** The agent on the call, or being offered it. */
  agentId: number | null;
  agentChannelId: string | null;
  startedAt: number;
  /** Joined the queue (ms), while waiting for an agent. */
  queuedAt: number | null;
  connectedAt: number | null;
}

export interface NodeLive {
  node: string;
  at: number;
  active: number;
  waiting: number;
  longestWaitMs: number;
  calls: LiveCall[];
}

const NODES_KEY = 'sup:nodes';
const liveKey = (node: string) => `sup:live:${node}`;

/** The summary of one process's calls right now. */
export function snapshot(node: string, calls: CallService, now = Date.now()): NodeLive {
  const s = calls.stats();
  return {
    node,
    at: now,
    active: s.active,
    waiting: s.waiting,
    longestWaitMs: s.longestWaitMs,
    calls: calls.registry.all().map((c) => ({
      callId: c.id,
      node,
      state: c.state,
      callerNumber: c.callerNumber,
      agentId: c.agentId ?? c.offer?.agentId ?? null,
      agentChannelId: c.agentChannelId,
      startedAt: c.startedAt,
      queuedAt: c.state === 'queued' || c.state === 'offering' ? c.enqueuedAt : null,
      connectedAt: c.connectedAt,
    })),
  };
}

export class LivePublisher {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly redis: Redis,
    private readonly node: string,
    private readonly calls: CallService,
    private readonly periodMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.publish(), this.periodMs);
    this.timer.unref();
    void this.publish();
  }

  async publish(): Promise<void> {
    if (this.running || this.redis.status !== 'ready') return;
    this.running = true;
    try {
      const snap = snapshot(this.node, this.calls);
      await this.redis
        .multi()
        .set(liveKey(this.node), JSON.stringify(snap), 'PX', this.periodMs * 5)
        .zadd(NODES_KEY, snap.at, this.node)
        .exec();
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'live call summary not published');
    } finally {
      this.running = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.redis.status !== 'ready') return;
    await this.redis.multi().del(liveKey(this.node)).zrem(NODES_KEY, this.node).exec().catch(() => undefined);
  }
}

/** Every node's live summary (nodes silent for longer than staleMs are dropped). */
export async function readLive(redis: Redis, staleMs = 5000, now = Date.now()): Promise<NodeLive[]> {
  if (redis.status !== 'ready') return [];
  const nodes = await redis.zrangebyscore(NODES_KEY, now - staleMs, '+inf');
  void redis.zremrangebyscore(NODES_KEY, '-inf', now - 10 * staleMs).catch(() => undefined);
  if (!nodes.length) return [];
  const raw = await redis.mget(...nodes.map(liveKey));
  const out: NodeLive[] = [];
  for (const r of raw) {
    if (!r) continue;
    try {
      out.push(JSON.parse(r) as NodeLive);
    } catch {
      // a half-written or foreign value: skip
    }
  }
  return out;
}
