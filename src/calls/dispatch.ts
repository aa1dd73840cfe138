// Step: match waiting callers with available agents. Every waiting caller that can get an agent gets one in the
// same run (offers go out in parallel, never one per tick); bursts of triggers coalesce into back-to-back runs;
// a timer wakes the dispatcher when the next wrap-up ends, since nothing else announces it.
import { guard, type CallContext, type Flow } from './context';

export function dispatchStep(ctx: CallContext): Pick<Flow, 'kick' | 'scheduleWake'> & { stop(): void } {
  let dispatching = false;
  let again = false;
  let wakeTimer: NodeJS.Timeout | null = null;

  function kick(): void {
    if (ctx.stopped) return;
    if (dispatching) {
      again = true;
      return;
    }
    dispatching = true;
    void dispatch()
      .catch((err) => ctx.log.error({ err }, 'dispatch failed'))
      .finally(() => {
        dispatching = false;
        if (again) {
          again = false;
          kick();
        }
      });
  }

  async function dispatch(): Promise<void> {
    const { acd, queue, flow } = ctx;
    if (!queue.size || !ctx.sw.isUp) return;
    const exhausted = new Set<string>();
    for (const call of queue.ordered()) {
      const skillKey = call.skill ?? '';
      if (exhausted.has(skillKey) || call.state !== 'queued') continue;
      const res = await acd.reserve(call.id, call.skill);
      if (!res) {
        ctx.log.debug({ callId: call.id, waiting: queue.size, sinceStasisMs: performance.now() - call.receivedAt }, 'no agent available');
        exhausted.add(skillKey);
        continue;
      }
      if (call.isOver || !queue.has(call)) {
        await acd.cancel(res.agentId, call.id); // caller left while we were reserving
        continue;
      }
      if (call.keptPlace) {
        const claimed = await flow.claimKeptPlace(call, res.agentId);
        if (claimed !== true) {
          await acd.cancel(res.agentId, call.id);
          if (claimed === false) {
            // Taken by another process or a previous run: never fired twice.
            queue.remove(call);
            ctx.registry.remove(call);
          } else {
            exhausted.add(skillKey); // database trouble: the place stays kept; try again on the next dispatch
          }
          continue;
        }
      }
      queue.remove(call);
      guard(ctx, 'offer', () => flow.offer(call, res));
    }
    for (const call of queue.ordered()) {
      if (!call.answered && !call.isOver && !call.keptPlace) guard(ctx, 'hold', () => flow.holdCaller(call));
    }
    await scheduleWake();
  }

  async function scheduleWake(): Promise<void> {
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = null;
    if (!ctx.queue.size) return;
    const at = await ctx.acd.nextEligibleAt();
    if (at === null) return;
    wakeTimer = setTimeout(() => kick(), Math.max(0, at - Date.now()) + 5);
    wakeTimer.unref();
  }

  function stop(): void {
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = null;
  }

  return { kick, scheduleWake, stop };
}
