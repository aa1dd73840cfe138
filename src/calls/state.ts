// The states of one 114 call and the transitions allowed between them (DESIGN §3).
// Wrap-up belongs to the agent (ACD state), not to the call: the call record is final when the line drops.

export type CallState =
  | 'ringing' // in Stasis, not answered: the caller hears ringback
  | 'answered' // answered, greeting or menu playing
  | 'menu' // optional IVR menu choosing the agents' skill
  | 'queued' // waiting for an agent (music on hold once answered)
  | 'offering' // an agent's phone is ringing for this call
  | 'connected' // caller and agent bridged
  | 'survey' // the agent hung up first; the caller rates the service by DTMF (1–3)
  | 'transferring' // blind transfer: the caller holds while the department (or 110) rings; the agent is free
  | 'transferred' // the caller talks with the department; the agent has left
  | 'ended' // terminal: talked to an agent
  | 'abandoned' // terminal: caller hung up before an agent answered
  | 'failed' // terminal: we could not handle it (e.g. Asterisk lost the channel)
  | 'callback_requested' // terminal: the caller hung up keeping their place; a callback call will follow
  | 'closed'; // terminal: outside opening hours

export const TERMINAL: ReadonlySet<CallState> = new Set(['ended', 'abandoned', 'failed', 'callback_requested', 'closed']);

const TRANSITIONS: Record<CallState, readonly CallState[]> = {
  ringing: ['answered', 'queued', 'abandoned', 'failed'],
  answered: ['menu', 'queued', 'closed', 'abandoned', 'failed'],
  menu: ['queued', 'abandoned', 'failed'],
  queued: ['offering', 'abandoned', 'failed', 'callback_requested'],
  offering: ['queued', 'connected', 'abandoned', 'failed'],
  connected: ['ended', 'survey', 'transferring', 'transferred', 'failed'],
  transferring: ['transferred', 'queued', 'ended', 'failed'],
  transferred: ['ended', 'failed'],
  survey: ['ended', 'failed'],
  ended: [],
  abandoned: [],
  failed: [],
  callback_requested: [],
  closed: [],
};

export function canTransition(from: CallState, to: CallState): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalCallTransition extends Error {
  constructor(
    readonly callId: string,
    readonly from: CallState,
    readonly to: CallState,
  ) {
    super(`call ${callId}: illegal transition ${from} → ${to}`);
    this.name = 'IllegalCallTransition';
  }
}

/** Outcome stored on the call record for a terminal state. */
export function outcomeOf(state: CallState): 'answered' | 'abandoned' | 'failed' | 'callback' | 'after_hours' | null {
  if (state === 'ended') return 'answered';
  if (state === 'callback_requested') return 'callback';
  if (state === 'closed') return 'after_hours';
  if (state === 'abandoned') return 'abandoned';
  if (state === 'failed') return 'failed';
  return null;
}
