// Step: the post-call survey. The agent hung up first and is already free; the caller rates the service by DTMF
// (1 满意, 2 基本满意, 3 不满意), hears a thank-you and is hung up; no key in time, or a hangup, ends it unrated.
import type { Call } from './call';
import { hangupQuietly, later, stopPrompt, toMedia, type CallContext, type Flow } from './context';

export function surveyStep(ctx: CallContext): Pick<Flow, 'startSurvey' | 'surveyDigit' | 'endSurvey'> {
  async function startSurvey(call: Call): Promise<void> {
    call.surveyTimer = later(ctx, 'surveyTimeout', ctx.settings.surveyTimeoutSec * 1000, () => endSurvey(call, null, 'timeout'));
    call.playbackId = await ctx.sw.play(call.channelId, toMedia(ctx.settings.surveyPrompt));
  }

  async function surveyDigit(call: Call, digit: string): Promise<void> {
    if (digit === '1' || digit === '2' || digit === '3') await endSurvey(call, Number(digit), 'rated');
  }

  /** Ends the survey: with a rating (thank-you, then hang up), on timeout, or because the caller hung up. */
  async function endSurvey(call: Call, score: number | null, why: 'rated' | 'timeout' | 'caller_hangup'): Promise<void> {
    if (call.state !== 'survey') return;
    call.clearTimers();
    await call.transition('ended', { ended_at: new Date(), survey_score: score }, { survey: why });
    ctx.registry.remove(call);
    if (why === 'caller_hangup') return;
    await stopPrompt(ctx, call);
    if (score !== null) {
      // Keep the channel mapped until the thank-you has played, then hang up.
      ctx.registry.mapChannel(call.channelId, call);
      call.hangupAfterPlayback = true;
      call.playbackId = await ctx.sw.play(call.channelId, toMedia(ctx.settings.surveyThanks));
      return;
    }
    await hangupQuietly(ctx, call.channelId);
  }

  return { startSurvey, surveyDigit, endSurvey };
}
