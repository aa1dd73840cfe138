// What every step of the call flow shares: the ports (switch, ACD, records, hub), this process's live calls and
// waiting queue, settings, and `flow` — the steps themselves, so that one step asks another through this table
// instead of importing it. stasis.ts routes Asterisk's events to the steps; service.ts builds the context.
import type { Config } from '../config';
import type { Logger } from '../infra/logger';
import { settledWithin } from '../infra/wait';
import type { Acd, Reservation } from '../agents/acd';
import type { AgentRelease } from '../agents/release';
import type { ScreenPopHub } from '../agents/hub';
import type { WorkCalendar } from '../sla/calendar';
import { SwitchCommandError, type CallSwitch, type ChannelSnapshot, type DialFailure } from '../telephony/switch';
import type { Call, Offer, ScreenPopContext } from './call';
import type { CallRegistry } from './registry';
import type { WaitingQueue } from './queue';
import type { CallRepo } from './repo';
import type { TransferRepo } from './transfer-repo';
import type { KeepPlaceRepo } from './keep-place-repo';
import type { OutboundDialler } from './dialler';

export type CallSettings = Config['calls'] & { app: string };

/** How an offer to an agent ended without the agent taking the call. */
export type OfferResult = DialFailure;
export type TransferResult = 'no_answer' | 'busy' | 'failed' | 'cancelled';
export type HangupBy = 'caller' | 'agent' | 'system' | null;

/** The steps, as the other steps and the router see them (each implemented in its own module). */
export interface Flow {
  // inbound.ts
  /** What the dialplan did already: ringback sent, the call recorded by MixMonitor under this name (stasis.ts). */
  acceptInbound(channel: ChannelSnapshot, opts?: { ringing?: boolean; recording?: string | null }): Promise<Call>;
  // ivr.ts (greeting end, menu, opening hours)
  promptEndedWhileAnswered(call: Call): Promise<void>;
  promptEndedInMenu(call: Call): void;
  menuDigit(call: Call, digit: string): Promise<void>;
  afterHoursDigit(call: Call, digit: string): Promise<void>;
  // waiting.ts
  enqueue(call: Call): void;
  enqueueAfterGreeting(call: Call): Promise<void>;
  /** No agent in this dispatch run: answer and hold the caller if they still wait after CALL_HOLD_AFTER_MS. */
  holdSoon(call: Call): void;
  startMoh(call: Call): Promise<void>;
  promptEndedWhileQueued(call: Call): Promise<void>;
  // dispatch.ts
  kick(): void;
  scheduleWake(): Promise<void>;
  // offer.ts
  offer(call: Call, res: Reservation): Promise<void>;
  offerEnded(call: Call, channelId: string, result: OfferResult, opts?: { phoneUnreachable?: boolean }): Promise<void>;
  // connect.ts
  agentLegAnswered(channel: ChannelSnapshot, callId: string): Promise<void>;
  markConnected(call: Call, offer: Offer, agentChannelId: string, bridgeId: string): Promise<void>;
  /** The call's recording snoop channel entered our app (StasisStart `recording,<callId>`): record it. */
  recordingChannelStarted(channel: ChannelSnapshot, callId: string): Promise<void>;
  // ending.ts
  callerGone(call: Call, why: string): Promise<void>;
  agentGone(call: Call, why: string): Promise<void>;
  finish(call: Call, hangupBy: HangupBy): Promise<void>;
  /** The agent's part is over: console told, wrap-up (agents/release.ts), dispatch woken for its end. Once per call. */
  releaseAgent(call: Call, hangupBy: HangupBy, reason?: string): Promise<void>;
  // survey.ts
  startSurvey(call: Call): Promise<void>;
  surveyDigit(call: Call, digit: string): Promise<void>;
  endSurvey(call: Call, score: number | null, why: 'rated' | 'timeout' | 'caller_hangup'): Promise<void>;
  // transfer.ts
  transferAnswered(channel: ChannelSnapshot, callId: string): Promise<void>;
  transferFailed(call: Call, result: TransferResult): Promise<void>;
  transferLegGone(call: Call, cause?: number): Promise<void>;
  dropTransferLeg(call: Call, result: 'answered' | 'cancelled'): Promise<void>;
  leaveThreeWay(call: Call, why: string): Promise<void>;
  // keep-place.ts (虚拟排队)
  keepPlaceDigit(call: Call, digit: string): Promise<void>;
  keptPlace(requestId: number, originalCallId: string, number: string, skill: string | null, positionAt: number): Call;
  claimKeptPlace(call: Call, agentId: number): Promise<boolean | 'error'>;
  dialResident(call: Call, agentChannelId: string): Promise<void>;
  residentAnswered(channel: ChannelSnapshot, callId: string): Promise<void>;
}

export interface CallPorts {
  sw: CallSwitch;
  acd: Acd;
  /** Frees an agent after a call (console told, wrap-up); the one place that does it. */
  release: AgentRelease;
  repo: CallRepo;
  transfers: TransferRepo;
  keepPlaces: KeepPlaceRepo;
  dialler: OutboundDialler;
  /** Working days for the opening hours (the work orders' holiday calendar). */
  calendar: () => Promise<WorkCalendar>;
  hub: ScreenPopHub;
  lookup: (number: string, callId: string) => Promise<ScreenPopContext | null>;
  settings: CallSettings;
}

export interface CallContext extends CallPorts {
  readonly log: Logger;
  readonly registry: CallRegistry;
  readonly queue: WaitingQueue;
  readonly flow: Flow;
  /** Set once the service stops: nothing new is dispatched. */
  stopped: boolean;
  /** Event handlers and timers still running (guard): a stop waits for them before Redis and PostgreSQL close. */
  readonly inflight: Set<Promise<void>>;
}

/** Event handlers and timers run detached: log failures, never throw into the emitter. */
export function guard(ctx: CallContext, what: string, fn: () => Promise<void> | void): void {
  const p: Promise<void> = Promise.resolve()
    .then(fn)
    .catch((err) => ctx.log.error({ err, what }, 'call event handling failed'))
    .finally(() => ctx.inflight.delete(p));
  ctx.inflight.add(p);
}

/**
 * Waits until no handler runs (a handler may start another), or until `ms` passed: a handler stuck on a dead
 * connection must not hold the shutdown. Returns how many were still running.
 */
export async function drainInflight(ctx: CallContext, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while (ctx.inflight.size > 0 && Date.now() < deadline) {
    await settledWithin(Promise.allSettled([...ctx.inflight]), deadline - Date.now());
  }
  return ctx.inflight.size;
}

/** "Already gone" is the expected race at hangup time; anything else is worth a log line. */
export function ignoreNotFound(ctx: CallContext, err: unknown): void {
  if (err instanceof SwitchCommandError && err.notFound) return;
  ctx.log.warn({ err: (err as Error).message }, 'switch command failed');
}

export async function hangupQuietly(ctx: CallContext, channelId: string): Promise<void> {
  try {
    await ctx.sw.hangup(channelId);
  } catch (err) {
    ignoreNotFound(ctx, err);
  }
}

/**
 * The dialplan's MixMonitor creates its file as the caller arrives; a caller who never talked to anyone (abandoned,
 * after hours, menu only) leaves it empty: it goes, so that every stored recording is a conversation.
 */
export function dropUnusedRecording(ctx: CallContext, call: Call): void {
  const name = call.dialplanRecording;
  if (!name || call.connectedAt !== null) return;
  call.dialplanRecording = null;
  ctx.sw.deleteRecording(name).catch((err: unknown) => ignoreNotFound(ctx, err));
}

/** The call's mixing bridge, created once (usually while the agent's phone rings). */
export function bridgeOf(ctx: CallContext, call: Call): Promise<string> {
  return (call.bridgeReady ??= (async () => {
    const b = await ctx.sw.createBridge('mixing', `hotline114-${call.id}`);
    call.bridgeId = b.id; // recorded with the connected transition (one write fewer on the set-up path)
    if (call.isOver) await destroyBridge(ctx, call);
    return b.id;
  })());
}

export async function destroyBridge(ctx: CallContext, call: Call): Promise<void> {
  const id = call.bridgeId;
  if (!id) return;
  call.bridgeId = null;
  try {
    await ctx.sw.destroyBridge(id);
  } catch (err) {
    ignoreNotFound(ctx, err);
  }
}

export async function stopPrompt(ctx: CallContext, call: Call): Promise<void> {
  const pb = call.playbackId;
  call.playbackId = null;
  if (pb) await ctx.sw.stopPlayback(pb).catch((err) => ignoreNotFound(ctx, err));
}

export async function stopMoh(ctx: CallContext, call: Call): Promise<void> {
  if (!call.mohOn) return;
  call.mohOn = false;
  await ctx.sw.stopMoh(call.channelId).catch((err) => ignoreNotFound(ctx, err));
}

/** One of our prompts as an ARI media URI. */
export function sound(name: string): string {
  return `sound:${name}`;
}

/** A setting naming a sound ("hotline114/survey") or a full media URI. */
export function toMedia(s: string): string {
  const t = s.trim();
  return /^[a-z]+:/.test(t) ? t : `sound:${t}`;
}

/** The id of the snoop channel that records a call (see connect.ts). */
export function recordingChannelOf(callId: string): string {
  return `${callId}-rec`;
}

/** Ends the call's recording (its snoop channel); the caller's hangup ends it too, without this. */
export async function stopRecording(ctx: CallContext, call: Call): Promise<void> {
  const id = call.recordingChannelId;
  if (!id) return;
  call.recordingChannelId = null;
  await hangupQuietly(ctx, id);
}

export function recordingName(call: Call): string {
  return `hotline114/${new Date(call.startedAt).toISOString().slice(0, 10)}/${call.id}`;
}

export function later(ctx: CallContext, what: string, ms: number, fn: () => Promise<void> | void): NodeJS.Timeout {
  const t = setTimeout(() => guard(ctx, what, fn), ms);
  t.unref();
  return t;
}
