// The call router: the only subscriber to the switch's events. It finds the call (or click-to-call) a channel
// belongs to and hands the event to the step that handles it — by leg for StasisStart and hangups, by call state
// for keys and the end of prompts — so each step sees only events it can act on.
import type { Redis } from '../infra/redis';
import { DIAL_FAILURES, type ChannelSnapshot } from '../telephony/switch';
import type { Call } from './call';
import type { CallState } from './state';
import { dropUnusedRecording, guard, hangupQuietly, type CallContext } from './context';

/** asterisk/channel.h: the soft hangup flag of a shutdown (`core stop|restart now`, or gracefully once idle). */
const SOFTHANGUP_SHUTDOWN = 4;

type Handler<A extends unknown[]> = (...args: A) => Promise<void> | void;

/**
 * What the dialplan did before Stasis(app,inbound,…) (asterisk-config/extensions.conf): "ringing" = ringback sent;
 * "recording=<name>" = MixMonitor records the caller's channel while bridged, as <name> in the recording directory.
 */
export function inboundOptions(args: string[]): { ringing: boolean; recording: string | null } {
  const flags = args[0] === 'inbound' ? args.slice(1) : [];
  const rec = flags.find((f) => f.startsWith('recording='))?.slice('recording='.length) ?? '';
  return { ringing: flags.includes('ringing'), recording: rec && !rec.startsWith('/') && !rec.split('/').includes('..') ? rec : null };
}

export function createRouter(ctx: CallContext, o: { sub: Redis; reconcile: () => Promise<unknown> }): { start(): Promise<void>; stop(): void } {
  const { flow, sw, dialler } = ctx;

  /** StasisStart by the leg's first app argument; anything else is a caller dialling 114. */
  const onStart: Record<string, Handler<[ChannelSnapshot, string[]]>> = {
    agent: (ch, args) => flow.agentLegAnswered(ch, args[1] ?? ''),
    transfer: (ch, args) => flow.transferAnswered(ch, args[1] ?? ''),
    resident: (ch, args) => flow.residentAnswered(ch, args[1] ?? ''),
    callback: (ch, args) => dialler.onStasisStart(ch, args[1] ?? '', args[2] ?? ''),
    // The snoop channel recording a call (connect.ts): never a leg of the call, never a new call.
    recording: (ch, args) => flow.recordingChannelStarted(ch, args[1] ?? ''),
  };

  /** A key the caller pressed, by call state. */
  const onDigit: Partial<Record<CallState, Handler<[Call, string]>>> = {
    survey: (call, d) => flow.surveyDigit(call, d),
    answered: (call, d) => flow.afterHoursDigit(call, d),
    menu: (call, d) => flow.menuDigit(call, d),
    queued: (call, d) => flow.keepPlaceDigit(call, d),
  };

  /** The prompt playing to the caller ended, by call state. */
  const onPromptEnd: Partial<Record<CallState, Handler<[Call]>>> = {
    answered: (call) => flow.promptEndedWhileAnswered(call),
    menu: (call) => flow.promptEndedInMenu(call),
    queued: (call) => flow.promptEndedWhileQueued(call),
  };

  async function stasisStart(channel: ChannelSnapshot, args: string[]): Promise<void> {
    const leg = onStart[args[0] ?? ''];
    if (leg) return leg(channel, args);
    if (ctx.registry.forChannel(channel.id)) return; // already adopted by reconcile
    await flow.acceptInbound(channel, inboundOptions(args));
  }

  /** A channel left our app or was destroyed: which leg of which call it was decides the step. */
  async function channelGone(channelId: string, why: string, cause?: number): Promise<void> {
    if (dialler.owns(channelId)) return dialler.onGone(channelId);
    const call = ctx.registry.forChannel(channelId);
    if (!call) return;
    if (call.connecting) await call.connecting;
    if (channelId === call.channelId) return flow.callerGone(call, why);
    if (call.transfer?.channelId === channelId) return flow.transferLegGone(call, cause);
    if (call.offer && call.offer.channelId === channelId && !call.offer.answered) {
      return flow.offerEnded(call, channelId, cause === 17 ? 'busy' : 'no_answer');
    }
    if (channelId === call.agentChannelId && call.state === 'connected') return flow.agentGone(call, why);
  }

  async function dial(peerId: string, dialstatus: string): Promise<void> {
    if (dialler.owns(peerId)) return dialler.onDial(peerId, dialstatus);
    const result = DIAL_FAILURES[dialstatus];
    if (!result) return;
    const call = ctx.registry.forChannel(peerId);
    if (call && call.offer?.channelId === peerId) await flow.offerEnded(call, peerId, result);
    else if (call && call.transfer?.channelId === peerId && !call.transfer.answered) await flow.transferFailed(call, result);
  }

  async function digit(channelId: string, d: string): Promise<void> {
    const call = ctx.registry.forChannel(channelId);
    if (!call || call.channelId !== channelId) return;
    await onDigit[call.state]?.(call, d);
  }

  async function playbackFinished(playbackId: string, targetUri: string): Promise<void> {
    const call = ctx.registry.forChannel(targetUri.replace(/^channel:/, ''));
    if (!call || call.playbackId !== playbackId) return;
    call.playbackId = null;
    if (call.hangupAfterPlayback) {
      ctx.registry.remove(call);
      dropUnusedRecording(ctx, call);
      return hangupQuietly(ctx, call.channelId);
    }
    if (call.isOver) return;
    await onPromptEnd[call.state]?.(call);
  }

  /**
   * Asterisk soft-hangs up every channel with AST_SOFTHANGUP_SHUTDOWN (ChannelHangupRequest cause 4, soft) when it
   * stops or restarts, before their StasisEnd: the call ends by the system, not by the caller or the agent.
   */
  function hangupRequested(channelId: string, cause: number | undefined, soft: boolean | undefined): void {
    if (!soft || cause !== SOFTHANGUP_SHUTDOWN) return;
    const call = ctx.registry.forChannel(channelId);
    if (call && !call.isOver) call.systemEnd = 'asterisk_shutdown';
  }

  const onMessage = (channel: string) => {
    if (channel === ctx.acd.availabilityChannel) flow.kick();
  };

  async function start(): Promise<void> {
    sw.on('stasisStart', (e) => guard(ctx, 'stasisStart', () => stasisStart(e.channel, e.args)));
    sw.on('hangupRequest', (e) => hangupRequested(e.channel.id, e.cause, e.soft));
    sw.on('stasisEnd', (e) => guard(ctx, 'stasisEnd', () => channelGone(e.channel.id, 'stasis_end')));
    sw.on('channelDestroyed', (e) => guard(ctx, 'channelDestroyed', () => channelGone(e.channel.id, `cause_${e.cause}`, e.cause)));
    sw.on('dial', (e) => guard(ctx, 'dial', () => dial(e.peer.id, e.dialstatus)));
    sw.on('dtmf', (e) => guard(ctx, 'dtmf', () => digit(e.channel.id, e.digit)));
    sw.on('playbackFinished', (e) => guard(ctx, 'playbackFinished', () => playbackFinished(e.playbackId, e.targetUri)));
    sw.on('up', () => {
      guard(ctx, 'reconcile', async () => void (await o.reconcile()));
      guard(ctx, 'reconcile click-to-call', () => dialler.reconcile());
    });
    o.sub.on('message', onMessage);
    await o.sub.subscribe(ctx.acd.availabilityChannel);
  }

  function stop(): void {
    o.sub.off('message', onMessage);
  }

  return { start, stop };
}
