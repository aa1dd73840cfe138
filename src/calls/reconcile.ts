// Step: after every (re)connect, Asterisk's live channels are the truth. Calls whose caller vanished while we were
// deaf are finalised; open records of a previous run whose channels still live are adopted; channels that entered
// our app while we were away are taken as new calls; orphaned agent legs are hung up, and recording snoops of calls
// no longer in conversation here; kept places come back in their order; agents still held for calls this node no
// longer has are freed.
import type { ChannelSnapshot } from '../telephony/switch';
import { Call } from './call';
import type { CallRow } from './repo';
import { hangupQuietly, recordingChannelOf, type CallContext } from './context';

export interface ReconcileStats {
  finalised: number;
  adopted: number;
  orphansHungUp: number;
  newCalls: number;
  callbacksRestored: number;
}

export function reconcileStep(ctx: CallContext): { reconcile(): Promise<ReconcileStats> } {
  const { flow } = ctx;
  /** Open records that started before this service did are a previous run's; later ones are this run's own. */
  const serviceStartedAt = Date.now();

  async function reconcile(): Promise<ReconcileStats> {
    const { sw, repo, settings, acd } = ctx;
    // The snapshot judges only what existed before it was taken. A caller whose StasisStart arrives while it is
    // taken is not in it: judged by it, that caller was "lost" and left ringing forever (a flaky restart test).
    const before = ctx.registry.all();
    const knownChannels = new Set(before.map((c) => c.channelId));
    const [channels, open] = await Promise.all([sw.listChannels(), repo.openCalls(settings.nodeId)]);
    const live = new Map(channels.map((c) => [c.id, c]));
    const stats: ReconcileStats = { finalised: 0, adopted: 0, orphansHungUp: 0, newCalls: 0, callbacksRestored: 0 };

    for (const call of before) {
      if (ctx.registry.get(call.id) !== call) continue; // it ended on its own meanwhile
      if (call.keptPlace && !call.offer?.answered && call.state === 'queued') continue; // a kept place: no channel yet
      if (!live.has(call.channelId)) {
        await flow.callerGone(call, 'lost_while_disconnected');
        stats.finalised++;
      } else if (call.offer && !live.has(call.offer.channelId) && !call.offer.answered) {
        await flow.offerEnded(call, call.offer.channelId, 'no_answer');
      } else if (call.state === 'connected' && call.agentChannelId && !live.has(call.agentChannelId)) {
        await flow.agentGone(call, 'lost_while_disconnected');
      }
    }

    for (const row of open) {
      // This run's own calls follow their events (one that just ended may still read as open here).
      if (ctx.registry.get(row.id) || row.started_at.getTime() >= serviceStartedAt) continue;
      if (live.has(row.channel_id)) {
        await adopt(row, live);
        stats.adopted++;
      } else {
        await finaliseStale(row);
        stats.finalised++;
      }
    }

    for (const ch of channels) {
      if (ctx.registry.forChannel(ch.id) || knownChannels.has(ch.id)) continue;
      const data = ch.dialplan?.app_name === 'Stasis' ? (ch.dialplan.app_data ?? '') : '';
      const [chApp, kind, callId] = data.split(',');
      if (chApp !== settings.app || kind === 'callback') continue; // click-to-call legs are the dialler's
      if (kind === 'recording') {
        if (keepsRecording(ch.id, callId ?? '')) continue;
        await hangupQuietly(ctx, ch.id);
        stats.orphansHungUp++;
      } else if (kind === 'agent' || kind === 'transfer' || kind === 'resident' || /-(a|t)\d+$/.test(ch.id)) {
        await hangupQuietly(ctx, ch.id);
        stats.orphansHungUp++;
      } else if (ch.state === 'Ring' || ch.state === 'Up' || ch.state === 'Ringing') {
        await flow.acceptInbound(ch);
        stats.newCalls++;
      }
    }

    // Kept places survive a restart in their order; ones a previous run had started are not fired twice.
    const known = new Set(ctx.registry.all().flatMap((c) => (c.keptPlace ? [c.keptPlace.requestId] : [])));
    await ctx.keepPlaces.interruptDialing(settings.nodeId, [...known]);
    for (const w of await ctx.keepPlaces.waiting(settings.nodeId)) {
      if (known.has(w.id)) continue;
      ctx.queue.add(flow.keptPlace(w.id, w.call_id, w.number, w.skill, w.position_at.getTime()));
      stats.callbacksRestored++;
    }

    // Agents still held for calls this node no longer has.
    for (const held of await acd.agentsOnCalls()) {
      if (held.node !== settings.nodeId || ctx.registry.get(held.callId)) continue;
      await ctx.release.afterLostCall(held.agentId, held.callId, held.state === 'busy');
    }
    ctx.log.info(stats, 'reconciled with Asterisk');
    flow.kick();
    return stats;
  }

  /**
   * A recording snoop channel (connect.ts) still recording: it stays while its call is live here and still in its
   * conversation (connected, or with a transfer); the snoop of a call that is gone or past the conversation goes.
   */
  function keepsRecording(snoopId: string, callId: string): boolean {
    const call = ctx.registry.get(callId);
    if (!call || call.isOver || snoopId !== recordingChannelOf(call.id)) return false;
    if (call.state !== 'connected' && call.state !== 'transferring' && call.state !== 'transferred') return false;
    if (call.recordingChannelId !== null && call.recordingChannelId !== snoopId) return false;
    call.recordingChannelId = snoopId; // adopted: the survey, if any, stops it as usual
    return true;
  }

  /**
   * A call of a previous run of this node whose caller is still on the line. Its legs are mapped in the same tick
   * as the call is registered, and until the adoption is complete a hangup of any of them waits for it (as during
   * bridging): otherwise a leg that hangs up while we read its record is never seen, and the call never ends.
   */
  async function adopt(row: CallRow, live: Map<string, ChannelSnapshot>): Promise<void> {
    const call = new Call(row.id, row.channel_id, row.caller_number, row.caller_name, row.started_at.getTime(), ctx.repo, row.state);
    call.offerCount = row.offer_count;
    call.answered = row.answered_at !== null || live.get(row.channel_id)?.state === 'Up';
    call.bridgeId = row.bridge_id;
    if (row.bridge_id) call.bridgeReady = Promise.resolve(row.bridge_id);
    if (ctx.registry.add(call) !== call) return; // its channel came back as a new StasisStart meanwhile
    const snoop = recordingChannelOf(row.id); // not a leg: reconcile keeps or hangs it up below
    for (const id of live.keys()) if (id.startsWith(`${row.id}-`) && id !== snoop) ctx.registry.mapChannel(id, call);
    if (row.agent_channel_id && live.has(row.agent_channel_id)) ctx.registry.mapChannel(row.agent_channel_id, call);
    call.lookup = ctx.lookup(row.caller_number, row.id).catch(() => null);
    const adopting = adoptAs(call, row, live);
    const settled = adopting.then(
      () => undefined,
      () => undefined,
    );
    call.connecting = settled;
    try {
      await adopting;
    } finally {
      if (call.connecting === settled) call.connecting = null;
    }
  }

  async function adoptAs(call: Call, row: CallRow, live: Map<string, ChannelSnapshot>): Promise<void> {
    const { repo, transfers, acd } = ctx;
    if (row.state === 'connected' && row.agent_channel_id && live.has(row.agent_channel_id) && row.agent_id !== null) {
      call.agentId = row.agent_id;
      call.agentChannelId = row.agent_channel_id;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      return;
    }
    if (row.state === 'survey') {
      // The conversation is over; the survey cannot resume: close the record without a rating.
      ctx.registry.remove(call);
      await repo.transition(row.id, 'survey', 'ended', { ended_at: new Date(), outcome: 'answered' }, { survey: 'interrupted' });
      await hangupQuietly(ctx, row.channel_id);
      return;
    }
    if (row.state === 'transferred') {
      // The caller was talking with the department: keep following that leg, or end the call if it is gone.
      const leg = [...live.keys()].find((id) => id.startsWith(`${row.id}-t`));
      call.agentId = row.agent_id;
      call.agentReleased = true;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      if (leg) {
        call.transfer = await transfers.adopt(leg, row.agent_id ?? 0);
        return;
      }
      await call.transition('ended', { ended_at: new Date(), hangup_by: 'system', hangup_cause: 'lost_while_disconnected' });
      await hangupQuietly(ctx, row.channel_id);
      await flow.finish(call, null);
      return;
    }
    // Not connected any more (or never was): any agent or transfer leg is stale; the caller waits again at the front.
    for (const [id] of live) if (id !== row.channel_id) ctx.registry.unmapChannel(id);
    for (const [id] of live) {
      if (id.startsWith(`${row.id}-t`)) {
        await hangupQuietly(ctx, id);
        await transfers.endForChannel(id, 'failed');
      }
    }
    if (row.agent_channel_id && live.has(row.agent_channel_id)) await hangupQuietly(ctx, row.agent_channel_id);
    for (const [id] of live) if (id.startsWith(`${row.id}-a`)) await hangupQuietly(ctx, id);
    if (row.agent_id !== null) await acd.cancel(row.agent_id, row.id);
    if (row.state === 'connected') {
      // The agent leg is gone: the conversation is over even if the caller still hears silence.
      call.agentId = row.agent_id;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      await flow.agentGone(call, 'lost_while_disconnected');
      return;
    }
    if (row.state !== 'queued') void repo.transition(row.id, row.state, 'queued', {}, { adopted: true });
    call.state = 'queued';
    call.enqueuedAt = row.queued_at?.getTime() ?? row.started_at.getTime();
    ctx.queue.add(call);
    if (call.answered) {
      call.mohOn = false;
      await flow.startMoh(call);
    }
  }

  /** An open record whose caller is gone: close it with what we know. */
  async function finaliseStale(row: CallRow): Promise<void> {
    const now = new Date();
    const connected = row.state === 'connected' || row.state === 'survey';
    await ctx.repo.transition(row.id, row.state, connected ? 'ended' : 'abandoned', {
      ended_at: now,
      outcome: connected ? 'answered' : 'abandoned',
      hangup_by: 'system',
      hangup_cause: 'lost_while_disconnected',
      ...(row.state === 'survey'
        ? {} // talk time was recorded when the agent hung up
        : connected
          ? { talk_ms: now.getTime() - (row.connected_at?.getTime() ?? now.getTime()) }
          : { wait_ms: now.getTime() - row.started_at.getTime() }),
    });
    if (row.agent_id !== null && row.state !== 'survey') await ctx.release.afterLostCall(row.agent_id, row.id, connected);
  }

  return { reconcile };
}
