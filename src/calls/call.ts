// One live 114 call on this process: its state, channels and timestamps. Transitions are checked against
// state.ts and written to PostgreSQL through CallRepo before anyone is told about them.
import { canTransition, IllegalCallTransition, outcomeOf, TERMINAL, type CallState } from './state';
import type { CallPatch, CallRepo, InsertCall } from './repo';
import type { Transfer } from './transfer-repo';

export interface Offer {
  agentId: number;
  extension: string;
  channelId: string;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  /** The agent leg entered Stasis (answered); from here on the offer can only become the connection. */
  answered: boolean;
}

export interface ScreenPopContext {
  caller: unknown;
  recentCalls: unknown[];
  openCases: unknown[];
}

export class Call {
  state: CallState;
  /** Caller's channel has been answered (greeting, MOH). Until then the caller hears ringback. */
  answered = false;
  /**
   * The ringback indication sent to the unanswered caller (settled, never rejects). Answering waits for it: a
   * ring indication that reaches Asterisk after the answer and MOH replaces the music with in-band ringback.
   */
  ringSent: Promise<void> | null = null;
  /** When the caller was answered at connect time (stored with the connected transition). */
  answeredAt: number | null = null;
  /**
   * The screen pop of the current offer (settled, never rejects). What the agent's console hears next about this
   * call (connected, ended) waits for it, so a pop is never lost to a fast answer and never arrives after them.
   */
  popSent: Promise<void> = Promise.resolve();
  mohOn = false;
  playbackId: string | null = null;
  bridgeId: string | null = null;
  bridgeReady: Promise<string> | null = null;
  /**
   * The snoop channel recording the conversation (`<callId>-rec`, on the caller's channel, so the caller/agent
   * bridge stays two-party and transfers keep recording); null until the first connect, and once stopped.
   */
  recordingChannelId: string | null = null;
  /**
   * The dialplan records this caller with MixMonitor(…,b) under this name (extensions.conf): Asterisk writes only
   * while the caller is bridged, with no snoop channel, no REST request and no events; null: we record (snoop).
   */
  dialplanRecording: string | null = null;
  offer: Offer | null = null;
  offerCount = 0;
  agentId: number | null = null;
  agentChannelId: string | null = null;
  /** When the caller joined the queue; a caller whose offer failed keeps it, so they stay at the front. */
  enqueuedAt: number | null = null;
  connectedAt: number | null = null;
  announceTimer: NodeJS.Timeout | null = null;
  /** Answers and holds the caller if no agent took them meanwhile (waiting.ts holdSoon). */
  holdTimer: NodeJS.Timeout | null = null;
  /** performance.now() when StasisStart reached us: screen-pop latency is measured from here. */
  readonly receivedAt = performance.now();
  /** When the dispatch run that reserved this caller's agent asked Redis, and when Redis answered (debug timing). */
  reserveTiming: { sentAt: number; answeredAt: number } | null = null;
  surveyTimer: NodeJS.Timeout | null = null;
  /** What the caller is hearing before the queue: the greeting, the IVR menu, the after-hours message. */
  phase: 'greeting' | 'menu' | 'after_hours' | null = null;
  menuTries = 0;
  /** IVR timeout, after-hours wait, skill fallback: one timer at a time in those phases. */
  phaseTimer: NodeJS.Timeout | null = null;
  /** Set on the outbound call of a kept place (虚拟排队: the resident is dialled once an agent answers). */
  keptPlace: { requestId: number; originalCallId: string; claimed: boolean } | null = null;
  /** A transfer in progress (target ringing, or answered in a three-way call). */
  transfer: Transfer | null = null;
  transferCount = 0;
  /** The agent already left (blind or completed transfer) and was told; nothing more is sent to them. */
  agentReleased = false;
  /** Hang the caller up once the playing prompt ends (after the survey's thank-you). */
  hangupAfterPlayback = false;
  /** Set while caller and agent are being bridged; hangups handled meanwhile wait for it. */
  connecting: Promise<void> | null = null;
  /**
   * Set when the switch, not a person, cut the call (Asterisk shutting down or restarting): the record then says
   * hangup by `system` with this cause instead of blaming whichever side's channel went first.
   */
  systemEnd: string | null = null;
  skill: string | null = null;
  lookup: Promise<ScreenPopContext | null> = Promise.resolve(null);
  /** Last write of this call's record (never rejects): the end of a call waits for it before forgetting the call. */
  written: Promise<void> = Promise.resolve();
  /**
   * The record's first write, held back while the dispatcher looks for an agent (one Redis round trip): an offer
   * made at once goes into the same statement. Any other write, or no agent, sends it as it is.
   */
  pendingInsert: InsertCall | null = null;

  constructor(
    readonly id: string,
    readonly channelId: string,
    readonly callerNumber: string,
    readonly callerName: string | null,
    readonly startedAt: number,
    private readonly repo: CallRepo,
    initial: CallState = 'ringing',
  ) {
    this.state = initial;
  }

  get isOver(): boolean {
    return TERMINAL.has(this.state);
  }

  /** Sends the held-back first write of the record, if any. */
  flushInsert(): void {
    const ins = this.pendingInsert;
    if (!ins) return;
    this.pendingInsert = null;
    this.written = this.repo.insertCall(ins);
  }

  /** queued → offering as the record's first write: row, events and the offer in one statement. */
  offerInFirstWrite(offer: NonNullable<InsertCall['offer']>): Promise<void> {
    const ins = this.pendingInsert;
    if (!ins) throw new Error(`call ${this.id}: no first write pending`);
    if (!canTransition(this.state, 'offering')) throw new IllegalCallTransition(this.id, this.state, 'offering');
    this.pendingInsert = null;
    this.state = 'offering';
    this.written = this.repo.insertCall({ ...ins, state: 'offering', offer });
    return this.written;
  }

  /** Changes state and queues the record update; throws on an illegal transition (a bug, never user input). */
  transition(
    to: CallState,
    patch: CallPatch = {},
    detail?: Record<string, unknown>,
    offer?: Parameters<CallRepo['transition']>[5],
    answeredOfferChannel?: string,
  ): Promise<void> {
    const from = this.state;
    if (!canTransition(from, to)) throw new IllegalCallTransition(this.id, from, to);
    this.flushInsert();
    this.state = to;
    const outcome = outcomeOf(to);
    this.written = this.repo.transition(this.id, from, to, outcome ? { ...patch, outcome } : patch, detail, offer, answeredOfferChannel);
    return this.written;
  }

  clearTimers(): void {
    if (this.offer?.timer) clearTimeout(this.offer.timer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = null;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    if (this.surveyTimer) clearTimeout(this.surveyTimer);
    this.surveyTimer = null;
    if (this.transfer?.timer) clearTimeout(this.transfer.timer);
    if (this.phaseTimer) clearTimeout(this.phaseTimer);
    this.phaseTimer = null;
  }
}
