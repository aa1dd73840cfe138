// Step: keep-my-place (虚拟排队). A waiting caller presses 1, hangs up, and keeps their place: a queue entry with no
// channel holds it (in PostgreSQL first). In their turn an agent is reserved and rung; once the agent answers, the
// resident is dialled through the outbound dialler and bridged with them.
import { randomUUID } from 'node:crypto';
import type { ChannelSnapshot } from '../telephony/switch';
import { Call } from './call';
import { PROMPTS } from './prompts';
import { bridgeOf, hangupQuietly, sound, stopMoh, stopPrompt, type CallContext, type Flow } from './context';

export function keepPlaceStep(ctx: CallContext): Pick<Flow, 'keepPlaceDigit' | 'keptPlace' | 'claimKeptPlace' | 'dialResident' | 'residentAnswered'> {
  const { flow } = ctx;

  async function keepPlaceDigit(call: Call, digit: string): Promise<void> {
    if (call.answered && digit === '1' && ctx.settings.callbackOffer) await keepMyPlace(call);
  }

  /** The waiting caller pressed 1: they hang up, their place is kept, and they are called back in their turn. */
  async function keepMyPlace(call: Call): Promise<void> {
    const { keepPlaces, settings, sw } = ctx;
    if (call.state !== 'queued' || !ctx.queue.has(call) || call.keptPlace) return;
    const positionAt = call.enqueuedAt ?? call.startedAt;
    ctx.queue.remove(call);
    call.clearTimers();
    await call.written;
    const requestId = await keepPlaces.request({
      callId: call.id,
      number: call.callerNumber,
      nodeId: settings.nodeId,
      skill: call.skill,
      kind: 'keep_place',
      positionAt: new Date(positionAt),
    });
    const now = Date.now();
    await call.transition('callback_requested', { ended_at: new Date(now), wait_ms: now - call.startedAt, hangup_by: 'caller' }, { callbackId: requestId });
    ctx.log.info({ callId: call.id, requestId }, 'caller keeps their place for a callback');
    ctx.queue.add(keptPlace(requestId, call.id, call.callerNumber, call.skill, positionAt));
    flow.kick();
    // Confirm, then hang up; the channel stays mapped until the prompt ends.
    await stopMoh(ctx, call);
    await stopPrompt(ctx, call);
    ctx.registry.mapChannel(call.channelId, call);
    call.hangupAfterPlayback = true;
    call.playbackId = await sw.play(call.channelId, sound(PROMPTS.callbackConfirmed));
  }

  /** A queue entry with no channel yet: it holds the caller's place; the resident is dialled after the agent answers. */
  function keptPlace(requestId: number, originalCallId: string, number: string, skill: string | null, positionAt: number): Call {
    const id = randomUUID();
    const call = new Call(id, `${id}-r`, number, null, Date.now(), ctx.repo, 'queued');
    call.enqueuedAt = positionAt;
    call.skill = skill;
    call.keptPlace = { requestId, originalCallId, claimed: false };
    call.lookup = ctx.lookup(number, id).catch(() => null);
    ctx.registry.add(call);
    return call;
  }

  /**
   * Takes the kept place for this offer exactly once (PostgreSQL decides) and opens its call record; false when
   * another process or a previous run took it, 'error' when the database could not say (the place stays kept).
   */
  async function claimKeptPlace(call: Call, agentId: number): Promise<boolean | 'error'> {
    const kept = call.keptPlace!;
    if (kept.claimed) return true;
    try {
      if (!(await ctx.keepPlaces.claim(kept.requestId, agentId, call.id))) return false;
    } catch (err) {
      ctx.log.error({ err }, 'callback claim failed; the place stays kept for the next dispatch');
      return 'error';
    }
    kept.claimed = true;
    call.written = ctx.repo.insertCall({
      id: call.id,
      nodeId: ctx.settings.nodeId,
      channelId: call.channelId,
      callerNumber: call.callerNumber,
      callerName: null,
      state: 'queued',
      startedAt: new Date(call.startedAt),
      queuedAt: new Date(call.enqueuedAt ?? call.startedAt),
      direction: 'outbound',
      callbackId: kept.requestId,
    });
    return true;
  }

  /** The agent took the kept place: they wait in the bridge while the resident's phone rings. */
  async function dialResident(call: Call, agentChannelId: string): Promise<void> {
    const bridgeId = await bridgeOf(ctx, call);
    await ctx.sw.addToBridge(bridgeId, [agentChannelId]);
    if (call.isOver) return;
    try {
      await ctx.dialler.dialResident({
        number: call.callerNumber,
        appArgs: `resident,${call.id}`,
        timeoutSec: ctx.settings.ringTimeoutSec,
        channelId: call.channelId,
        variables: { HOTLINE114_CALL_ID: call.id },
      });
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, callId: call.id }, 'callback: dialling the resident failed');
      await flow.callerGone(call, 'callback_dial_failed');
    }
  }

  async function residentAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const call = ctx.registry.get(callId);
    const offer = call?.offer;
    if (!call?.keptPlace || !offer?.answered || call.channelId !== channel.id || call.isOver || !call.agentChannelId) {
      await hangupQuietly(ctx, channel.id);
      return;
    }
    call.answered = true;
    void ctx.repo.patch(call.id, { answered_at: new Date() });
    const bridgeId = await bridgeOf(ctx, call);
    await ctx.sw.addToBridge(bridgeId, [channel.id]);
    if (call.isOver) return;
    await ctx.keepPlaces.finish(call.keptPlace.requestId, 'connected');
    await flow.markConnected(call, offer, call.agentChannelId, bridgeId);
    // The resident hears who calls and why (the agent hears it too: that is fine and short).
    call.playbackId = await ctx.sw.play(channel.id, sound(PROMPTS.callbackIntro)).catch(() => null);
  }

  return { keepPlaceDigit, keptPlace, claimKeptPlace, dialResident, residentAnswered };
}
