// The outbound dialler: every call we place to a resident goes through it — the keep-my-place call (虚拟排队,
// keep-place.ts), transfers to numbers outside, and click-to-call (未接来电回拨 of missed calls, 工单回访 of work
// orders). One rule for dialling a number (OUTBOUND_DIAL_TEMPLATE) and one caller id.
//
// Click-to-call rings the agent's phone first (ARI originate into our Stasis app with appArgs "callback,<id>,agent");
// when the agent answers, they wait in a bridge while the resident is dialled ("callback,<id>,resident"); when the
// resident answers, the call is bridged and recorded through a snoop channel on the resident ("callback,<id>,recording",
// as inbound calls are, connect.ts: a bridge recording would make Asterisk mix the two-party bridge). Either side
// hanging up ends both legs. Each attempt is a row of outbound_calls. Its legs' events reach it through the call
// router (stasis.ts).
import { randomUUID } from 'node:crypto';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { TelephonyDownError } from '../infra/errors';
import { DIAL_FAILURES, SwitchCommandError, type CallSwitch, type ChannelSnapshot } from '../telephony/switch';

/** What a click-to-call is for: a missed call, a work order's 回访, or anything else. */
export type ClickToCallKind = 'missed' | 'case' | 'other';
export type ClickToCallResult =
  | 'connected'
  | 'agent_no_answer'
  | 'agent_failed'
  | 'resident_no_answer'
  | 'resident_busy'
  | 'resident_failed'
  | 'cancelled';

export interface ClickToCallInput {
  agentEndpoint: string;
  number: string;
  kind?: ClickToCallKind;
  refId?: number | null;
  userId?: number | null;
  agentId?: number | null;
}

interface Leg {
  id: string;
  kind: ClickToCallKind;
  refId: number | null;
  number: string;
  agentChannelId: string;
  residentChannelId: string;
  /** The snoop channel recording the conversation: not a leg (its end ends nothing). */
  recordingChannelId: string | null;
  connectedWrite?: Promise<void>;
  state: 'ringing_agent' | 'ringing_resident' | 'connected' | 'ended' | 'failed';
  bridgeId: string | null;
  connectedAt: number | null;
  done: boolean;
}

export interface DiallerSettings {
  app: string;
  nodeId: string;
  /** OUTBOUND_DIAL_TEMPLATE: {number} is replaced. */
  dialTemplate: string;
  /** Ring time of each click-to-call leg. */
  ringTimeoutSec: number;
  callerIdName: string;
  callerIdNumber: string;
  record: boolean;
}

function recordingName(leg: Leg): string {
  return `hotline114-callback/${new Date(leg.connectedAt ?? Date.now()).toISOString().slice(0, 10)}/${leg.id}`;
}

export class OutboundDialler {
  private readonly legs = new Map<string, Leg>();
  private readonly byChannel = new Map<string, Leg>();
  private readonly log: Logger;

  constructor(
    private readonly sw: CallSwitch,
    private readonly db: Db,
    private readonly settings: DiallerSettings,
    logger: Logger,
  ) {
    this.log = logger.child({ mod: 'dialler' });
  }

  /** How a number outside is dialled (residents, departments without a SIP endpoint, 110). */
  dialString(number: string): string {
    return this.settings.dialTemplate.replace('{number}', number);
  }

  /** Rings a resident into our app (the one originate to a resident), with the hotline's caller id. */
  async dialResident(o: { number: string; appArgs: string; channelId: string; timeoutSec?: number; variables?: Record<string, string> }): Promise<void> {
    await this.sw.originate({
      endpoint: this.dialString(o.number),
      appArgs: o.appArgs,
      callerId: `"${this.settings.callerIdName}" <${this.settings.callerIdNumber}>`,
      timeoutSec: o.timeoutSec ?? this.settings.ringTimeoutSec,
      channelId: o.channelId,
      ...(o.variables ? { variables: o.variables } : {}),
    });
  }

  /** A channel of one of our click-to-calls (the router asks before handing it a hangup or dial event). */
  owns(channelId: string): boolean {
    return this.byChannel.has(channelId);
  }

  /** Live callback legs on this process. */
  get active(): number {
    return this.legs.size;
  }

  /** Rings the agent; the resident is dialled once the agent answers. Resolves with the outbound call id. */
  async place(input: ClickToCallInput): Promise<{ callId: string; agentChannelId: string }> {
    if (!this.sw.isUp) throw new TelephonyDownError('ari');
    const id = randomUUID();
    const leg: Leg = {
      id,
      kind: input.kind ?? 'other',
      refId: input.refId ?? null,
      number: input.number,
      agentChannelId: `${id}-cba`,
      residentChannelId: `${id}-cbr`,
      recordingChannelId: null,
      state: 'ringing_agent',
      bridgeId: null,
      connectedAt: null,
      done: false,
    };
    await this.db.query(
      `insert into outbound_calls (id, kind, ref_id, node_id, user_id, agent_id, agent_endpoint, number, state, agent_channel_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, 'ringing_agent', $9)`,
      [id, leg.kind, leg.refId, this.settings.nodeId, input.userId ?? null, input.agentId ?? null, input.agentEndpoint, input.number, leg.agentChannelId],
    );
    this.legs.set(id, leg);
    this.byChannel.set(leg.agentChannelId, leg);
    try {
      await this.sw.originate({
        endpoint: input.agentEndpoint,
        appArgs: `callback,${id},agent`,
        // The agent's phone shows whom it is about to call.
        callerId: `"回拨" <${input.number}>`,
        timeoutSec: this.settings.ringTimeoutSec,
        channelId: leg.agentChannelId,
        variables: { HOTLINE114_CALLBACK_ID: id },
      });
    } catch (err) {
      await this.finish(leg, 'agent_failed', 'failed');
      throw err;
    }
    return { callId: id, agentChannelId: leg.agentChannelId };
  }

  /** A click-to-call leg answered (appArgs "callback,<id>,agent|resident"), or its recording snoop started. */
  async onStasisStart(channel: ChannelSnapshot, id: string, role: string): Promise<void> {
    const leg = this.legs.get(id);
    if (!leg || leg.done) {
      this.log.warn({ id, channelId: channel.id }, 'callback leg for an unknown or finished callback; hanging up');
      await this.hangupQuietly(channel.id);
      return;
    }
    if (role === 'agent' && channel.id === leg.agentChannelId) return this.agentAnswered(leg);
    if (role === 'resident' && channel.id === leg.residentChannelId) return this.residentAnswered(leg);
    if (role === 'recording' && channel.id === leg.recordingChannelId) return this.recordingStarted(leg, channel.id);
    await this.hangupQuietly(channel.id);
  }

  private async agentAnswered(leg: Leg): Promise<void> {
    const { sw } = this;
    leg.state = 'ringing_resident';
    const bridge = await sw.createBridge('mixing', `hotline114-cb-${leg.id}`);
    if (leg.done) {
      await sw.destroyBridge(bridge.id).catch((err: unknown) => this.quiet(err));
      return;
    }
    leg.bridgeId = bridge.id;
    try {
      await sw.addToBridge(bridge.id, [leg.agentChannelId]);
    } catch (err) {
      this.quiet(err);
      return this.finish(leg, 'cancelled', 'failed');
    }
    if (leg.done) return;
    this.byChannel.set(leg.residentChannelId, leg);
    void this.update(leg.id, { state: 'ringing_resident', agent_answered_at: new Date(), bridge_id: bridge.id, resident_channel_id: leg.residentChannelId });
    try {
      await this.dialResident({
        number: leg.number,
        appArgs: `callback,${leg.id},resident`,
        channelId: leg.residentChannelId,
        variables: { HOTLINE114_CALLBACK_ID: leg.id },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, id: leg.id }, 'callback: dialling the resident failed');
      await this.finish(leg, 'resident_failed', 'failed');
    }
  }

  private async residentAnswered(leg: Leg): Promise<void> {
    if (!leg.bridgeId) return;
    try {
      await this.sw.addToBridge(leg.bridgeId, [leg.residentChannelId]);
    } catch (err) {
      this.quiet(err);
      return this.finish(leg, 'cancelled', 'failed');
    }
    if (leg.done) return;
    leg.state = 'connected';
    leg.connectedAt = Date.now();
    const recording = this.settings.record ? recordingName(leg) : null;
    // The name is stored with the connection and cleared again (after that write) if the recording does not start.
    leg.connectedWrite = this.update(leg.id, { state: 'connected', connected_at: new Date(leg.connectedAt), recording_name: recording });
    await Promise.all([leg.connectedWrite, recording ? this.startRecording(leg) : undefined]);
    this.log.info({ id: leg.id, kind: leg.kind }, 'callback connected');
  }

  private async startRecording(leg: Leg): Promise<void> {
    const snoopId = `${leg.id}-cbs`;
    leg.recordingChannelId = snoopId;
    try {
      await this.sw.snoop(leg.residentChannelId, { snoopId, appArgs: `callback,${leg.id},recording`, spy: 'both' });
    } catch (err) {
      leg.recordingChannelId = null;
      await this.recordingFailed(leg, err);
    }
  }

  private async recordingStarted(leg: Leg, snoopId: string): Promise<void> {
    try {
      await this.sw.recordChannel(snoopId, recordingName(leg), { format: 'wav', ifExists: 'overwrite' });
    } catch (err) {
      await this.recordingFailed(leg, err);
    }
  }

  private async recordingFailed(leg: Leg, err: unknown): Promise<void> {
    this.log.warn({ err: (err as Error).message, id: leg.id }, 'callback recording could not start');
    await leg.connectedWrite?.catch(() => undefined); // its failure is the caller's to report
    await this.update(leg.id, { recording_name: null }).catch((e: unknown) => this.log.error({ err: e, id: leg.id }, 'callback recording name not cleared'));
  }

  async onDial(peerId: string, status: string): Promise<void> {
    const f = DIAL_FAILURES[status];
    const leg = f ? this.byChannel.get(peerId) : undefined;
    if (!leg || !f || leg.done) return;
    if (peerId === leg.agentChannelId && leg.state === 'ringing_agent') {
      await this.finish(leg, f === 'failed' ? 'agent_failed' : 'agent_no_answer', 'failed');
    } else if (peerId === leg.residentChannelId && leg.state === 'ringing_resident') {
      await this.finish(leg, f === 'busy' ? 'resident_busy' : f === 'failed' ? 'resident_failed' : 'resident_no_answer', 'failed');
    }
  }

  async onGone(channelId: string): Promise<void> {
    const leg = this.byChannel.get(channelId);
    if (!leg || leg.done) return;
    if (leg.state === 'connected') return this.finish(leg, 'connected', 'ended');
    if (channelId === leg.agentChannelId) {
      // The agent hung up (or never answered) before the resident did.
      return this.finish(leg, leg.state === 'ringing_agent' ? 'agent_no_answer' : 'cancelled', 'failed');
    }
    return this.finish(leg, 'resident_no_answer', 'failed');
  }

  private async finish(leg: Leg, result: ClickToCallResult, state: 'ended' | 'failed'): Promise<void> {
    if (leg.done) return;
    leg.done = true;
    leg.state = state;
    const now = Date.now();
    await this.cleanup(leg);
    await this.update(leg.id, {
      state,
      result,
      ended_at: new Date(now),
      talk_ms: leg.connectedAt === null ? null : now - leg.connectedAt,
    }).catch((err: unknown) => this.log.error({ err, id: leg.id }, 'callback record not finalised'));
    this.log.info({ id: leg.id, kind: leg.kind, result }, 'callback ended');
  }

  /** Hangs up whatever is left of the legs and the bridge, and forgets the callback. */
  private async cleanup(leg: Leg): Promise<void> {
    this.legs.delete(leg.id);
    this.byChannel.delete(leg.agentChannelId);
    this.byChannel.delete(leg.residentChannelId);
    const bridge = leg.bridgeId;
    leg.bridgeId = null;
    await Promise.all([
      this.hangupQuietly(leg.agentChannelId),
      this.hangupQuietly(leg.residentChannelId),
      leg.recordingChannelId ? this.hangupQuietly(leg.recordingChannelId) : undefined,
      bridge ? this.sw.destroyBridge(bridge).catch((err: unknown) => this.quiet(err)) : undefined,
    ]);
  }

  private async update(id: string, patch: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(patch);
    await this.db.query(`update outbound_calls set ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} where id = $1`, [id, ...cols.map((c) => patch[c])]);
  }

  private async hangupQuietly(channelId: string): Promise<void> {
    if (!this.sw.isUp) return;
    await this.sw.hangup(channelId).catch((err: unknown) => this.quiet(err));
  }

  private quiet(err: unknown): void {
    if (err instanceof SwitchCommandError && err.notFound) return;
    this.log.debug({ err: (err as Error).message }, 'callback switch command failed');
  }

  /**
   * After a (re)connect: callbacks whose legs vanished while we were deaf are finished; callback channels of a
   * previous run (in our app, unknown here) are hung up; records of this node left open by a crash are closed.
   */
  async reconcile(): Promise<void> {
    const channels = await this.sw.listChannels();
    const live = new Set(channels.map((c) => c.id));
    for (const leg of [...this.legs.values()]) {
      const agentLive = live.has(leg.agentChannelId);
      const residentLive = live.has(leg.residentChannelId);
      if (leg.state === 'connected' ? !(agentLive && residentLive) : !agentLive) await this.onGone(agentLive ? leg.residentChannelId : leg.agentChannelId);
    }
    for (const ch of channels) {
      const data = ch.dialplan?.app_name === 'Stasis' ? (ch.dialplan.app_data ?? '') : '';
      const [app, kind, id] = data.split(',');
      if (app !== this.settings.app || kind !== 'callback' || this.byChannel.has(ch.id)) continue;
      if (ch.id === this.legs.get(id ?? '')?.recordingChannelId) continue; // the recording of a live callback
      await this.hangupQuietly(ch.id);
    }
    const known = [...this.legs.keys()];
    await this.db.query(
      `update outbound_calls set state = 'failed', result = coalesce(result, 'cancelled'), ended_at = now()
        where node_id = $1 and ended_at is null and not (id = any($2::uuid[]))`,
      [this.settings.nodeId, known],
    );
  }
}
