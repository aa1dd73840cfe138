// Step: transfers (一键转接, 三方通话, 110). Blind: the agent is freed at once, the caller holds while the target
// rings and is bridged with it on answer. Three-way: the target joins the agent and the caller; the agent may then
// leave. A target that does not answer never leaves the caller in silence: a blind transfer comes back to the
// same agent if they can take it (else to the front of the queue); a three-way call simply goes on.
import type { ChannelSnapshot } from '../telephony/switch';
import type { Call } from './call';
import type { CallState } from './state';
import type { Transfer, TransferMode, TransferTarget } from './transfer-repo';
import { CallNotConnectedError, CallNotLiveError, NoTransferError, TransferInProgressError, TransferNotAnsweredError } from './errors';
import { bridgeOf, destroyBridge, guard, hangupQuietly, later, stopMoh, type CallContext, type Flow, type TransferResult } from './context';

export interface TransferControl {
  transfer(callId: string, target: TransferTarget, mode: TransferMode, requestedBy: number | null): Promise<{ transferId: number; target: string }>;
  completeTransfer(callId: string): Promise<void>;
  cancelTransfer(callId: string): Promise<void>;
}

type TransferSteps = Pick<Flow, 'transferAnswered' | 'transferFailed' | 'transferLegGone' | 'dropTransferLeg' | 'leaveThreeWay'>;

export function transferStep(ctx: CallContext): TransferSteps & TransferControl {
  const { flow } = ctx;

  function progress(t: Transfer, callId: string, status: 'ringing' | 'answered' | 'failed' | 'completed' | 'left', reason?: string): Promise<unknown> {
    return ctx.hub.publish(t.agentId, {
      type: 'transfer.progress',
      callId,
      transferId: t.id,
      mode: t.mode,
      target: t.target.label,
      status,
      ...(reason ? { reason } : {}),
    });
  }

  async function transfer(callId: string, target: TransferTarget, mode: TransferMode, requestedBy: number | null): Promise<{ transferId: number; target: string }> {
    const { sw, settings, transfers } = ctx;
    const call = ctx.registry.get(callId);
    if (!call) throw new CallNotLiveError();
    if (call.state !== 'connected' || call.agentId === null) throw new CallNotConnectedError();
    if (call.transfer) throw new TransferInProgressError();
    const resolved = await transfers.resolve(target, { dial: (n) => ctx.dialler.dialString(n), policeNumber: settings.policeNumber });
    call.transferCount += 1;
    const t: Transfer = {
      id: null,
      mode,
      target: resolved,
      channelId: `${call.id}-t${call.transferCount}`,
      startedAt: Date.now(),
      answered: false,
      agentId: call.agentId,
      timer: null,
    };
    call.transfer = t;
    ctx.registry.mapChannel(t.channelId, call);
    t.id = await transfers.start(call.id, t, requestedBy);
    const emergency = resolved.type === 'police';
    ctx.log.info({ callId, mode, target: resolved.label, emergency }, 'transfer requested');

    if (mode === 'blind') {
      const agentChannel = call.agentChannelId;
      call.agentChannelId = null;
      await call.transition('transferring', {}, { mode, target: resolved.label, emergency });
      if (agentChannel) await hangupQuietly(ctx, agentChannel);
      await flow.releaseAgent(call, 'agent', 'transferred');
      call.mohOn = false;
      await flow.startMoh(call);
    }
    try {
      await sw.originate({
        endpoint: resolved.dialString,
        appArgs: `transfer,${call.id}`,
        callerId: `"${call.callerName ?? call.callerNumber}" <${call.callerNumber}>`,
        timeoutSec: settings.transferRingSec,
        channelId: t.channelId,
        variables: { HOTLINE114_CALL_ID: call.id, HOTLINE114_EMERGENCY: emergency ? '1' : '0' },
      });
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, callId }, 'transfer originate failed');
      await transferFailed(call, 'failed');
      return { transferId: t.id, target: resolved.label };
    }
    if (call.transfer === t && !t.answered) {
      t.timer = later(ctx, 'transferTimeout', (settings.transferRingSec + 5) * 1000, () => transferTimedOut(call, t));
    }
    void progress(t, callId, 'ringing');
    return { transferId: t.id, target: resolved.label };
  }

  async function transferTimedOut(call: Call, t: Transfer): Promise<void> {
    if (call.transfer !== t || t.answered) return;
    await hangupQuietly(ctx, t.channelId);
    await transferFailed(call, 'no_answer');
  }

  async function transferAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const { sw, transfers } = ctx;
    const call = ctx.registry.get(callId);
    const t = call?.transfer;
    if (!call || !t || t.channelId !== channel.id || t.answered || call.isOver) {
      await hangupQuietly(ctx, channel.id);
      return;
    }
    t.answered = true;
    if (t.timer) clearTimeout(t.timer);
    if (t.id !== null) void transfers.answered(t.id).catch((err) => ctx.log.warn({ err }, 'transfer record update failed'));
    const bridgeId = await bridgeOf(ctx, call);
    if (call.state === 'transferring') {
      await stopMoh(ctx, call);
      await sw.addToBridge(bridgeId, [channel.id]);
      if ((call.state as CallState) !== 'transferring') return;
      await call.transition('transferred', {}, { target: t.target.label });
      // The agent left at once but follows the outcome (转接成功 on their console).
      void progress(t, callId, 'answered');
    } else {
      await sw.addToBridge(bridgeId, [channel.id]);
      void progress(t, callId, 'answered');
    }
  }

  /** The agent leaves a three-way call whose target answered: caller and department go on without them. */
  async function completeTransfer(callId: string): Promise<void> {
    const call = ctx.registry.get(callId);
    if (!call) throw new CallNotLiveError();
    if (call.state !== 'connected' || !call.transfer?.answered) throw new TransferNotAnsweredError();
    await leaveThreeWay(call, 'three_way_completed');
  }

  async function leaveThreeWay(call: Call, why: string): Promise<void> {
    const t = call.transfer;
    if (!t || call.agentId === null) return;
    const agentChannel = call.agentChannelId;
    call.agentChannelId = null;
    await call.transition('transferred', {}, { target: t.target.label, why });
    await progress(t, call.id, 'completed');
    if (agentChannel) await hangupQuietly(ctx, agentChannel);
    await flow.releaseAgent(call, 'agent', 'transferred');
  }

  /** The agent drops a ringing or joined transfer target (three-way), or withdraws a ringing blind transfer. */
  async function cancelTransfer(callId: string): Promise<void> {
    const call = ctx.registry.get(callId);
    if (!call?.transfer) throw new NoTransferError();
    const t = call.transfer;
    await hangupQuietly(ctx, t.channelId);
    if (t.answered) await transferLegGone(call, undefined);
    else await transferFailed(call, 'cancelled');
  }

  async function dropTransferLeg(call: Call, result: 'answered' | 'cancelled'): Promise<void> {
    const t = call.transfer;
    if (!t) return;
    call.transfer = null;
    if (t.timer) clearTimeout(t.timer);
    ctx.registry.unmapChannel(t.channelId);
    if (t.id !== null) await ctx.transfers.ended(t.id, result);
    await hangupQuietly(ctx, t.channelId);
  }

  async function transferLegGone(call: Call, cause?: number): Promise<void> {
    const t = call.transfer;
    if (!t) return;
    if (!t.answered) return transferFailed(call, cause === 17 ? 'busy' : 'no_answer');
    call.transfer = null;
    ctx.registry.unmapChannel(t.channelId);
    if (t.id !== null) await ctx.transfers.ended(t.id, 'answered');
    if (call.state === 'transferred') {
      // The department hung up: the conversation is over for the caller too.
      const now = Date.now();
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), hangup_by: 'system', hangup_cause: 'transfer_target_hangup' });
      await hangupQuietly(ctx, call.channelId);
      await flow.finish(call, null);
    } else if (call.state === 'connected') {
      void progress(t, call.id, 'left');
    }
  }

  /** The target did not answer (or could not be dialled). */
  async function transferFailed(call: Call, result: TransferResult): Promise<void> {
    const t = call.transfer;
    if (!t || t.answered) return;
    call.transfer = null;
    if (t.timer) clearTimeout(t.timer);
    ctx.registry.unmapChannel(t.channelId);
    if (t.id !== null) await ctx.transfers.ended(t.id, result);
    ctx.log.info({ callId: call.id, result, target: t.target.label }, 'transfer not answered');
    void progress(t, call.id, 'failed', result);
    if (call.state !== 'transferring') return; // three-way: agent and caller simply go on talking
    // Blind: the caller comes back — to the same agent when they can take it, else first in the queue.
    await destroyBridge(ctx, call);
    call.bridgeReady = null;
    call.agentId = null;
    call.agentReleased = false;
    call.offer = null;
    await call.transition('queued', {}, { after: `transfer_${result}` });
    if (!call.mohOn) await flow.startMoh(call);
    const back = await ctx.acd.reserveAgent(t.agentId, call.id);
    if (back && !call.isOver) {
      guard(ctx, 'offer', () => flow.offer(call, back));
      return;
    }
    ctx.queue.add(call);
    flow.kick();
  }

  return { transfer, completeTransfer, cancelTransfer, transferAnswered, transferFailed, transferLegGone, dropTransferLeg, leaveThreeWay };
}
