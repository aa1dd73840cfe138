// The supervisors' live board (agents, queue, live calls across every process) and stepping into a call:
// listen (监听), whisper (耳语: the agent hears the supervisor, the caller does not) and barge (强插: both hear).
// Spying is an AMI Originate to the supervisor's own phone running ChanSpy on the agent's channel.
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import { ConflictError, NotFoundError, TelephonyDownError } from '../infra/errors';
import type { AuthUser } from '../auth/types';
import type { AgentService } from '../agents/service';
import type { AgentRepo } from '../agents/repo';
import type { CallService } from '../calls/service';
import type { CallSwitch } from '../telephony/switch';
import type { AmiClient } from '../telephony/ami';
import { readLive, type LiveCall } from './live';
import { readRegistrations } from './registration';

export type SpyMode = 'listen' | 'whisper' | 'barge';

/** ChanSpy options: q = no beep/announcement; w = whisper to the spied channel; B = barge (talk to both sides). */
export const SPY_OPTIONS: Record<SpyMode, string> = { listen: 'q', whisper: 'qw', barge: 'qB' };
const SPY_LABELS: Record<SpyMode, string> = { listen: '监听', whisper: '耳语', barge: '强插' };

export type Presence = 'available' | 'in_use' | 'ringing' | 'unavailable' | 'unknown';

/** AMI device state → what the board shows. */
export function presenceOf(device: string | null): Presence {
  switch ((device ?? '').toUpperCase()) {
    case 'NOT_INUSE':
      return 'available';
    case 'INUSE':
    case 'BUSY':
    case 'ONHOLD':
      return 'in_use';
    case 'RINGING':
    case 'RINGINUSE':
      return 'ringing';
    case 'UNAVAILABLE':
    case 'INVALID':
      return 'unavailable';
    default:
      return 'unknown';
  }
}

export interface BoardAgent {
  agentId: number;
  extension: string;
  displayName: string;
  endpoint: string;
  state: string;
  reason: string | null;
  since: number;
  presence: Presence;
  device: string | null;
  registration: string | null;
  callId: string | null;
  call: { callerNumber: string; state: string; since: number; node: string } | null;
  missedInRow: number;
  missedToday: number;
}

export interface Board {
  generatedAt: string;
  queue: { waiting: number; longestWaitMs: number };
  agents: BoardAgent[];
  calls: (LiveCall & { durationMs: number })[];
  nodes: { node: string; at: number; active: number; waiting: number }[];
  telephony: { ari: 'up' | 'down' | 'disabled'; ami: 'up' | 'down' | 'disabled' };
  summary: Record<string, number>;
}

export interface SupervisionDeps {
  db: Db;
  redis: Redis;
  agents: AgentService;
  agentRepo: AgentRepo;
  nodeId: string;
  timezone: string;
  logger: Logger;
}

export class SupervisionService {
  private calls: CallService | null = null;
  private sw: CallSwitch | null = null;
  private ami: AmiClient | null = null;
  private ariEnabled = false;
  private amiEnabled = false;

  constructor(private readonly deps: SupervisionDeps) {}

  attachCalls(calls: CallService, sw: CallSwitch): void {
    this.calls = calls;
    this.sw = sw;
    this.ariEnabled = true;
  }

  attachAmi(ami: AmiClient): void {
    this.ami = ami;
    this.amiEnabled = true;
  }

  async board(now = Date.now()): Promise<Board> {
    const [agents, nodes, regs, missed] = await Promise.all([
      this.deps.agents.board(),
      readLive(this.deps.redis, 5000, now),
      readRegistrations(this.deps.redis),
      this.missedToday(),
    ]);
    const calls = nodes.flatMap((n) => n.calls.map((c) => ({ ...c, durationMs: now - (c.connectedAt ?? c.startedAt) })));
    const byCall = new Map(calls.map((c) => [c.callId, c]));
    const boardAgents: BoardAgent[] = agents.map((a) => {
      const c = a.callId ? byCall.get(a.callId) : undefined;
      return {
        agentId: a.agentId,
        extension: a.extension,
        displayName: a.displayName,
        endpoint: a.endpoint,
        state: a.state,
        reason: a.reason,
        since: a.since,
        presence: presenceOf(a.device),
        device: a.device,
        registration: regs.get(a.endpoint.toUpperCase())?.status ?? null,
        callId: a.callId,
        call: c ? { callerNumber: c.callerNumber, state: c.state, since: c.connectedAt ?? c.startedAt, node: c.node } : null,
        missedInRow: a.missed,
        missedToday: missed.get(a.agentId) ?? 0,
      };
    });
    const waiting = nodes.reduce((s, n) => s + n.waiting, 0);
    const longestWaitMs = nodes.reduce((m, n) => Math.max(m, n.longestWaitMs > 0 ? n.longestWaitMs + (now - n.at) : 0), 0);
    const summary: Record<string, number> = { offline: 0, ready: 0, paused: 0, reserved: 0, busy: 0, wrap_up: 0 };
    for (const a of boardAgents) summary[a.state] = (summary[a.state] ?? 0) + 1;
    return {
      generatedAt: new Date(now).toISOString(),
      queue: { waiting, longestWaitMs },
      agents: boardAgents,
      calls,
      nodes: nodes.map((n) => ({ node: n.node, at: n.at, active: n.active, waiting: n.waiting })),
      telephony: {
        ari: !this.ariEnabled ? 'disabled' : this.sw?.isUp ? 'up' : 'down',
        ami: !this.amiEnabled ? 'disabled' : this.ami?.isUp ? 'up' : 'down',
      },
      summary,
    };
  }

  /** Offers not taken today (no answer, busy, failed), per agent; "today" in the reporting time zone. */
  private async missedToday(): Promise<Map<number, number>> {
    const { rows } = await this.deps.db.query<{ agent_id: number; n: number }>(
      `select agent_id, count(*)::int as n from call_offers
        where result in ('no_answer', 'busy', 'failed')
          and offered_at >= (date_trunc('day', now() at time zone $1) at time zone $1)
        group by agent_id`,
      [this.deps.timezone],
    );
    return new Map(rows.map((r) => [r.agent_id, r.n]));
  }

  /** Listen / whisper / barge: rings the supervisor's phone, which then spies on the agent's channel. */
  async spy(user: AuthUser, callId: string, mode: SpyMode): Promise<{ sessionId: number; callId: string; mode: SpyMode; endpoint: string; agentChannel: string; data: string }> {
    const ami = this.ami;
    if (!ami || !ami.isUp) throw new TelephonyDownError('ami');
    const call = this.calls?.registry.get(callId);
    if (!call || call.state !== 'connected' || !call.agentChannelId) {
      const elsewhere = (await readLive(this.deps.redis)).some((n) => n.node !== this.deps.nodeId && n.calls.some((c) => c.callId === callId && c.state === 'connected'));
      if (elsewhere) throw new ConflictError('该通话由另一个服务节点处理，请在该节点上监听', 'call_on_other_node');
      throw new NotFoundError('该通话不在进行中（未接通或已结束）', 'call_not_live');
    }
    const endpoint = await this.supervisorEndpoint(user);
    const agentChannel = await this.channelName(call.agentChannelId);
    if (!agentChannel) throw new NotFoundError('找不到坐席的通话通道，通话可能刚刚结束', 'call_not_live');
    const data = `${agentChannel},${SPY_OPTIONS[mode]}`;
    await ami.originate({
      channel: endpoint,
      application: 'ChanSpy',
      data,
      callerId: `"${SPY_LABELS[mode]}" <${call.callerNumber || '114'}>`,
      timeoutMs: 30_000,
      async: true,
      variables: { HOTLINE114_SPY_CALL: call.id, HOTLINE114_SPY_MODE: mode },
    });
    const { rows } = await this.deps.db.query<{ id: number }>(
      `insert into supervision_sessions (call_id, supervisor_user_id, mode, endpoint, agent_channel) values ($1, $2, $3, $4, $5) returning id`,
      [call.id, user.id, mode, endpoint, agentChannel],
    );
    this.deps.logger.info({ callId: call.id, supervisor: user.id, mode }, 'supervisor spies on a call');
    return { sessionId: rows[0]!.id, callId: call.id, mode, endpoint, agentChannel, data };
  }

  private async supervisorEndpoint(user: AuthUser): Promise<string> {
    if (user.agentId !== null) {
      const row = await this.deps.agentRepo.get(user.agentId);
      if (row?.active) return this.deps.agents.endpointOf(row);
    }
    throw new ConflictError('当前主管账号没有绑定分机，无法监听、耳语或强插', 'no_extension');
  }

  /** ARI channel id → channel name (PJSIP/agent1001-00000003): over ARI when up, else from AMI CoreShowChannels. */
  private async channelName(channelId: string): Promise<string | null> {
    if (this.sw?.isUp) {
      const ch = await this.sw.getChannel(channelId);
      return ch?.name || null;
    }
    if (!this.ami) return null;
    const items = await this.ami.coreShowChannels();
    return items.find((i) => i.uniqueid === channelId)?.channel ?? null;
  }
}
