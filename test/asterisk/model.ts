// Data model of the Asterisk simulator: snapshots, formatting and the small tables (causes, states)
// that make events look like the ones a real Asterisk 22 sends (see ../shared/asterisk-traces/README.md).

export const ASTERISK_ID = '02:fc:00:00:00:01';
export const ASTERISK_VERSION = '22.10.1';

export type EndpointBehavior =
  | { answerAfterMs: number }
  | { ring: 'forever' }
  | { busy: true; afterMs?: number }
  | { unreachable: true };

export interface CallerIdent {
  name: string;
  number: string;
}

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: string;
  protocol_id: string;
  caller: CallerIdent;
  connected: CallerIdent;
  accountcode: string;
  dialplan: DialplanLocation;
  creationtime: string;
  language: string;
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export interface PlaybackJson {
  id: string;
  media_uri: string;
  next_media_uri?: string;
  target_uri: string;
  language: string;
  state: string;
}

export interface LiveRecordingJson {
  name: string;
  format: string;
  target_uri: string;
  state: string;
  duration?: number;
  talking_duration?: number;
  silence_duration?: number;
  cause?: string;
}

export interface EndpointJson {
  technology: string;
  resource: string;
  state: string;
  channel_ids: string[];
}

/** An ARI event as sent on the WebSocket (before `asterisk_id` / `application` are appended). */
export type AriEvent = { type: string; timestamp: string } & Record<string, unknown>;

/** Asterisk's timestamp format: `2026-11-28T23:01:53.601+0000` (UTC, milliseconds). */
export function ariTime(d: Date = new Date()): string {
  return d.toISOString().replace('Z', '+0000');
}

/** CDR-like `2026-11-28 23:01:53`. */
export function cdrTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** `HH:MM:SS` duration as shown by CoreShowChannel. */
export function hms(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

export function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Channel state numbers used by AMI's ChannelState header. */
export const STATE_CODES: Record<string, number> = {
  Down: 0,
  Rsrvd: 1,
  OffHook: 2,
  Dialing: 3,
  Ring: 4,
  Ringing: 5,
  Up: 6,
  Busy: 7,
};

/** Q.850 / Asterisk cause texts (ast_cause2str) for the causes the simulator produces. */
const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  21: 'Call Rejected',
  26: 'Answered elsewhere',
  28: 'Invalid number format',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** `DELETE /channels/{id}?reason=` names → cause codes (as res/ari/resource_channels.c maps them). */
export const HANGUP_REASONS: Record<string, number> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

/** Dial status derived from a hangup cause (ast_hangup_cause_to_dial_status). */
export function dialStatusForCause(cause: number): string {
  switch (cause) {
    case 17:
      return 'BUSY';
    case 34:
      return 'CONGESTION';
    case 3:
    case 20:
      return 'CHANUNAVAIL';
    default:
      return 'NOANSWER';
  }
}

/** `"Name" <number>` / `Name <number>` / `number` → caller ident. */
export function parseCallerId(s: string | undefined): CallerIdent {
  if (!s) return { name: '', number: '' };
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(s);
  if (m) return { name: (m[1] ?? '').trim(), number: (m[2] ?? '').trim() };
  return { name: '', number: s.trim() };
}

/** RFC 4122 v4 id, like Asterisk's bridge and playback ids. */
export function uuid(): string {
  return globalThis.crypto.randomUUID();
}

/** A tiny valid WAV file (8 kHz, 16-bit mono, 0.1 s of silence). */
export function tinyWav(): Buffer {
  const samples = 800;
  const dataLen = samples * 2;
  const b = Buffer.alloc(44 + dataLen);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataLen, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataLen, 40);
  return b;
}
