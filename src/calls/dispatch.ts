// Step: match waiting callers with available agents. Every waiting caller that can get an agent gets one in the
// same run (offers go out in parallel, never one per tick); bursts of triggers coalesce into back-to-back runs;
// a timer wakes the dispatcher when the next wrap-up ends, since nothing else announces it.
import type { Reservation } from '../agents/acd';
import type { Call } from './call';
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
    const { acd, queue } = ctx;
    if (!queue.size) return;
    if (!ctx.sw.isUp) {
      for (const call of queue.ordered()) call.flushInsert();
      return;
    }
    // Every waiting caller is matched in one round trip, oldest first; offers then go out in parallel.
    const waiting = queue.ordered().filter((c) => c.state === 'queued');
    const sentAt = performance.now();
    const reserved = await acd.reserveMany(waiting.map((c) => ({ callId: c.id, skill: c.skill })));
    const timing = { sentAt, answeredAt: performance.now() };
    const byCall = new Map(reserved.map((r) => [r.callId, r]));
    for (const call of waiting) {
      const res = byCall.get(call.id);
      if (!res) continue;
      if (call.isOver || !queue.has(call)) {
        guard(ctx, 'cancel', async () => void (await acd.cancel(res.agentId, call.id))); // caller left while we were reserving
        continue;
      }
      queue.remove(call);
      call.reserveTiming = timing;
      if (call.keptPlace) guard(ctx, 'keptPlace', () => offerKeptPlace(call, res));
      else guard(ctx, 'offer', () => ctx.flow.offer(call, res));
    }
    // Music on hold only for callers who really wait: those this run found no agent for (a caller who arrived
    // meanwhile gets their own try in the next run first), and only if no agent frees up soon (waiting.ts).
    for (const call of waiting) {
      if (byCall.has(call.id)) continue;
      call.flushInsert(); // no agent: the record is written as it is, queued
      if (queue.has(call) && !call.answered && !call.isOver && !call.keptPlace) ctx.flow.holdSoon(call);
    }
    await scheduleWake();
  }

  /** A kept place is taken exactly once (PostgreSQL decides) before its agent is rung. */
  async function offerKeptPlace(call: Call, res: Reservation): Promise<void> {
    const claimed = await ctx.flow.claimKeptPlace(call, res.agentId);
    if (claimed === true) return ctx.flow.offer(call, res);
    await ctx.acd.cancel(res.agentId, call.id);
    if (claimed === false) {
      ctx.registry.remove(call); // taken by another process or a previous run: never fired twice
    } else {
      ctx.queue.add(call); // database trouble: the place stays kept; tried again on the next dispatch
    }
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
