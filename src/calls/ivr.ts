// Step: what an answered caller hears before the queue — the end of the greeting, the optional IVR menu that
// picks a skill, and the after-hours message (1 leaves a callback request, otherwise goodbye).
import type { CallState } from './state';
import type { Call } from './call';
import { PROMPTS } from './prompts';
import { later, sound, stopPrompt, type CallContext, type Flow } from './context';

const MENU: Record<string, string | null> = { '1': 'consult', '2': 'complaint', '3': 'help', '0': null };

export function ivrStep(ctx: CallContext): Pick<Flow, 'promptEndedWhileAnswered' | 'promptEndedInMenu' | 'menuDigit' | 'afterHoursDigit'> {
  const { flow } = ctx;

  async function startMenu(call: Call): Promise<void> {
    call.phase = 'menu';
    if (call.state === 'answered') void call.transition('menu');
    call.menuTries += 1;
    call.playbackId = await ctx.sw.play(call.channelId, sound(PROMPTS.ivrMenu));
  }

  function clearPhaseTimer(call: Call): void {
    if (call.phaseTimer) clearTimeout(call.phaseTimer);
    call.phaseTimer = null;
  }

  async function menuDigit(call: Call, digit: string): Promise<void> {
    if (digit in MENU) return chooseSkill(call, MENU[digit] ?? null);
    if (call.menuTries >= 3) return chooseSkill(call, null);
    clearPhaseTimer(call);
    await stopPrompt(ctx, call);
    call.menuTries += 1;
    call.playbackId = await ctx.sw.play(call.channelId, [sound(PROMPTS.invalid), sound(PROMPTS.ivrMenu)]);
  }

  /** Menu done (a key, or none in time): queue for that skill; nobody with it within the fallback → anyone. */
  async function chooseSkill(call: Call, skill: string | null): Promise<void> {
    if (call.state !== 'menu') return;
    clearPhaseTimer(call);
    call.phase = null;
    call.skill = skill;
    await stopPrompt(ctx, call);
    if (skill) void ctx.repo.patch(call.id, { skill });
    await flow.enqueueAfterGreeting(call);
    const fallback = ctx.settings.ivrSkillFallbackSec;
    if (skill && fallback > 0 && (call.state as CallState) === 'queued') {
      call.phaseTimer = later(ctx, 'skillFallback', fallback * 1000, () => {
        if (call.state !== 'queued' || call.skill === null) return;
        ctx.log.info({ callId: call.id, skill }, 'no agent with the chosen skill in time; any agent may take the call');
        call.skill = null;
        flow.kick();
      });
    }
  }

  /** After hours: 1 leaves a callback request for agents; otherwise goodbye. */
  async function closeAfterHours(call: Call, callbackRequested: boolean): Promise<void> {
    if (call.state !== 'answered' || call.phase !== 'after_hours') return;
    call.clearTimers();
    call.phase = null;
    await stopPrompt(ctx, call);
    await call.written;
    if (callbackRequested) {
      await ctx.keepPlaces.request({
        callId: call.id,
        number: call.callerNumber,
        nodeId: ctx.settings.nodeId,
        skill: null,
        kind: 'after_hours',
        positionAt: new Date(call.startedAt),
      });
    }
    await call.transition('closed', { ended_at: new Date(), hangup_by: 'system' }, { callbackRequested });
    call.hangupAfterPlayback = true;
    call.playbackId = await ctx.sw.play(call.channelId, sound(callbackRequested ? PROMPTS.callbackConfirmed : PROMPTS.goodbye));
  }

  /** A prompt ended while the caller is answered: after-hours waits for a key, a greeting leads on. */
  async function promptEndedWhileAnswered(call: Call): Promise<void> {
    if (call.phase === 'after_hours') {
      // Give the caller a moment to press 1 after the message, then say goodbye.
      call.phaseTimer = later(ctx, 'afterHours', 5000, () => closeAfterHours(call, false));
      return;
    }
    call.phase = null;
    return ctx.settings.ivrEnabled ? startMenu(call) : flow.enqueueAfterGreeting(call);
  }

  function promptEndedInMenu(call: Call): void {
    call.phaseTimer = later(ctx, 'menuTimeout', ctx.settings.ivrTimeoutSec * 1000, () => chooseSkill(call, null));
  }

  async function afterHoursDigit(call: Call, digit: string): Promise<void> {
    if (call.phase === 'after_hours' && digit === '1') await closeAfterHours(call, true);
  }

  return { promptEndedWhileAnswered, promptEndedInMenu, menuDigit, afterHoursDigit };
}
