// Step: a caller reaches our Stasis app. The record is born (PostgreSQL) and the caller looked up in parallel;
// with a greeting, a menu or outside opening hours the caller is answered and hears it, otherwise they queue at
// once and hear ringback while an agent is rung (DESIGN §8).
import { randomUUID } from 'node:crypto';
import type { ChannelSnapshot } from '../telephony/switch';
import { normalizePhone } from '../infra/phone';
import { Call } from './call';
import { isOpenAt, parseOpeningHours } from './hours';
import { PROMPTS } from './prompts';
import { sound, toMedia, type CallContext, type Flow } from './context';

export function inboundStep(ctx: CallContext): Pick<Flow, 'acceptInbound'> {
  const hours = parseOpeningHours(ctx.settings.businessHours);

  async function isOpen(): Promise<boolean> {
    // 24/7 (the default) costs nothing on the set-up path.
    if (hours.alwaysOpen) return true;
    return isOpenAt(hours, await ctx.calendar(), new Date());
  }

  async function acceptInbound(channel: ChannelSnapshot, opts: { ringing?: boolean; recording?: string | null } = {}): Promise<Call> {
    const { repo, settings, sw, flow } = ctx;
    const startedAt = Date.now();
    const number = normalizePhone(channel.caller.number ?? '');
    const open = await isOpen();
    // Without a greeting or menu the caller queues at once: the record is born queued (one write on the set-up path).
    const initial = !open || settings.greeting || settings.ivrEnabled ? 'ringing' : 'queued';
    const call = new Call(randomUUID(), channel.id, number, channel.caller.name || null, startedAt, repo, initial);
    if (initial === 'queued') call.enqueuedAt = startedAt;
    call.dialplanRecording = opts.recording ?? null;
    // Reconcile may have taken this channel as a new call while we awaited: one call per channel (registry.ts).
    const owner = ctx.registry.add(call);
    if (owner !== call) return owner;
    call.pendingInsert = {
      id: call.id,
      nodeId: settings.nodeId,
      channelId: channel.id,
      callerNumber: number,
      callerName: call.callerName,
      state: initial,
      startedAt: new Date(startedAt),
      queuedAt: call.enqueuedAt === null ? null : new Date(call.enqueuedAt),
    };
    // A caller who queues at once may be offered before the row is written (dispatch.ts): both go in one statement.
    if (initial === 'ringing') call.flushInsert();
    call.lookup = ctx.lookup(number, call.id).catch((err) => {
      ctx.log.warn({ err, callId: call.id }, 'caller lookup failed');
      return null;
    });
    ctx.log.info({ callId: call.id, channelId: channel.id, callerNumber: number, open }, 'inbound call');

    if (initial === 'ringing') {
      await sw.answer(channel.id);
      if (call.isOver) return call;
      call.answered = true;
      void call.transition('answered', { answered_at: new Date() });
      if (!open) {
        call.phase = 'after_hours';
        call.playbackId = await sw.play(channel.id, sound(PROMPTS.afterHours));
      } else if (settings.greeting) {
        call.phase = 'greeting';
        call.playbackId = await sw.play(channel.id, settings.greeting.split(',').map(toMedia));
      } else {
        // No greeting but a menu: straight to it (what follows a greeting, see ivr.ts).
        await flow.promptEndedWhileAnswered(call);
      }
      return call; // the next step follows the end of the prompt (stasis.ts → ivr.ts)
    }
    // No greeting: ring the agent first, answer the caller when the agent answers (DESIGN §8). The ringback
    // indication goes out before dispatch can answer the caller (no agent: MOH); see waiting.ts holdCaller. The
    // dialplan usually sent it already (Ringing() before Stasis, "inbound,ringing"): one request less per call.
    if (!opts.ringing) call.ringSent = sw.ring(channel.id).catch((err) => ctx.log.warn({ err, callId: call.id }, 'ring indication failed'));
    ctx.queue.add(call);
    flow.kick();
    return call;
  }

  return { acceptInbound };
}
