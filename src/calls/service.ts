// The 114 call flow (DESIGN §3): StasisStart → record + caller lookup → (greeting) → queue → reserve the
// longest-idle agent → originate → screen pop → bridge on answer → finalise on hangup. Reconciles with
// Asterisk's live channels after every (re)connect.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import { SwitchCommandError, type CallSwitch, type ChannelSnapshot } from '../telephony/switch';
import type { Acd, Reservation } from '../agents/acd';
import type { ScreenPopHub } from '../agents/hub';
import { Call, type ScreenPopContext } from './call';
import type { CallState } from './state';
import { CallRegistry } from './registry';
import { WaitingQueue } from './queue';
import type { CallRepo, CallRow } from './repo';
import type { TransferMode, TransferRepo, TransferTarget, Transfer } from './transfer';
import { ConflictError, NotFoundError } from '../infra/errors';
import type { QueueCallbackRepo } from './callbacks-repo';
import { isOpenAt, parseOpeningHours, type OpeningHours } from './hours';
import { PROMPTS, positionAnnouncement, soundMedia as soundMediaList } from './prompts';
import type { WorkCalendar } from '../sla/calendar';
import { normalizePhone } from '../infra/phone';

export type CallSettings = Config['calls'] & { app: string; recordCalls?: boolean };

export interface CallServiceDeps {
  sw: CallSwitch;
  acd: Acd;
  repo: CallRepo;
  transfers: TransferRepo;
  callbacks: QueueCallbackRepo;
  /** Working days for the opening hours (the work orders' holiday calendar). */
  calendar: () => Promise<WorkCalendar>;
  hub: ScreenPopHub;
  /** Redis connection in subscriber mode (shared with the hub) for "an agent became available" notices. */
  sub: Redis;
  lookup: (number: string, callId: string) => Promise<ScreenPopContext | null>;
  settings: CallSettings;
  logger: Logger;
}

type OfferResult = 'no_answer' | 'busy' | 'failed';

/** How long an agent whose phone Asterisk refused to ring is skipped (AMI presence usually knows sooner). */
const UNREACHABLE_BACKOFF_MS = 30_000;

const DIAL_FAILURES: Record<string, OfferResult> = {
  NOANSWER: 'no_answer',
  BUSY: 'busy',
  CONGESTION: 'failed',
  CHANUNAVAIL: 'failed',
  CANCEL: 'no_answer',
};

export class CallService {
  readonly registry = new CallRegistry();
  readonly queue = new WaitingQueue();
  private dispatching = false;
  private dispatchAgain = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: Logger;
  private readonly hours: OpeningHours;
  private readonly onMessage = (channel: string) => {
    if (channel === this.deps.acd.availabilityChannel) this.kick();
  };

  constructor(private readonly deps: CallServiceDeps) {
    this.log = deps.logger.child({ mod: 'calls' });
    this.hours = parseOpeningHours(deps.settings.businessHours);
  }

  async start(): Promise<void> {
    const { sw, sub, acd } = this.deps;
    sw.on('stasisStart', (e) => this.guard('stasisStart', () => this.onStasisStart(e.channel, e.args)));
    sw.on('stasisEnd', (e) => this.guard('stasisEnd', () => this.onChannelGone(e.channel.id, 'stasis_end')));
    sw.on('channelDestroyed', (e) => this.guard('channelDestroyed', () => this.onChannelGone(e.channel.id, `cause_${e.cause}`, e.cause)));
    sw.on('dial', (e) => this.guard('dial', () => this.onDial(e.peer.id, e.dialstatus)));
    sw.on('dtmf', (e) => this.guard('dtmf', () => this.onDtmf(e.channel.id, e.digit)));
    sw.on('playbackFinished', (e) => this.guard('playbackFinished', () => this.onPlaybackFinished(e.playbackId, e.targetUri)));
    sw.on('up', () => this.guard('reconcile', async () => void (await this.reconcile())));
    sub.on('message', this.onMessage);
    await sub.subscribe(acd.availabilityChannel);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.sub.off('message', this.onMessage);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const c of this.registry.all()) c.clearTimers();
    await this.deps.repo.flush();
  }

  /** Event handlers run detached from the emitter: log failures, never throw into ari-client. */
  private guard(what: string, fn: () => Promise<void> | void): void {
    Promise.resolve()
      .then(fn)
      .catch((err) => this.log.error({ err, what }, 'call event handling failed'));
  }

  // ---- inbound ---------------------------------------------------------------------------------------------

  private async onStasisStart(channel: ChannelSnapshot, args: string[]): Promise<void> {
    if (args[0] === 'agent') return this.onAgentLegAnswered(channel, args[1] ?? '');
    if (args[0] === 'transfer') return this.onTransferAnswered(channel, args[1] ?? '');
    if (args[0] === 'resident') return this.onResidentAnswered(channel, args[1] ?? '');
    if (args[0] === 'callback') return; // click-to-call legs: the supervision dialler owns them
    if (this.registry.forChannel(channel.id)) return; // already adopted by reconcile
    await this.acceptInbound(channel);
  }

  private async isOpen(): Promise<boolean> {
    // 24/7 (the default) costs nothing on the set-up path.
    if (this.hours.alwaysOpen) return true;
    return isOpenAt(this.hours, await this.deps.calendar(), new Date());
  }

  private async acceptInbound(channel: ChannelSnapshot, startedAt = Date.now()): Promise<Call> {
    const { repo, settings, sw } = this.deps;
    const number = normalizePhone(channel.caller.number ?? '');
    const open = await this.isOpen();
    // Without a greeting or menu the caller queues at once: the record is born queued (one write on the set-up path).
    const initial = !open || settings.greeting || settings.ivrEnabled ? 'ringing' : 'queued';
    const call = new Call(randomUUID(), channel.id, number, channel.caller.name || null, startedAt, repo, initial);
    if (initial === 'queued') call.enqueuedAt = startedAt;
    this.registry.add(call);
    call.written = repo.insertCall({
      id: call.id,
      nodeId: settings.nodeId,
      channelId: channel.id,
      callerNumber: number,
      callerName: call.callerName,
      state: initial,
      startedAt: new Date(startedAt),
      queuedAt: call.enqueuedAt === null ? null : new Date(call.enqueuedAt),
    });
    call.lookup = this.deps.lookup(number, call.id).catch((err) => {
      this.log.warn({ err, callId: call.id }, 'caller lookup failed');
      return null;
    });
    this.log.info({ callId: call.id, channelId: channel.id, callerNumber: number, open }, 'inbound call');

    if (initial === 'ringing') {
      await sw.answer(channel.id);
      if (call.isOver) return call;
      call.answered = true;
      void call.transition('answered', { answered_at: new Date() });
      if (!open) {
        call.phase = 'after_hours';
        call.playbackId = await sw.play(channel.id, soundMedia(PROMPTS.afterHours));
      } else if (settings.greeting) {
        call.phase = 'greeting';
        call.playbackId = await sw.play(channel.id, settings.greeting.split(',').map(toMedia));
      } else {
        await this.startMenu(call);
      }
      return call; // the next step follows the end of the prompt (onPlaybackFinished)
    }
    // No greeting: ring the agent first, answer the caller when the agent answers (DESIGN §8). The ringback
    // indication goes out before dispatch can answer the caller (no agent: MOH); see holdCaller.
    call.ringSent = sw.ring(channel.id).catch((err) => this.log.warn({ err, callId: call.id }, 'ring indication failed'));
    this.queue.add(call);
    this.kick();
    return call;
  }

  // ---- IVR menu and opening hours ----------------------------------------------------------------------------

  private static readonly MENU: Record<string, string | null> = { '1': 'consult', '2': 'complaint', '3': 'help', '0': null };

  private async startMenu(call: Call): Promise<void> {
    call.phase = 'menu';
    if (call.state === 'answered') void call.transition('menu');
    call.menuTries += 1;
    call.playbackId = await this.deps.sw.play(call.channelId, soundMedia(PROMPTS.ivrMenu));
  }

  private async onMenuDigit(call: Call, digit: string): Promise<void> {
    if (digit in CallService.MENU) return this.chooseSkill(call, CallService.MENU[digit] ?? null);
    if (call.menuTries >= 3) return this.chooseSkill(call, null);
    if (call.phaseTimer) clearTimeout(call.phaseTimer);
    call.phaseTimer = null;
    await this.stopPrompt(call);
    call.menuTries += 1;
    call.playbackId = await this.deps.sw.play(call.channelId, [soundMedia(PROMPTS.invalid), soundMedia(PROMPTS.ivrMenu)]);
  }

  /** Menu done (a key, or none in time): queue for that skill; nobody with it within the fallback → anyone. */
  private async chooseSkill(call: Call, skill: string | null): Promise<void> {
    if (call.state !== 'menu') return;
    if (call.phaseTimer) clearTimeout(call.phaseTimer);
    call.phaseTimer = null;
    call.phase = null;
    call.skill = skill;
    await this.stopPrompt(call);
    if (skill) void this.deps.repo.patch(call.id, { skill });
    await this.enqueueAfterGreeting(call);
    const fallback = this.deps.settings.ivrSkillFallbackSec;
    if (skill && fallback > 0 && (call.state as CallState) === 'queued') {
      call.phaseTimer = setTimeout(() => {
        if (call.state !== 'queued' || call.skill === null) return;
        this.log.info({ callId: call.id, skill }, 'no agent with the chosen skill in time; any agent may take the call');
        call.skill = null;
        this.kick();
      }, fallback * 1000);
      call.phaseTimer.unref();
    }
  }

  /** After hours: 1 leaves a callback request for agents; otherwise goodbye. */
  private async closeAfterHours(call: Call, callbackRequested: boolean): Promise<void> {
    if (call.state !== 'answered' || call.phase !== 'after_hours') return;
    call.clearTimers();
    call.phase = null;
    await this.stopPrompt(call);
    await call.written;
    if (callbackRequested) {
      await this.deps.callbacks.request({
        callId: call.id,
        number: call.callerNumber,
        nodeId: this.deps.settings.nodeId,
        skill: null,
        kind: 'after_hours',
        positionAt: new Date(call.startedAt),
      });
    }
    await call.transition('closed', { ended_at: new Date(), hangup_by: 'system' }, { callbackRequested });
    call.hangupAfterPlayback = true;
    call.playbackId = await this.deps.sw.play(call.channelId, soundMedia(callbackRequested ? PROMPTS.callbackConfirmed : PROMPTS.goodbye));
  }

  private async stopPrompt(call: Call): Promise<void> {
    const pb = call.playbackId;
    call.playbackId = null;
    if (pb) await this.deps.sw.stopPlayback(pb).catch((err) => this.ignoreNotFound(err));
  }

  // ---- keep-my-place callbacks (虚拟排队) ----------------------------------------------------------------------

  /** The waiting caller pressed 1: they hang up, their place is kept, and they are called back in their turn. */
  private async keepMyPlace(call: Call): Promise<void> {
    const { callbacks, settings, sw } = this.deps;
    if (call.state !== 'queued' || !this.queue.has(call) || call.callback) return;
    const positionAt = call.enqueuedAt ?? call.startedAt;
    this.queue.remove(call);
    call.clearTimers();
    await call.written;
    const requestId = await callbacks.request({
      callId: call.id,
      number: call.callerNumber,
      nodeId: settings.nodeId,
      skill: call.skill,
      kind: 'keep_place',
      positionAt: new Date(positionAt),
    });
    const now = Date.now();
    await call.transition('callback_requested', { ended_at: new Date(now), wait_ms: now - call.startedAt, hangup_by: 'caller' }, { callbackId: requestId });
    this.log.info({ callId: call.id, requestId }, 'caller keeps their place for a callback');
    this.queue.add(this.virtualCallback(requestId, call.id, call.callerNumber, call.skill, positionAt));
    this.kick();
    // Confirm, then hang up; the channel stays mapped until the prompt ends.
    if (call.mohOn) {
      call.mohOn = false;
      await sw.stopMoh(call.channelId).catch((err) => this.ignoreNotFound(err));
    }
    await this.stopPrompt(call);
    this.registry.mapChannel(call.channelId, call);
    call.hangupAfterPlayback = true;
    call.playbackId = await sw.play(call.channelId, soundMedia(PROMPTS.callbackConfirmed));
  }

  /** A queue entry with no channel yet: it holds the caller's place; the resident is dialled after the agent answers. */
  private virtualCallback(requestId: number, originalCallId: string, number: string, skill: string | null, positionAt: number): Call {
    const id = randomUUID();
    const call = new Call(id, `${id}-r`, number, null, Date.now(), this.deps.repo, 'queued');
    call.enqueuedAt = positionAt;
    call.skill = skill;
    call.callback = { requestId, originalCallId, claimed: false };
    call.lookup = this.deps.lookup(number, id).catch(() => null);
    this.registry.add(call);
    return call;
  }

  private claimFailed(err: unknown): 'error' {
    this.log.error({ err }, 'callback claim failed; the place stays kept for the next dispatch');
    return 'error';
  }

  /** Takes the callback for this offer exactly once (PostgreSQL decides) and opens its call record. */
  private async claimCallback(call: Call, agentId: number): Promise<boolean> {
    const cb = call.callback!;
    if (cb.claimed) return true;
    if (!(await this.deps.callbacks.claim(cb.requestId, agentId, call.id))) return false;
    cb.claimed = true;
    call.written = this.deps.repo.insertCall({
      id: call.id,
      nodeId: this.deps.settings.nodeId,
      channelId: call.channelId,
      callerNumber: call.callerNumber,
      callerName: null,
      state: 'queued',
      startedAt: new Date(call.startedAt),
      queuedAt: new Date(call.enqueuedAt ?? call.startedAt),
      direction: 'outbound',
      callbackId: cb.requestId,
    });
    return true;
  }

  /** The agent took the callback: they wait in the bridge while the resident's phone rings. */
  private async dialResident(call: Call, agentChannelId: string): Promise<void> {
    const { sw, settings } = this.deps;
    const bridgeId = await (call.bridgeReady ?? (call.bridgeReady = this.createBridge(call)));
    await sw.addToBridge(bridgeId, [agentChannelId]);
    if (call.isOver) return;
    try {
      await sw.originate({
        endpoint: settings.outboundDialTemplate.replace('{number}', call.callerNumber),
        appArgs: `resident,${call.id}`,
        callerId: `"${settings.callerIdName}" <${settings.callerIdNumber}>`,
        timeoutSec: settings.ringTimeoutSec,
        channelId: call.channelId,
        variables: { HOTLINE114_CALL_ID: call.id },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, callId: call.id }, 'callback: dialling the resident failed');
      await this.callerGone(call, 'callback_dial_failed');
    }
  }

  private async onResidentAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const call = this.registry.get(callId);
    const offer = call?.offer;
    if (!call?.callback || !offer?.answered || call.channelId !== channel.id || call.isOver || !call.agentChannelId) {
      await this.hangupQuietly(channel.id);
      return;
    }
    call.answered = true;
    void this.deps.repo.patch(call.id, { answered_at: new Date() });
    const bridgeId = await (call.bridgeReady ?? (call.bridgeReady = this.createBridge(call)));
    await this.deps.sw.addToBridge(bridgeId, [channel.id]);
    if (call.isOver) return;
    await this.deps.callbacks.finish(call.callback.requestId, 'connected');
    await this.markConnected(call, offer, call.agentChannelId, bridgeId);
    // The resident hears who calls and why (the agent hears it too: that is fine and short).
    call.playbackId = await this.deps.sw.play(channel.id, soundMedia(PROMPTS.callbackIntro)).catch(() => null);
  }

  private enqueue(call: Call): void {
    if (call.isOver) return;
    if (call.enqueuedAt === null) call.enqueuedAt = Date.now();
    void call.transition('queued', { queued_at: new Date(call.enqueuedAt) });
    this.queue.add(call);
    this.kick();
  }

  // ---- dispatch --------------------------------------------------------------------------------------------

  /** Match waiting callers with available agents; coalesces bursts of triggers into back-to-back runs. */
  kick(): void {
    if (this.stopped) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    void this.dispatch()
      .catch((err) => this.log.error({ err }, 'dispatch failed'))
      .finally(() => {
        this.dispatching = false;
        if (this.dispatchAgain) {
          this.dispatchAgain = false;
          this.kick();
        }
      });
  }

  private async dispatch(): Promise<void> {
    const { acd } = this.deps;
    if (!this.queue.size || !this.deps.sw.isUp) return;
    const exhausted = new Set<string>();
    // Every waiting caller that can get an agent gets one now: offers go out in parallel, not one per tick.
    for (const call of this.queue.ordered()) {
      const skillKey = call.skill ?? '';
      if (exhausted.has(skillKey) || call.state !== 'queued') continue;
      const res = await acd.reserve(call.id, call.skill);
      if (!res) {
        this.log.debug({ callId: call.id, waiting: this.queue.size, sinceStasisMs: performance.now() - call.receivedAt }, 'no agent available');
        exhausted.add(skillKey);
        continue;
      }
      if (call.isOver || !this.queue.has(call)) {
        await acd.cancel(res.agentId, call.id); // caller left while we were reserving
        continue;
      }
      if (call.callback) {
        const claimed = await this.claimCallback(call, res.agentId).catch((err) => this.claimFailed(err));
        if (claimed !== true) {
          await acd.cancel(res.agentId, call.id);
          if (claimed === false) {
            // Taken by another process or a previous run: never fired twice.
            this.queue.remove(call);
            this.registry.remove(call);
          } else {
            exhausted.add(skillKey); // database trouble: the place stays kept; try again on the next dispatch
          }
          continue;
        }
      }
      this.queue.remove(call);
      this.guard('offer', () => this.offer(call, res));
    }
    for (const call of this.queue.ordered()) {
      if (!call.answered && !call.isOver && !call.callback) this.guard('hold', () => this.holdCaller(call));
    }
    await this.scheduleWake();
  }

  /** Wake the dispatcher when the next wrap-up ends, since nothing else announces it. */
  private async scheduleWake(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    if (!this.queue.size) return;
    const at = await this.deps.acd.nextEligibleAt();
    if (at === null) return;
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 5);
    this.wakeTimer.unref();
  }

  /** No agent right now: answer the caller and play music on hold while they wait, with position announcements. */
  private async holdCaller(call: Call): Promise<void> {
    const { sw } = this.deps;
    if (call.answered || call.isOver) return;
    call.answered = true;
    // Real Asterisk (chan_pjsip) turns a ring indication on an answered channel into in-band ringback, which
    // stops the music on hold: answer and start MOH only once our ring request has been carried out.
    if (call.ringSent) await call.ringSent;
    if (call.isOver) return;
    await sw.answer(call.channelId);
    void this.deps.repo.patch(call.id, { answered_at: new Date() });
    if (call.isOver || call.state !== 'queued') return;
    await this.startMoh(call);
    this.scheduleAnnouncement(call);
  }

  private async startMoh(call: Call): Promise<void> {
    if (call.mohOn || call.isOver) return;
    call.mohOn = true;
    await this.deps.sw.startMoh(call.channelId, this.deps.settings.mohClass);
  }

  private scheduleAnnouncement(call: Call): void {
    const every = this.deps.settings.announceEverySec;
    if (!every || call.isOver) return;
    call.announceTimer = setTimeout(() => this.guard('announce', () => this.announcePosition(call)), every * 1000);
    call.announceTimer.unref();
  }

  private async announcePosition(call: Call): Promise<void> {
    const { sw } = this.deps;
    call.announceTimer = null;
    if (call.state !== 'queued' || !this.queue.has(call) || call.playbackId) return;
    const pos = this.queue.positionOf(call);
    if (call.mohOn) {
      call.mohOn = false;
      await sw.stopMoh(call.channelId);
    }
    if (call.state !== 'queued') return;
    const names = pos <= 1 ? [PROMPTS.youAreNext] : positionAnnouncement(pos - 1);
    if (this.deps.settings.callbackOffer) names.push(PROMPTS.callbackOffer);
    const media = soundMediaList(names);
    call.playbackId = await sw.play(call.channelId, media);
  }

  private async onPlaybackFinished(playbackId: string, targetUri: string): Promise<void> {
    const call = this.registry.forChannel(targetUri.replace(/^channel:/, ''));
    if (!call || call.playbackId !== playbackId) return;
    call.playbackId = null;
    if (call.hangupAfterPlayback) {
      this.registry.remove(call);
      return this.hangupQuietly(call.channelId);
    }
    if (call.isOver) return;
    if (call.state === 'answered' && call.phase === 'after_hours') {
      // Give the caller a moment to press 1 after the message, then say goodbye.
      call.phaseTimer = setTimeout(() => this.guard('afterHours', () => this.closeAfterHours(call, false)), 5000);
      call.phaseTimer.unref();
      return;
    }
    if (call.state === 'answered') {
      call.phase = null;
      return this.deps.settings.ivrEnabled ? this.startMenu(call) : this.enqueueAfterGreeting(call);
    }
    if (call.state === 'menu') {
      call.phaseTimer = setTimeout(() => this.guard('menuTimeout', () => this.chooseSkill(call, null)), this.deps.settings.ivrTimeoutSec * 1000);
      call.phaseTimer.unref();
      return;
    }
    if (call.state === 'queued') {
      // The caller may have hung up during the announcement: "not found" here is the expected race.
      await this.startMoh(call).catch((err) => this.ignoreNotFound(err));
      this.scheduleAnnouncement(call);
    }
  }

  private async enqueueAfterGreeting(call: Call): Promise<void> {
    this.enqueue(call);
    // If an offer went out at once the caller will be bridged soon; otherwise dispatch() holds them with MOH.
    if (call.state === 'queued' && !call.mohOn) {
      await this.startMoh(call);
      this.scheduleAnnouncement(call);
    }
  }

  // ---- offering --------------------------------------------------------------------------------------------

  private endpointFor(res: Reservation): string {
    return res.endpoint || this.deps.settings.agentEndpointTemplate.replace('{extension}', res.extension);
  }

  private async offer(call: Call, res: Reservation): Promise<void> {
    const { sw, settings, hub } = this.deps;
    call.offerCount += 1;
    const channelId = `${call.id}-a${call.offerCount}`;
    const now = Date.now();
    call.offer = { agentId: res.agentId, extension: res.extension, channelId, startedAt: now, timer: null, answered: false };
    this.registry.mapChannel(channelId, call);
    const written = call.transition(
      'offering',
      { agent_id: res.agentId, offered_at: new Date(now), offer_count: call.offerCount },
      { agentId: res.agentId },
      { agentId: res.agentId, channelId, at: new Date(now) },
    );
    // The bridge is made while the agent's phone rings, so answering costs only the addChannel.
    if (!call.bridgeReady) call.bridgeReady = this.createBridge(call);
    const callerId = call.callerNumber ? `"${call.callerName ?? call.callerNumber}" <${call.callerNumber}>` : `"${settings.callerIdName}" <${settings.callerIdNumber}>`;
    const t0 = performance.now();
    try {
      await sw.originate({
        endpoint: this.endpointFor(res),
        appArgs: `agent,${call.id}`,
        callerId,
        timeoutSec: settings.ringTimeoutSec,
        channelId,
        variables: { HOTLINE114_CALL_ID: call.id },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, callId: call.id, agentId: res.agentId }, 'originate to agent failed');
      return this.offerEnded(call, channelId, 'failed');
    }
    // Our own guard in case Asterisk never reports the end of the ring (lost event, reconnect).
    const offer = call.offer;
    if (offer && offer.channelId === channelId) {
      offer.timer = setTimeout(() => this.guard('ringTimeout', () => this.ringTimedOut(call, channelId)), (settings.ringTimeoutSec + 5) * 1000);
      offer.timer.unref();
    }
    const t1 = performance.now();
    const [ctx] = await Promise.all([call.lookup, written]);
    if (call.offer?.channelId !== channelId || call.isOver) return;
    const t2 = performance.now();
    await hub.publish(res.agentId, {
      type: 'call.offered',
      callId: call.id,
      callerNumber: call.callerNumber,
      caller: ctx?.caller ?? null,
      recentCalls: ctx?.recentCalls ?? [],
      openCases: ctx?.openCases ?? [],
      queueWaitMs: now - (call.enqueuedAt ?? call.startedAt),
      offeredAt: new Date(now).toISOString(),
      ...(call.callback ? { callback: true } : {}),
    });
    this.log.debug(
      { callId: call.id, popMs: performance.now() - call.receivedAt, toOfferMs: t0 - call.receivedAt, originateMs: t1 - t0, recordWaitMs: t2 - t1 },
      'screen pop sent',
    );
  }

  private async createBridge(call: Call): Promise<string> {
    const b = await this.deps.sw.createBridge('mixing', `hotline114-${call.id}`);
    call.bridgeId = b.id; // recorded with the connected transition (one write fewer on the set-up path)
    if (call.isOver) await this.destroyBridge(call);
    return b.id;
  }

  private async ringTimedOut(call: Call, channelId: string): Promise<void> {
    if (call.offer?.channelId !== channelId || call.offer.answered) return;
    this.log.warn({ callId: call.id, channelId }, 'ring timeout without Asterisk reporting it; hanging up agent leg');
    await this.hangupQuietly(channelId);
    await this.offerEnded(call, channelId, 'no_answer');
  }

  private async onDial(peerId: string, dialstatus: string): Promise<void> {
    const result = DIAL_FAILURES[dialstatus];
    if (!result) return;
    const call = this.registry.forChannel(peerId);
    if (call && call.offer?.channelId === peerId) await this.offerEnded(call, peerId, result);
    else if (call && call.transfer?.channelId === peerId && !call.transfer.answered) await this.transferFailed(call, result);
  }

  /** The agent did not take the call: release them (missed), the caller goes back to the front of the queue. */
  private async offerEnded(call: Call, channelId: string, result: OfferResult): Promise<void> {
    const offer = call.offer;
    if (!offer || offer.channelId !== channelId || offer.answered) return;
    if (offer.timer) clearTimeout(offer.timer);
    call.offer = null;
    this.registry.unmapChannel(channelId);
    const { acd, repo, settings, hub } = this.deps;
    const now = new Date();
    void repo.endOffer(call.id, channelId, result, now);
    // Asterisk refused to ring the phone (unregistered/unreachable): until AMI says otherwise, don't offer again
    // at once — three instant refusals would otherwise auto-pause the agent within milliseconds.
    if (result === 'failed') await acd.markUnreachable(offer.agentId, Date.now() + UNREACHABLE_BACKOFF_MS);
    const agentState = await acd.missed(offer.agentId, call.id, settings.maxMissedOffers);
    this.log.info({ callId: call.id, agentId: offer.agentId, result, agentState }, 'offer not answered');
    void hub.publish(offer.agentId, { type: 'call.ended', callId: call.id, endedAt: now.toISOString(), outcome: 'missed', hangupBy: null, reason: result });
    if (call.isOver) return;
    void call.transition('queued', {}, { after: result, agentId: offer.agentId });
    this.queue.add(call);
    this.kick();
  }

  // ---- connecting ------------------------------------------------------------------------------------------

  private async onAgentLegAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const { sw } = this.deps;
    const call = this.registry.get(callId);
    const offer = call?.offer;
    if (!call || !offer || offer.channelId !== channel.id || call.isOver) {
      this.log.warn({ callId, channelId: channel.id }, 'agent answered a call that is no longer offered; hanging up');
      await this.hangupQuietly(channel.id);
      return;
    }
    offer.answered = true;
    if (offer.timer) clearTimeout(offer.timer);
    call.agentId = offer.agentId;
    call.agentChannelId = channel.id;
    if (call.announceTimer) clearTimeout(call.announceTimer);
    call.announceTimer = null;
    this.queue.remove(call);
    if (call.callback) return this.dialResident(call, channel.id);

    // addChannel blocks while a playback runs on the caller (DESIGN §8): stop it first.
    const prep: Promise<unknown>[] = [call.bridgeReady ?? (call.bridgeReady = this.createBridge(call))];
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
      prep.push(sw.stopPlayback(pb).catch((err) => this.ignoreNotFound(err)));
    }
    if (call.mohOn) {
      call.mohOn = false;
      prep.push(sw.stopMoh(call.channelId).catch((err) => this.ignoreNotFound(err)));
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
      if (!call.isOver) this.log.warn({ err: (err as Error).message, callId: call.id }, 'bridging caller and agent failed');
      return; // the caller's hangup (if that was it) finishes the call; otherwise the legs' hangups do
    } finally {
      call.connecting = null;
    }
    if (call.isOver) return;
    await this.markConnected(call, offer, channel.id, bridgeId);
  }

  private async markConnected(call: Call, offer: NonNullable<Call['offer']>, agentChannelId: string, bridgeId: string): Promise<void> {
    const { acd, hub, settings } = this.deps;
    // State changes before the next await: a hangup arriving meanwhile must see a connected call.
    const connectedAt = Date.now();
    call.connectedAt = connectedAt;
    const written = call.transition(
      'connected',
      {
        connected_at: new Date(connectedAt),
        agent_channel_id: agentChannelId,
        wait_ms: connectedAt - call.startedAt,
        bridge_id: bridgeId,
        ...(call.answeredAt !== null ? { answered_at: new Date(call.answeredAt) } : {}),
        ...(settings.recordCalls ? { recording_name: recordingName(call) } : {}),
      },
      { agentId: offer.agentId },
      undefined,
      agentChannelId,
    );
    await Promise.all([acd.connect(offer.agentId, call.id, connectedAt), written]);
    this.log.info({ callId: call.id, agentId: offer.agentId, waitMs: connectedAt - call.startedAt }, 'call connected');
    await hub.publish(offer.agentId, { type: 'call.connected', callId: call.id, connectedAt: new Date(connectedAt).toISOString() });
    if (settings.recordCalls) await this.startRecording(call, bridgeId);
  }

  /** The name is stored with the connected transition; cleared again if the recording does not start. */
  private async startRecording(call: Call, bridgeId: string): Promise<void> {
    try {
      await this.deps.sw.recordBridge(bridgeId, recordingName(call), 'wav');
    } catch (err) {
      this.log.warn({ err: (err as Error).message, callId: call.id }, 'recording could not start');
      void this.deps.repo.patch(call.id, { recording_name: null });
    }
  }

  // ---- ending ----------------------------------------------------------------------------------------------

  private async onChannelGone(channelId: string, why: string, cause?: number): Promise<void> {
    const call = this.registry.forChannel(channelId);
    if (!call) return;
    if (call.connecting) await call.connecting;
    if (channelId === call.channelId) return this.callerGone(call, why);
    if (call.transfer?.channelId === channelId) return this.transferLegGone(call, cause);
    if (call.offer && call.offer.channelId === channelId && !call.offer.answered) {
      return this.offerEnded(call, channelId, cause === 17 ? 'busy' : 'no_answer');
    }
    if (channelId === call.agentChannelId && call.state === 'connected') return this.agentGone(call, why);
  }

  /** Caller hung up: abandoned if no agent had answered yet, else the conversation ends. */
  private async callerGone(call: Call, why: string): Promise<void> {
    if (call.isOver) return;
    if (call.state === 'survey') return this.endSurvey(call, null, 'caller_hangup');
    if (call.state === 'answered' && call.phase === 'after_hours') {
      call.clearTimers();
      await call.transition('closed', { ended_at: new Date(), hangup_by: 'caller', hangup_cause: why });
      return this.finish(call, null);
    }
    if (call.callback?.claimed && call.state !== 'connected') {
      void this.deps.callbacks.finish(call.callback.requestId, 'failed').catch((err) => this.log.warn({ err }, 'callback status update failed'));
    }
    if (call.transfer) await this.dropTransferLeg(call, call.transfer.answered ? 'answered' : 'cancelled');
    if (call.state === 'transferring' || call.state === 'transferred') {
      const now = Date.now();
      call.clearTimers();
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), hangup_by: 'caller', hangup_cause: why });
      await this.finish(call, 'caller');
      return;
    }
    const { acd, repo, settings } = this.deps;
    const now = Date.now();
    call.clearTimers();
    this.queue.remove(call);
    if (call.state === 'connected' && call.agentId !== null) {
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), hangup_by: 'caller', hangup_cause: why });
      // The console hears "ended" before the agent can be offered the next call.
      await this.announceEnd(call, 'caller');
      if (call.agentChannelId) await this.hangupQuietly(call.agentChannelId);
      await acd.end(call.agentId, call.id, settings.wrapUpSec * 1000, now);
      await this.finish(call, 'caller');
      return;
    }
    const offer = call.offer;
    call.offer = null;
    // Same per-call chain: the offer's end commits before the abandoned state anyone is told about.
    if (offer) void repo.endOffer(call.id, offer.channelId, 'cancelled', new Date(now));
    await call.transition('abandoned', { ended_at: new Date(now), wait_ms: now - call.startedAt, hangup_by: 'caller', hangup_cause: why });
    if (offer) {
      if (offer.timer) clearTimeout(offer.timer);
      await this.hangupQuietly(offer.channelId);
      if (offer.answered) await acd.end(offer.agentId, call.id, 0, now);
      else await acd.cancel(offer.agentId, call.id, now);
      void this.deps.hub.publish(offer.agentId, { type: 'call.ended', callId: call.id, endedAt: new Date(now).toISOString(), outcome: 'abandoned', hangupBy: 'caller' });
    }
    this.log.info({ callId: call.id, waitMs: now - call.startedAt }, 'call abandoned');
    await this.finish(call, null);
  }

  private async agentGone(call: Call, why: string): Promise<void> {
    if (call.state !== 'connected' || call.agentId === null) return;
    if (call.transfer?.answered) return this.leaveThreeWay(call, why);
    const { settings, acd } = this.deps;
    const now = Date.now();
    const talk = { talk_ms: now - (call.connectedAt ?? now), hangup_by: 'agent' as const, hangup_cause: why };
    if (!settings.survey || why === 'lost_while_disconnected') {
      await call.transition('ended', { ended_at: new Date(now), ...talk });
      await this.announceEnd(call, 'agent');
      await this.hangupQuietly(call.channelId);
      await acd.end(call.agentId, call.id, settings.wrapUpSec * 1000, now);
      await this.finish(call, 'agent');
      return;
    }
    // The caller stays on for the survey; the agent is free (wrap-up) right away.
    await call.transition('survey', talk);
    await this.announceEnd(call, 'agent');
    await acd.end(call.agentId, call.id, settings.wrapUpSec * 1000, now);
    await this.scheduleWake();
    await this.destroyBridge(call);
    if ((call.state as CallState) !== 'survey') return; // the caller hung up meanwhile
    call.surveyTimer = setTimeout(() => this.guard('surveyTimeout', () => this.endSurvey(call, null, 'timeout')), settings.surveyTimeoutSec * 1000);
    call.surveyTimer.unref();
    call.playbackId = await this.deps.sw.play(call.channelId, toMedia(settings.surveyPrompt));
  }

  private async onDtmf(channelId: string, digit: string): Promise<void> {
    const call = this.registry.forChannel(channelId);
    if (!call || call.channelId !== channelId) return;
    if (call.state === 'survey') {
      if (digit === '1' || digit === '2' || digit === '3') await this.endSurvey(call, Number(digit), 'rated');
    } else if (call.state === 'answered' && call.phase === 'after_hours') {
      if (digit === '1') await this.closeAfterHours(call, true);
    } else if (call.state === 'menu') {
      await this.onMenuDigit(call, digit);
    } else if (call.state === 'queued' && call.answered && digit === '1' && this.deps.settings.callbackOffer) {
      await this.keepMyPlace(call);
    }
  }

  /** Ends the survey: with a rating (thank-you, then hang up), on timeout, or because the caller hung up. */
  private async endSurvey(call: Call, score: number | null, why: 'rated' | 'timeout' | 'caller_hangup'): Promise<void> {
    if (call.state !== 'survey') return;
    const { sw, settings } = this.deps;
    call.clearTimers();
    await call.transition('ended', { ended_at: new Date(), survey_score: score }, { survey: why });
    this.registry.remove(call);
    if (why === 'caller_hangup') return;
    const pb = call.playbackId;
    call.playbackId = null;
    if (pb) await sw.stopPlayback(pb).catch((err) => this.ignoreNotFound(err));
    if (score !== null) {
      // Keep the channel mapped until the thank-you has played, then hang up.
      this.registry.mapChannel(call.channelId, call);
      call.hangupAfterPlayback = true;
      call.playbackId = await sw.play(call.channelId, toMedia(settings.surveyThanks));
      return;
    }
    await this.hangupQuietly(call.channelId);
  }

  private async finish(call: Call, hangupBy: 'caller' | 'agent' | null): Promise<void> {
    call.clearTimers();
    if (call.callback?.claimed && call.state === 'ended') await this.deps.callbacks.finish(call.callback.requestId, 'done');
    await this.destroyBridge(call);
    this.registry.remove(call);
    await call.written;
    if (call.agentId !== null && call.state === 'ended') {
      await this.announceEnd(call, hangupBy);
      // The agent's wrap-up ends by time; make sure some process re-runs dispatch then.
      await this.scheduleWake();
    }
  }

  /** Tells the agent's console the conversation is over, and wakes dispatch for when their wrap-up ends. */
  private async announceEnd(call: Call, hangupBy: 'caller' | 'agent' | null, reason?: string): Promise<void> {
    if (call.agentId === null || call.agentReleased) return;
    call.agentReleased = true;
    await call.written;
    await this.deps.hub.publish(call.agentId, {
      type: 'call.ended',
      callId: call.id,
      endedAt: new Date().toISOString(),
      outcome: 'answered',
      hangupBy,
      ...(reason ? { reason } : {}),
    });
  }

  // ---- transfers (一键转接, 三方通话, 110) -----------------------------------------------------------------

  /**
   * Blind: the agent is freed at once, the caller holds while the target rings and is bridged with it on
   * answer. Three-way: the target joins the agent and the caller; the agent may then leave. A target that does
   * not answer never leaves the caller in silence: a blind transfer comes back to the same agent if they can
   * take it (else to the front of the queue); a three-way call simply goes on.
   */
  async transfer(callId: string, target: TransferTarget, mode: TransferMode, requestedBy: number | null): Promise<{ transferId: number; target: string }> {
    const { sw, settings, transfers, acd, hub } = this.deps;
    const call = this.registry.get(callId);
    if (!call) throw new NotFoundError('该通话不在进行中', 'call_not_live');
    if (call.state !== 'connected' || call.agentId === null) throw new ConflictError('只有通话中的来电可以转接', 'call_not_connected');
    if (call.transfer) throw new ConflictError('该通话已有转接在进行', 'transfer_in_progress');
    const resolved = await transfers.resolve(target, settings);
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
    this.registry.mapChannel(t.channelId, call);
    t.id = await transfers.start(call.id, t, requestedBy);
    const emergency = resolved.type === 'police';
    this.log.info({ callId, mode, target: resolved.label, emergency }, 'transfer requested');

    if (mode === 'blind') {
      const agentChannel = call.agentChannelId;
      call.agentChannelId = null;
      await call.transition('transferring', {}, { mode, target: resolved.label, emergency });
      await this.announceEnd(call, 'agent', 'transferred');
      await acd.end(t.agentId, call.id, settings.wrapUpSec * 1000);
      await this.scheduleWake();
      if (agentChannel) await this.hangupQuietly(agentChannel);
      call.mohOn = false;
      await this.startMoh(call);
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
      this.log.warn({ err: (err as Error).message, callId }, 'transfer originate failed');
      await this.transferFailed(call, 'failed');
      return { transferId: t.id, target: resolved.label };
    }
    if (call.transfer === t && !t.answered) {
      t.timer = setTimeout(() => this.guard('transferTimeout', () => this.transferTimedOut(call, t)), (settings.transferRingSec + 5) * 1000);
      t.timer.unref();
    }
    void hub.publish(t.agentId, { type: 'transfer.progress', callId, transferId: t.id, mode, target: resolved.label, status: 'ringing' });
    return { transferId: t.id, target: resolved.label };
  }

  private async transferTimedOut(call: Call, t: Transfer): Promise<void> {
    if (call.transfer !== t || t.answered) return;
    await this.hangupQuietly(t.channelId);
    await this.transferFailed(call, 'no_answer');
  }

  private async onTransferAnswered(channel: ChannelSnapshot, callId: string): Promise<void> {
    const { sw, transfers, hub } = this.deps;
    const call = this.registry.get(callId);
    const t = call?.transfer;
    if (!call || !t || t.channelId !== channel.id || t.answered || call.isOver) {
      await this.hangupQuietly(channel.id);
      return;
    }
    t.answered = true;
    if (t.timer) clearTimeout(t.timer);
    if (t.id !== null) void transfers.answered(t.id).catch((err) => this.log.warn({ err }, 'transfer record update failed'));
    const bridgeId = await (call.bridgeReady ?? (call.bridgeReady = this.createBridge(call)));
    if (call.state === 'transferring') {
      if (call.mohOn) {
        call.mohOn = false;
        await sw.stopMoh(call.channelId).catch((err) => this.ignoreNotFound(err));
      }
      await sw.addToBridge(bridgeId, [channel.id]);
      if ((call.state as CallState) !== 'transferring') return;
      await call.transition('transferred', {}, { target: t.target.label });
      // The agent left at once but follows the outcome (转接成功 on their console).
      void hub.publish(t.agentId, { type: 'transfer.progress', callId, transferId: t.id, mode: t.mode, target: t.target.label, status: 'answered' });
    } else {
      await sw.addToBridge(bridgeId, [channel.id]);
      void hub.publish(t.agentId, { type: 'transfer.progress', callId, transferId: t.id, mode: t.mode, target: t.target.label, status: 'answered' });
    }
  }

  /** The agent leaves a three-way call whose target answered: caller and department go on without them. */
  async completeTransfer(callId: string): Promise<void> {
    const call = this.registry.get(callId);
    if (!call) throw new NotFoundError('该通话不在进行中', 'call_not_live');
    if (call.state !== 'connected' || !call.transfer?.answered) throw new ConflictError('对方尚未接通，不能退出三方通话', 'transfer_not_answered');
    await this.leaveThreeWay(call, 'three_way_completed');
  }

  private async leaveThreeWay(call: Call, why: string): Promise<void> {
    const t = call.transfer;
    if (!t || call.agentId === null) return;
    const agentChannel = call.agentChannelId;
    call.agentChannelId = null;
    await call.transition('transferred', {}, { target: t.target.label, why });
    await this.deps.hub.publish(t.agentId, { type: 'transfer.progress', callId: call.id, transferId: t.id, mode: t.mode, target: t.target.label, status: 'completed' });
    await this.announceEnd(call, 'agent', 'transferred');
    await this.deps.acd.end(call.agentId, call.id, this.deps.settings.wrapUpSec * 1000);
    await this.scheduleWake();
    if (agentChannel) await this.hangupQuietly(agentChannel);
  }

  /** The agent drops a ringing or joined transfer target (three-way), or withdraws a ringing blind transfer. */
  async cancelTransfer(callId: string): Promise<void> {
    const call = this.registry.get(callId);
    if (!call?.transfer) throw new NotFoundError('没有进行中的转接', 'no_transfer');
    const t = call.transfer;
    await this.hangupQuietly(t.channelId);
    if (t.answered) await this.transferLegGone(call, undefined);
    else await this.transferFailed(call, 'cancelled');
  }

  private async dropTransferLeg(call: Call, result: 'answered' | 'cancelled'): Promise<void> {
    const t = call.transfer;
    if (!t) return;
    call.transfer = null;
    if (t.timer) clearTimeout(t.timer);
    this.registry.unmapChannel(t.channelId);
    if (t.id !== null) await this.deps.transfers.ended(t.id, result);
    await this.hangupQuietly(t.channelId);
  }

  private async transferLegGone(call: Call, cause?: number): Promise<void> {
    const t = call.transfer;
    if (!t) return;
    if (!t.answered) return this.transferFailed(call, cause === 17 ? 'busy' : 'no_answer');
    call.transfer = null;
    this.registry.unmapChannel(t.channelId);
    if (t.id !== null) await this.deps.transfers.ended(t.id, 'answered');
    if (call.state === 'transferred') {
      // The department hung up: the conversation is over for the caller too.
      const now = Date.now();
      await call.transition('ended', { ended_at: new Date(now), talk_ms: now - (call.connectedAt ?? now), hangup_by: 'system', hangup_cause: 'transfer_target_hangup' });
      await this.hangupQuietly(call.channelId);
      await this.finish(call, null);
    } else if (call.state === 'connected') {
      void this.deps.hub.publish(t.agentId, { type: 'transfer.progress', callId: call.id, transferId: t.id, mode: t.mode, target: t.target.label, status: 'left' });
    }
  }

  /** The target did not answer (or could not be dialled). */
  private async transferFailed(call: Call, result: 'no_answer' | 'busy' | 'failed' | 'cancelled'): Promise<void> {
    const t = call.transfer;
    if (!t || t.answered) return;
    call.transfer = null;
    if (t.timer) clearTimeout(t.timer);
    this.registry.unmapChannel(t.channelId);
    const { transfers, hub, acd } = this.deps;
    if (t.id !== null) await transfers.ended(t.id, result);
    this.log.info({ callId: call.id, result, target: t.target.label }, 'transfer not answered');
    void hub.publish(t.agentId, { type: 'transfer.progress', callId: call.id, transferId: t.id, mode: t.mode, target: t.target.label, status: 'failed', reason: result });
    if (call.state !== 'transferring') return; // three-way: agent and caller simply go on talking
    // Blind: the caller comes back — to the same agent when they can take it, else first in the queue.
    await this.destroyBridge(call);
    call.bridgeReady = null;
    call.agentId = null;
    call.agentReleased = false;
    call.offer = null;
    await call.transition('queued', {}, { after: `transfer_${result}` });
    if (!call.mohOn) await this.startMoh(call);
    const back = await acd.reserveAgent(t.agentId, call.id);
    if (back && !call.isOver) {
      this.guard('offer', () => this.offer(call, back));
      return;
    }
    this.queue.add(call);
    this.kick();
  }

  /** Agent or supervisor ends a call from the console. */
  async hangupCall(callId: string): Promise<boolean> {
    const call = this.registry.get(callId);
    if (!call) return false;
    await this.deps.sw.hangup(call.channelId);
    return true;
  }

  private async destroyBridge(call: Call): Promise<void> {
    const id = call.bridgeId;
    if (!id) return;
    call.bridgeId = null;
    try {
      await this.deps.sw.destroyBridge(id);
    } catch (err) {
      this.ignoreNotFound(err);
    }
  }

  private async hangupQuietly(channelId: string): Promise<void> {
    try {
      await this.deps.sw.hangup(channelId);
    } catch (err) {
      this.ignoreNotFound(err);
    }
  }

  /** "Already gone" is the expected race at hangup time; anything else is worth a log line. */
  private ignoreNotFound(err: unknown): void {
    if (err instanceof SwitchCommandError && err.notFound) return;
    this.log.warn({ err: (err as Error).message }, 'switch command failed');
  }

  // ---- reconciliation --------------------------------------------------------------------------------------

  /**
   * After a (re)connect: Asterisk's live channels are the truth. Calls whose caller vanished while we were deaf
   * are finalised; open records of a previous run whose channels still live are adopted; channels that entered
   * our app while we were away are taken as new calls; orphaned agent legs are hung up.
   */
  async reconcile(): Promise<{ finalised: number; adopted: number; orphansHungUp: number; newCalls: number; callbacksRestored: number }> {
    const { sw, repo, settings, acd } = this.deps;
    const [channels, open] = await Promise.all([sw.listChannels(), repo.openCalls(settings.nodeId)]);
    const live = new Map(channels.map((c) => [c.id, c]));
    const stats = { finalised: 0, adopted: 0, orphansHungUp: 0, newCalls: 0, callbacksRestored: 0 };

    for (const call of this.registry.all()) {
      if (call.callback && !call.offer?.answered && call.state === 'queued') continue; // a kept place: no channel yet
      if (!live.has(call.channelId)) {
        await this.callerGone(call, 'lost_while_disconnected');
        stats.finalised++;
      } else if (call.offer && !live.has(call.offer.channelId) && !call.offer.answered) {
        await this.offerEnded(call, call.offer.channelId, 'no_answer');
      } else if (call.state === 'connected' && call.agentChannelId && !live.has(call.agentChannelId)) {
        await this.agentGone(call, 'lost_while_disconnected');
      }
    }

    for (const row of open) {
      if (this.registry.get(row.id)) continue;
      if (live.has(row.channel_id)) {
        await this.adopt(row, live);
        stats.adopted++;
      } else {
        await this.finaliseStale(row);
        stats.finalised++;
      }
    }

    const app = settings.app;
    for (const ch of channels) {
      if (this.registry.forChannel(ch.id)) continue;
      const data = ch.dialplan?.app_name === 'Stasis' ? (ch.dialplan.app_data ?? '') : '';
      const [chApp, kind] = data.split(',');
      if (chApp !== app || kind === 'callback') continue; // click-to-call legs are the dialler's
      if (kind === 'agent' || kind === 'transfer' || kind === 'resident' || /-(a|t)\d+$/.test(ch.id)) {
        await this.hangupQuietly(ch.id);
        stats.orphansHungUp++;
      } else if (ch.state === 'Ring' || ch.state === 'Up' || ch.state === 'Ringing') {
        await this.acceptInbound(ch);
        stats.newCalls++;
      }
    }

    // Kept places survive a restart in their order; callbacks a previous run had started are not fired twice.
    const known = new Set(this.registry.all().flatMap((c) => (c.callback ? [c.callback.requestId] : [])));
    await this.deps.callbacks.interruptDialing(settings.nodeId, [...known]);
    for (const w of await this.deps.callbacks.waiting(settings.nodeId)) {
      if (known.has(w.id)) continue;
      this.queue.add(this.virtualCallback(w.id, w.call_id, w.number, w.skill, w.position_at.getTime()));
      stats.callbacksRestored++;
    }

    // Agents still held for calls this node no longer has.
    for (const held of await acd.agentsOnCalls()) {
      if (held.node !== settings.nodeId || this.registry.get(held.callId)) continue;
      if (held.state === 'busy') await acd.end(held.agentId, held.callId, settings.wrapUpSec * 1000);
      else await acd.cancel(held.agentId, held.callId);
    }
    this.log.info(stats, 'reconciled with Asterisk');
    this.kick();
    return stats;
  }

  /** A call of a previous run of this node whose caller is still on the line. */
  private async adopt(row: CallRow, live: Map<string, ChannelSnapshot>): Promise<void> {
    const call = new Call(row.id, row.channel_id, row.caller_number, row.caller_name, row.started_at.getTime(), this.deps.repo, row.state);
    call.offerCount = row.offer_count;
    call.answered = row.answered_at !== null || live.get(row.channel_id)?.state === 'Up';
    call.bridgeId = row.bridge_id;
    if (row.bridge_id) call.bridgeReady = Promise.resolve(row.bridge_id);
    this.registry.add(call);
    call.lookup = this.deps.lookup(row.caller_number, row.id).catch(() => null);
    if (row.state === 'connected' && row.agent_channel_id && live.has(row.agent_channel_id) && row.agent_id !== null) {
      call.agentId = row.agent_id;
      call.agentChannelId = row.agent_channel_id;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      this.registry.mapChannel(row.agent_channel_id, call);
      return;
    }
    if (row.state === 'survey') {
      // The conversation is over; the survey cannot resume: close the record without a rating.
      this.registry.remove(call);
      await this.deps.repo.transition(row.id, 'survey', 'ended', { ended_at: new Date(), outcome: 'answered' }, { survey: 'interrupted' });
      await this.hangupQuietly(row.channel_id);
      return;
    }
    if (row.state === 'transferred') {
      // The caller was talking with the department: keep following that leg, or end the call if it is gone.
      const leg = [...live.keys()].find((id) => id.startsWith(`${row.id}-t`));
      call.agentId = row.agent_id;
      call.agentReleased = true;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      if (leg) {
        call.transfer = await this.deps.transfers.adopt(leg, row.agent_id ?? 0);
        this.registry.mapChannel(leg, call);
        return;
      }
      await call.transition('ended', { ended_at: new Date(), hangup_by: 'system', hangup_cause: 'lost_while_disconnected' });
      await this.hangupQuietly(row.channel_id);
      await this.finish(call, null);
      return;
    }
    // Not connected any more (or never was): any agent or transfer leg is stale; the caller waits again at the front.
    for (const [id] of live) {
      if (id.startsWith(`${row.id}-t`)) {
        await this.hangupQuietly(id);
        await this.deps.transfers.endForChannel(id, 'failed');
      }
    }
    if (row.agent_channel_id && live.has(row.agent_channel_id)) await this.hangupQuietly(row.agent_channel_id);
    for (const [id] of live) if (id.startsWith(`${row.id}-a`)) await this.hangupQuietly(id);
    if (row.agent_id !== null) await this.deps.acd.cancel(row.agent_id, row.id);
    if (row.state === 'connected') {
      // The agent leg is gone: the conversation is over even if the caller still hears silence.
      call.agentId = row.agent_id;
      call.connectedAt = row.connected_at?.getTime() ?? Date.now();
      await this.agentGone(call, 'lost_while_disconnected');
      return;
    }
    if (row.state !== 'queued') void this.deps.repo.transition(row.id, row.state, 'queued', {}, { adopted: true });
    call.state = 'queued';
    call.enqueuedAt = row.queued_at?.getTime() ?? row.started_at.getTime();
    this.queue.add(call);
    if (call.answered) {
      call.mohOn = false;
      await this.startMoh(call);
    }
  }

  /** An open record whose caller is gone: close it with what we know. */
  private async finaliseStale(row: CallRow): Promise<void> {
    const now = new Date();
    const connected = row.state === 'connected' || row.state === 'survey';
    await this.deps.repo.transition(row.id, row.state, connected ? 'ended' : 'abandoned', {
      ended_at: now,
      outcome: connected ? 'answered' : 'abandoned',
      hangup_by: 'system',
      hangup_cause: 'lost_while_disconnected',
      ...(row.state === 'survey'
        ? {} // talk time was recorded when the agent hung up
        : connected
          ? { talk_ms: now.getTime() - (row.connected_at?.getTime() ?? now.getTime()) }
          : { wait_ms: now.getTime() - row.started_at.getTime() }),
    });
    if (row.agent_id !== null && row.state !== 'survey') {
      if (connected) await this.deps.acd.end(row.agent_id, row.id, this.deps.settings.wrapUpSec * 1000);
      else await this.deps.acd.cancel(row.agent_id, row.id);
    }
  }

  /** Live figures for /health, the board and metrics. */
  stats(): { active: number; waiting: number; longestWaitMs: number } {
    return { active: this.registry.size, waiting: this.queue.size, longestWaitMs: this.queue.oldestWaitMs() };
  }
}

function recordingName(call: Call): string {
  return `hotline114/${new Date(call.startedAt).toISOString().slice(0, 10)}/${call.id}`;
}

function soundMedia(name: string): string {
  return soundMediaList([name])[0]!;
}

function toMedia(s: string): string {
  const t = s.trim();
  return /^[a-z]+:/.test(t) ? t : `sound:${t}`;
}
