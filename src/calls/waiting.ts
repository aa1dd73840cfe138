// Step: a caller waiting for an agent — joining the queue, being answered and held with music on hold only when no
// agent can take them now, and hearing their position (and the keep-my-place offer) from time to time.
import type { Call } from './call';
import { PROMPTS, positionAnnouncement, soundMedia } from './prompts';
import { guard, ignoreNotFound, later, stopMoh, type CallContext, type Flow } from './context';

export function waitingStep(ctx: CallContext): Pick<Flow, 'enqueue' | 'enqueueAfterGreeting' | 'holdSoon' | 'startMoh' | 'promptEndedWhileQueued'> {
  const { flow } = ctx;

  function enqueue(call: Call): void {
    if (call.isOver) return;
    if (call.enqueuedAt === null) call.enqueuedAt = Date.now();
    void call.transition('queued', { queued_at: new Date(call.enqueuedAt) });
    ctx.queue.add(call);
    flow.kick();
  }

  async function enqueueAfterGreeting(call: Call): Promise<void> {
    enqueue(call);
    // If an offer went out at once the caller will be bridged soon; otherwise dispatch holds them with MOH.
    if (call.state === 'queued' && !call.mohOn) {
      await startMoh(call);
      scheduleAnnouncement(call);
    }
  }

  /**
   * No agent right now. The caller keeps hearing ringback for CALL_HOLD_AFTER_MS first: an agent is often freed
   * within moments (a call ending, wrap-up over), and a caller rung through then was never answered into music on
   * hold for nothing. Whoever still waits after that is answered and held.
   */
  function holdSoon(call: Call): void {
    if (call.holdTimer || call.answered || call.isOver) return;
    const stillWaiting = () => !call.answered && !call.isOver && call.state === 'queued' && ctx.queue.has(call);
    const ms = ctx.settings.holdAfterMs;
    if (ms === 0) {
      guard(ctx, 'hold', () => holdCaller(call));
      return;
    }
    call.holdTimer = later(ctx, 'hold', ms, () => {
      call.holdTimer = null;
      // Being offered (ringing an agent) now: not waiting; if that offer fails, dispatch asks again.
      if (stillWaiting()) return holdCaller(call);
    });
  }

  /** Answer the caller and play music on hold while they wait, with position announcements. */
  async function holdCaller(call: Call): Promise<void> {
    if (call.answered || call.isOver) return;
    call.answered = true;
    // Real Asterisk (chan_pjsip) turns a ring indication on an answered channel into in-band ringback, which
    // stops the music on hold: answer and start MOH only once our ring request has been carried out.
    if (call.ringSent) await call.ringSent;
    if (call.isOver) return;
    await ctx.sw.answer(call.channelId);
    void ctx.repo.patch(call.id, { answered_at: new Date() });
    if (call.isOver || call.state !== 'queued') return;
    await startMoh(call);
    scheduleAnnouncement(call);
  }

  async function startMoh(call: Call): Promise<void> {
    if (call.mohOn || call.isOver) return;
    call.mohOn = true;
    await ctx.sw.startMoh(call.channelId, ctx.settings.mohClass);
  }

  function scheduleAnnouncement(call: Call): void {
    const every = ctx.settings.announceEverySec;
    if (!every || call.isOver) return;
    call.announceTimer = later(ctx, 'announce', every * 1000, () => announcePosition(call));
  }

  async function announcePosition(call: Call): Promise<void> {
    call.announceTimer = null;
    if (call.state !== 'queued' || !ctx.queue.has(call) || call.playbackId) return;
    const pos = ctx.queue.positionOf(call);
    await stopMoh(ctx, call);
    if (call.state !== 'queued') return;
    const names = pos <= 1 ? [PROMPTS.youAreNext] : positionAnnouncement(pos - 1);
    if (ctx.settings.callbackOffer) names.push(PROMPTS.callbackOffer);
    call.playbackId = await ctx.sw.play(call.channelId, soundMedia(names));
  }

  /** An announcement ended: back to the music until the next one. */
  async function promptEndedWhileQueued(call: Call): Promise<void> {
    // The caller may have hung up during the announcement: "not found" here is the expected race.
    await startMoh(call).catch((err) => ignoreNotFound(ctx, err));
    scheduleAnnouncement(call);
  }

  return { enqueue, enqueueAfterGreeting, holdSoon, startMoh, promptEndedWhileQueued };
}
