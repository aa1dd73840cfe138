// Step: either side hangs up. A caller who leaves before an agent answered has abandoned; otherwise the
// conversation ends (or, when the agent leaves first and the survey is on, the caller is asked to rate it). The
// record is final first, then the agent is released, then the call is forgotten.
import type { Call } from './call';
import type { CallState } from './state';
import { destroyBridge, dropUnusedRecording, hangupQuietly, stopRecording, type CallContext, type Flow, type HangupBy } from './context';

export function endingStep(ctx: CallContext): Pick<Flow, 'callerGone' | 'agentGone' | 'finish' | 'releaseAgent'> {
  const { flow } = ctx;

  /**
   * Who ended the call, and why: the side whose channel went, unless the switch cut it (Asterisk stopping or
   * restarting) or we lost it while disconnected from Asterisk — then the system.
   */
  function endedBy(call: Call, side: 'caller' | 'agent', why: string): { hangup_by: 'caller' | 'agent' | 'system'; hangup_cause: string } {
    if (call.systemEnd) return { hangup_by: 'system', hangup_cause: call.systemEnd };
    if (why === 'lost_while_disconnected') return { hangup_by: 'system', hangup_cause: why };
    return { hangup_by: side, hangup_cause: why };
  }

  /** Caller hung up: abandoned if no agent had answered yet, else the conversation ends. */
  async function callerGone(call: Call, why: string): Promise<void> {
    if (call.isOver) return;
    const by = endedBy(call, 'caller', why);
    if (call.state === 'survey') return flow.endSurvey(call, null, 'caller_hangup');
    if (call.state === 'answered' && call.phase === 'after_hours') {
      call.clearTimers();
      await call.transition('closed', { ended_at: new Date(), ...by });
      return finish(call, null);
    }
    if (call.keptPlace?.claimed && call.state !== 'connected') {
      void ctx.keepPlaces.finish(call.keptPlace.requestId, 'failed').catch((err) => ctx.log.warn({ err }, 'callback status update failed'));
    }
    if (call.transfer) await flow.dropTransferLeg(call, call.transfer.answered ? 'answered' : 'cancelled');
    if (call.state === 'transferring' || call.state === 'transferred') {
      const now = Date.now();
      call.clearTimers();
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), ...by });
      await finish(call, by.hangup_by);
      return;
    }
    const now = Date.now();
    call.clearTimers();
    ctx.queue.remove(call);
    if (call.state === 'connected' && call.agentId !== null) {
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), ...by });
      if (call.agentChannelId) await hangupQuietly(ctx, call.agentChannelId);
      // The console hears "ended" before the agent can be offered the next call.
      await releaseAgent(call, by.hangup_by);
      await finish(call, by.hangup_by);
      return;
    }
    const offer = call.offer;
    call.offer = null;
    // Same per-call chain: the offer's end commits before the abandoned state anyone is told about.
    if (offer) void ctx.repo.endOffer(call.id, offer.channelId, 'cancelled', new Date(now));
    await call.transition('abandoned', { ended_at: new Date(now), wait_ms: now - call.startedAt, ...by });
    if (offer) {
      if (offer.timer) clearTimeout(offer.timer);
      await hangupQuietly(ctx, offer.channelId);
      const ended = { outcome: 'abandoned', hangupBy: by.hangup_by } as const;
      if (offer.answered) {
        await call.popSent;
        await ctx.release.afterCall(offer.agentId, call.id, ended, { wrapMs: 0, now });
      } else {
        await ctx.acd.cancel(offer.agentId, call.id, now);
        void ctx.hub.publish(offer.agentId, { type: 'call.ended', callId: call.id, endedAt: new Date(now).toISOString(), ...ended });
      }
    }
    ctx.log.info({ callId: call.id, waitMs: now - call.startedAt }, 'call abandoned');
    await finish(call, null);
  }

  async function agentGone(call: Call, why: string): Promise<void> {
    if (call.state !== 'connected' || call.agentId === null) return;
    if (call.transfer?.answered) return flow.leaveThreeWay(call, why);
    const now = Date.now();
    const by = endedBy(call, 'agent', why);
    const talk = { talk_ms: now - (call.connectedAt ?? now), ...by };
    if (!ctx.settings.survey || by.hangup_by === 'system') {
      await call.transition('ended', { ended_at: new Date(now), ...talk });
      await hangupQuietly(ctx, call.channelId);
      await releaseAgent(call, by.hangup_by);
      await finish(call, by.hangup_by);
      return;
    }
    // The caller stays on for the survey; the agent is free (wrap-up) right away.
    await call.transition('survey', talk);
    await Promise.all([releaseAgent(call, 'agent'), stopRecording(ctx, call)]); // the survey is not recorded
    await destroyBridge(ctx, call);
    if ((call.state as CallState) !== 'survey') return; // the caller hung up meanwhile
    await flow.startSurvey(call);
  }

  async function finish(call: Call, hangupBy: HangupBy): Promise<void> {
    call.clearTimers();
    dropUnusedRecording(ctx, call);
    if (call.keptPlace?.claimed && call.state === 'ended') await ctx.keepPlaces.finish(call.keptPlace.requestId, 'done');
    await destroyBridge(ctx, call);
    ctx.registry.remove(call);
    await call.written;
    // Usually released already (the step that ended the call did it); a wake is then scheduled too.
    if (call.agentId !== null && call.state === 'ended' && !call.agentReleased) await releaseAgent(call, hangupBy);
  }

  async function releaseAgent(call: Call, hangupBy: HangupBy, reason?: string): Promise<void> {
    if (call.agentId !== null && !call.agentReleased) {
      call.agentReleased = true;
      await Promise.all([call.written, call.popSent]);
      await ctx.release.afterCall(call.agentId, call.id, { outcome: 'answered', hangupBy, ...(reason ? { reason } : {}) });
    }
    // The agent's wrap-up ends by time; make sure some process re-runs dispatch then.
    await flow.scheduleWake();
  }

  return { callerGone, agentGone, finish, releaseAgent };
}
