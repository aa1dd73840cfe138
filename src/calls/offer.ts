// Step: ring the reserved agent (originate into our app), send the screen pop while the phone rings (not after
// answer), and handle an offer that ends unanswered — the agent goes to the back of the idle order (autopause after
// N misses), the caller back to the front of the queue.
import type { Reservation } from '../agents/acd';
import { agentEndpoint } from '../agents/endpoint';
import { SwitchCommandError } from '../telephony/switch';
import type { Call } from './call';
import { bridgeOf, hangupQuietly, later, type CallContext, type Flow, type OfferResult } from './context';

/** How long an agent whose phone Asterisk refused to ring is skipped (AMI presence usually knows sooner). */
const UNREACHABLE_BACKOFF_MS = 30_000;

export function offerStep(ctx: CallContext): Pick<Flow, 'offer' | 'offerEnded'> {
  const { flow } = ctx;

  async function offer(call: Call, res: Reservation): Promise<void> {
    const { sw, settings } = ctx;
    call.offerCount += 1;
    const channelId = `${call.id}-a${call.offerCount}`;
    const now = Date.now();
    call.offer = { agentId: res.agentId, extension: res.extension, channelId, startedAt: now, timer: null, answered: false };
    ctx.registry.mapChannel(channelId, call);
    const ring = { agentId: res.agentId, channelId, at: new Date(now) };
    // Writes never reject (CallRepo retries and logs); the pop does not wait for this one.
    void (call.pendingInsert
      ? call.offerInFirstWrite({ ...ring, offerCount: call.offerCount })
      : call.transition('offering', { agent_id: res.agentId, offered_at: ring.at, offer_count: call.offerCount }, { agentId: res.agentId }, ring));
    const callerId = call.callerNumber ? `"${call.callerName ?? call.callerNumber}" <${call.callerNumber}>` : `"${settings.callerIdName}" <${settings.callerIdNumber}>`;
    const t0 = performance.now();
    const originated = sw.originate({
      endpoint: agentEndpoint(settings.agentEndpointTemplate, res),
      appArgs: `agent,${call.id}`,
      callerId,
      timeoutSec: settings.ringTimeoutSec,
      channelId,
      variables: { HOTLINE114_CALL_ID: call.id },
    });
    // The bridge is made while the agent's phone rings, so answering costs only the addChannel; asked for after
    // the originate so that Asterisk takes the ring first. Not awaited: a failure here surfaces when the agent
    // answers (connect.ts); logged, never an unhandled rejection.
    bridgeOf(ctx, call).catch((err) => ctx.log.warn({ err: (err as Error).message, callId: call.id }, 'bridge could not be created'));
    call.popSent = sendPop(call, res.agentId, channelId, now, t0);
    try {
      await originated;
    } catch (err) {
      // Asterisk answered with a refusal (unregistered phone, "Allocation failed"): the phone is unreachable. No
      // answer at all (connection lost, timeout) says nothing about the phone, and Asterisk may still create the
      // channel: it is hung up, and the agent stays eligible.
      const refused = err instanceof SwitchCommandError && err.status !== null;
      ctx.log.warn({ err: (err as Error).message, callId: call.id, agentId: res.agentId, refused }, 'originate to agent failed');
      if (!refused) await hangupQuietly(ctx, channelId);
      return offerEnded(call, channelId, 'failed', { phoneUnreachable: refused });
    }
    // Our own guard in case Asterisk never reports the end of the ring (lost event, reconnect).
    const current = call.offer;
    if (current && current.channelId === channelId) {
      current.timer = later(ctx, 'ringTimeout', (settings.ringTimeoutSec + 5) * 1000, () => ringTimedOut(call, channelId));
    }
    await call.popSent;
  }

  /**
   * The pop goes out as soon as the originate is on its way and the caller is looked up (started at StasisStart,
   * usually done by now): the console shows the caller as the phone starts to ring. It waits neither for Asterisk's
   * answer to the originate (that round trip was the tail of the pop's latency under load; a refusal ends the
   * offer, and the console hears "missed") nor for the offer's record (an fsync). It is dropped only when this
   * offer ended unanswered before it went out (the console was told "missed" already); an agent who answered, even
   * a call that is already over, still gets it, before "connected" and "ended" (they wait for it).
   */
  async function sendPop(call: Call, agentId: number, channelId: string, now: number, t0: number): Promise<void> {
    try {
      const pop = await call.lookup;
      if (call.offer?.channelId !== channelId && call.agentChannelId !== channelId) return;
      const t2 = performance.now();
      const rt = call.reserveTiming;
      await ctx.hub.publish(agentId, {
        type: 'call.offered',
        callId: call.id,
        callerNumber: call.callerNumber,
        caller: pop?.caller ?? null,
        recentCalls: pop?.recentCalls ?? [],
        openCases: pop?.openCases ?? [],
        queueWaitMs: now - (call.enqueuedAt ?? call.startedAt),
        offeredAt: new Date(now).toISOString(),
        ...(call.keptPlace ? { callback: true } : {}),
      });
      ctx.log.debug(
        {
          callId: call.id,
          popMs: performance.now() - call.receivedAt,
          toOfferMs: t0 - call.receivedAt,
          // toOfferMs = toReserveMs (until the dispatch run asked Redis) + reserveMs (its round trip) + the rest
          ...(rt ? { toReserveMs: rt.sentAt - call.receivedAt, reserveMs: rt.answeredAt - rt.sentAt } : {}),
          lookupWaitMs: t2 - t0, // after the originate was sent
          // Epoch ms (µs precision) of the caller's arrival here and of the originate, to set against a packet capture.
          receivedAtEpoch: performance.timeOrigin + call.receivedAt,
          originateAtEpoch: performance.timeOrigin + t0,
        },
        'screen pop sent',
      );
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, callId: call.id, agentId }, 'screen pop could not be sent');
    }
  }

  async function ringTimedOut(call: Call, channelId: string): Promise<void> {
    if (call.offer?.channelId !== channelId || call.offer.answered) return;
    ctx.log.warn({ callId: call.id, channelId }, 'ring timeout without Asterisk reporting it; hanging up agent leg');
    await hangupQuietly(ctx, channelId);
    await offerEnded(call, channelId, 'no_answer');
  }

  /** The agent did not take the call: release them (missed), the caller goes back to the front of the queue. */
  async function offerEnded(call: Call, channelId: string, result: OfferResult, opts: { phoneUnreachable?: boolean } = {}): Promise<void> {
    const current = call.offer;
    if (!current || current.channelId !== channelId || current.answered) return;
    if (current.timer) clearTimeout(current.timer);
    call.offer = null;
    ctx.registry.unmapChannel(channelId);
    const { acd, repo, settings, hub } = ctx;
    const now = new Date();
    void repo.endOffer(call.id, channelId, result, now);
    // Asterisk refused to ring the phone (unregistered/unreachable): until AMI says otherwise, don't offer again
    // at once — three instant refusals would otherwise auto-pause the agent within milliseconds.
    if (result === 'failed' && opts.phoneUnreachable !== false) await acd.markUnreachable(current.agentId, Date.now() + UNREACHABLE_BACKOFF_MS);
    const agentState = await acd.missed(current.agentId, call.id, settings.maxMissedOffers);
    ctx.log.info({ callId: call.id, agentId: current.agentId, result, agentState }, 'offer not answered');
    void hub.publish(current.agentId, { type: 'call.ended', callId: call.id, endedAt: now.toISOString(), outcome: 'missed', hangupBy: null, reason: result });
    if (call.isOver) return;
    void call.transition('queued', {}, { after: result, agentId: current.agentId });
    ctx.queue.add(call);
    flow.kick();
  }

  return { offer, offerEnded };
}
