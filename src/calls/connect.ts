// Step: the agent answered — stop whatever the caller hears, answer them if they still hear ringback, bridge both
// legs, record the connection (PostgreSQL before anyone is told), then start the recording (a snoop channel).
import type { ChannelSnapshot } from '../telephony/switch';
import type { Call, Offer } from './call';
import { bridgeOf, hangupQuietly, ignoreNotFound, recordingChannelOf, recordingName, stopRecording, type CallContext, type Flow } from './context';

export function connectStep(ctx: CallContext): Pick<Flow, 'agentLegAnswered' | 'markConnected' | 'recordingChannelStarted'> {
  async function agentLegAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const { sw } = ctx;
    const call = ctx.registry.get(callId);
    const offer = call?.offer;
    if (!call || !offer || offer.channelId !== channel.id || call.isOver) {
      ctx.log.warn({ callId, channelId: channel.id }, 'agent answered a call that is no longer offered; hanging up');
      await hangupQuietly(ctx, channel.id);
      return;
    }
    offer.answered = true;
    if (offer.timer) clearTimeout(offer.timer);
    call.agentId = offer.agentId;
    call.agentChannelId = channel.id;
    if (call.announceTimer) clearTimeout(call.announceTimer);
    call.announceTimer = null;
    ctx.queue.remove(call);
    if (call.keptPlace) return ctx.flow.dialResident(call, channel.id);

    // addChannel blocks while a playback runs on the caller (DESIGN §8): stop it first.
    const prep: Promise<unknown>[] = [bridgeOf(ctx, call)];
    if (!call.answered) {
      call.answered = true;
      prep.push(
        // answered_at goes with the connected transition
        (call.ringSent ?? Promise.resolve()).then(() => sw.answer(call.channelId)).then(() => (call.answeredAt = Date.now())),
      );
    }
    if (call.playbackId) {
      const pb = call.playbackId;
      call.playbackId = null;
      prep.push(sw.stopPlayback(pb).catch((err) => ignoreNotFound(ctx, err)));
    }
    if (call.mohOn) {
      call.mohOn = false;
      prep.push(sw.stopMoh(call.channelId).catch((err) => ignoreNotFound(ctx, err)));
    }
    // A hangup of either leg while we bridge waits for this, then sees the call as it really ended up.
    const bridging = (async () => {
      const [id] = (await Promise.all(prep)) as [string];
      await sw.addToBridge(id, [call.channelId, channel.id]);
      return id;
    })();
    call.connecting = bridging.then(
      () => undefined,
      () => undefined,
    );
    let bridgeId: string;
    try {
      bridgeId = await bridging;
    } catch (err) {
      if (!call.isOver) ctx.log.warn({ err: (err as Error).message, callId: call.id }, 'bridging caller and agent failed');
      return; // the caller's hangup (if that was it) finishes the call; otherwise the legs' hangups do
    } finally {
      call.connecting = null;
    }
    if (call.isOver) return;
    await markConnected(call, offer, channel.id, bridgeId);
  }

  async function markConnected(call: Call, offer: Offer, agentChannelId: string, bridgeId: string): Promise<void> {
    const { acd, hub, settings } = ctx;
    // State changes before the next await: a hangup arriving meanwhile must see a connected call.
    const connectedAt = Date.now();
    call.connectedAt = connectedAt;
    // Recorded by the dialplan (its name), or by us through a snoop (ours), or not at all.
    const recordHere = settings.recordCalls && !call.dialplanRecording;
    const recordingAs = call.dialplanRecording ?? (recordHere ? recordingName(call) : null);
    const written = call.transition(
      'connected',
      {
        connected_at: new Date(connectedAt),
        agent_channel_id: agentChannelId,
        wait_ms: connectedAt - call.startedAt,
        bridge_id: bridgeId,
        ...(call.answeredAt !== null ? { answered_at: new Date(call.answeredAt) } : {}),
        ...(recordingAs ? { recording_name: recordingAs } : {}),
      },
      { agentId: offer.agentId },
      undefined,
      agentChannelId,
    );
    // The conversation has begun: the recording starts alongside the writes and the console message, not after
    // them (a failure's patch of the name is queued behind the transition above).
    const recording = recordHere ? startRecording(call) : null;
    await Promise.all([acd.connect(offer.agentId, call.id, connectedAt), written]);
    ctx.log.info({ callId: call.id, agentId: offer.agentId, waitMs: connectedAt - call.startedAt }, 'call connected');
    await call.popSent;
    await hub.publish(offer.agentId, { type: 'call.connected', callId: call.id, connectedAt: new Date(connectedAt).toISOString() });
    await recording;
  }

  /**
   * Recording through a snoop channel on the caller's channel, not a bridge recording: a bridge recording adds a
   * Recorder channel as a third participant and turns the two-party bridge into a mixing (softmix) bridge, a
   * mixing thread per call. The snoop enters our app (recordingChannelStarted) and is recorded there. It stays
   * with the caller through transfers and ends when the caller's channel goes; once per call (a caller back from a
   * failed blind transfer is still being recorded). The name is stored with the connected transition; cleared
   * again if the recording does not start.
   */
  async function startRecording(call: Call): Promise<void> {
    if (call.recordingChannelId) return;
    const snoopId = recordingChannelOf(call.id);
    call.recordingChannelId = snoopId;
    try {
      await ctx.sw.snoop(call.channelId, { snoopId, appArgs: `recording,${call.id}`, spy: 'both' });
    } catch (err) {
      if (call.recordingChannelId === snoopId) call.recordingChannelId = null;
      recordingFailed(call, err);
    }
  }

  async function recordingChannelStarted(channel: ChannelSnapshot, callId: string): Promise<void> {
    const call = ctx.registry.get(callId);
    if (!call || call.isOver || call.recordingChannelId !== channel.id) {
      await hangupQuietly(ctx, channel.id); // a call that ended (or stopped recording) meanwhile
      return;
    }
    try {
      await ctx.sw.recordChannel(channel.id, recordingName(call), { format: 'wav', ifExists: 'overwrite' });
    } catch (err) {
      recordingFailed(call, err);
      await stopRecording(ctx, call);
    }
  }

  function recordingFailed(call: Call, err: unknown): void {
    ctx.log.warn({ err: (err as Error).message, callId: call.id }, 'recording could not start');
    void ctx.repo.patch(call.id, { recording_name: null });
  }

  return { agentLegAnswered, markConnected, recordingChannelStarted };
}
