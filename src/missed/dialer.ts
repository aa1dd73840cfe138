// Click-to-call for callbacks (未接来电回拨, 工单回访): ring the agent's phone first (ARI originate into our Stasis
// app with appArgs "callback,<id>,agent"); when the agent answers, put them in a bridge and dial the resident
// through the trunk (OUTBOUND_DIAL_TEMPLATE, appArgs "callback,<id>,resident"); when the resident answers, bridge
// (and record). Either side hanging up ends both legs. Each attempt is a row of outbound_calls.
// The inbound call flow (CallService) leaves StasisStarts whose first argument is "callback" to this module.
import { randomUUID } from 'node:crypto';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { TelephonyDownError } from '../infra/errors';
import { SwitchCommandError, type CallSwitch, type ChannelSnapshot } from '../telephony/switch';

export type CallbackKind = 'missed' | 'case' | 'other';
export type CallbackResult =
  | 'connected'
  | 'agent_no_answer'
  | 'agent_failed'
  | 'resident_no_answer'
  | 'resident_busy'
  | 'resident_failed'
  | 'cancelled';

export interface PlaceCallbackInput {
  agentEndpoint: string;
  number: string;
  kind?: CallbackKind;
  refId?: number | null;
  userId?: number | null;
  agentId?: number | null;
}

interface Leg {
  id: string;
  kind: CallbackKind;
  refId: number | null;
  number: string;
  agentChannelId: string;
  residentChannelId: string;
  state: 'ringing_agent' | 'ringing_resident' | 'connected' | 'ended' | 'failed';
  bridgeId: string | null;
  connectedAt: number | null;
  done: boolean;
}

export interface DialerSettings {
  app: string;
  nodeId: string;
  dialTemplate: string;
  ringTimeoutSec: number;
  callerIdName: string;
  callerIdNumber: string;
  record: boolean;
}

const DIAL_FAILURES: Record<string, 'no_answer' | 'busy' | 'failed'> = {
  NOANSWER: 'no_answer',
  CANCEL: 'no_answer',
  BUSY: 'busy',
  CONGESTION: 'failed',
  CHANUNAVAIL: 'failed',
};

export class CallbackDialer {
  private readonly legs = new Map<string, Leg>();
  private readonly byChannel = new Map<string, Leg>();
  private readonly log: Logger;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly sw: CallSwitch,
    private readonly db: Db,
    private readonly settings: DialerSettings,
    logger: Logger,
    private readonly onEnded?: (leg: { id: string; kind: CallbackKind; refId: number | null; result: CallbackResult }) => void,
  ) {
    this.log = logger.child({ mod: 'callback-dialer' });
  }

  start(): void {
    const on = <K extends 'stasisStart' | 'stasisEnd' | 'channelDestroyed' | 'dial' | 'up'>(name: K, fn: (...a: never[]) => void) => {
      this.sw.on(name, fn as never);
      this.listeners.push(() => this.sw.off(name, fn as never));
    };
    on('stasisStart', (e: { channel: ChannelSnapshot; args: string[] }) => {
      if (e.args[0] === 'callback') this.guard('stasisStart', () => this.onStasisStart(e.channel, e.args[1] ?? '', e.args[2] ?? ''));
    });
    on('stasisEnd', (e: { channel: ChannelSnapshot }) => this.guard('stasisEnd', () => this.onGone(e.channel.id)));
    on('channelDestroyed', (e: { channel: ChannelSnapshot }) => this.guard('channelDestroyed', () => this.onGone(e.channel.id)));
    on('dial', (e: { peer: ChannelSnapshot; dialstatus: string }) => this.guard('dial', () => this.onDial(e.peer.id, e.dialstatus)));
    on('up', () => this.guard('reconcile', () => this.reconcile()));
  }

  stop(): void {
    for (const off of this.listeners.splice(0)) off();
  }

  /** Live callback legs on this process. */
  get active(): number {
    return this.legs.size;
  }

  /** Rings the agent; the resident is dialled once the agent answers. Resolves with the outbound call id. */
  async place(input: PlaceCallbackInput): Promise<{ callId: string; agentChannelId: string }> {
    if (!this.sw.isUp) throw new TelephonyDownError('ari');
    const id = randomUUID();
    const leg: Leg = {
      id,
      kind: input.kind ?? 'other',
      refId: input.refId ?? null,
      number: input.number,
      agentChannelId: `${id}-cba`,
      residentChannelId: `${id}-cbr`,
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

  private guard(what: string, fn: () => Promise<void> | void): void {
    Promise.resolve()
      .then(fn)
      .catch((err) => this.log.error({ err, what }, 'callback event handling failed'));
  }

  private async onStasisStart(channel: ChannelSnapshot, id: string, role: string): Promise<void> {
    const leg = this.legs.get(id);
    if (!leg || leg.done) {
      this.log.warn({ id, channelId: channel.id }, 'callback leg for an unknown or finished callback; hanging up');
      await this.hangupQuietly(channel.id);
      return;
    }
    if (role === 'agent' && channel.id === leg.agentChannelId) return this.agentAnswered(leg);
    if (role === 'resident' && channel.id === leg.residentChannelId) return this.residentAnswered(leg);
    await this.hangupQuietly(channel.id);
  }

  private async agentAnswered(leg: Leg): Promise<void> {
    const { sw, settings } = this;
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
      await sw.originate({
        endpoint: settings.dialTemplate.replace('{number}', leg.number),
        appArgs: `callback,${leg.id},resident`,
        callerId: `"${settings.callerIdName}" <${settings.callerIdNumber}>`,
        timeoutSec: settings.ringTimeoutSec,
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
    let recording: string | null = null;
    if (this.settings.record) {
      recording = `hotline114-callback/${new Date().toISOString().slice(0, 10)}/${leg.id}`;
      await this.sw.recordBridge(leg.bridgeId, recording, 'wav').catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message, id: leg.id }, 'callback recording could not start');
        recording = null;
      });
    }
    await this.update(leg.id, { state: 'connected', connected_at: new Date(leg.connectedAt), recording_name: recording });
    this.log.info({ id: leg.id, kind: leg.kind }, 'callback connected');
  }

  private async onDial(peerId: string, status: string): Promise<void> {
    const f = DIAL_FAILURES[status];
    const leg = f ? this.byChannel.get(peerId) : undefined;
    if (!leg || !f || leg.done) return;
    if (peerId === leg.agentChannelId && leg.state === 'ringing_agent') {
      await this.finish(leg, f === 'failed' ? 'agent_failed' : 'agent_no_answer', 'failed');
    } else if (peerId === leg.residentChannelId && leg.state === 'ringing_resident') {
      await this.finish(leg, f === 'busy' ? 'resident_busy' : f === 'failed' ? 'resident_failed' : 'resident_no_answer', 'failed');
    }
  }

  private async onGone(channelId: string): Promise<void> {
    const leg = this.byChannel.get(channelId);
    if (!leg || leg.done) return;
    if (leg.state === 'connected') return this.finish(leg, 'connected', 'ended');
    if (channelId === leg.agentChannelId) {
      // The agent hung up (or never answered) before the resident did.
      return this.finish(leg, leg.state === 'ringing_agent' ? 'agent_no_answer' : 'cancelled', 'failed');
    }
    return this.finish(leg, 'resident_no_answer', 'failed');
  }

  private async finish(leg: Leg, result: CallbackResult, state: 'ended' | 'failed'): Promise<void> {
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
    try {
      this.onEnded?.({ id: leg.id, kind: leg.kind, refId: leg.refId, result });
    } catch (err) {
      this.log.warn({ err }, 'callback end listener failed');
    }
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
      const [app, kind] = data.split(',');
      if (app === this.settings.app && kind === 'callback' && !this.byChannel.has(ch.id)) await this.hangupQuietly(ch.id);
    }
    const known = [...this.legs.keys()];
    await this.db.query(
      `update outbound_calls set state = 'failed', result = coalesce(result, 'cancelled'), ended_at = now()
        where node_id = $1 and ended_at is null and not (id = any($2::uuid[]))`,
      [this.settings.nodeId, known],
    );
  }
}
