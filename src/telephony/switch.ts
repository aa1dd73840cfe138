// The small interface the call logic drives. It knows channels, bridges and playbacks, nothing of calls or agents.
// Implemented over ARI (telephony/ari/switch.ts); events are emitted already decoded from ARI's JSON.
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';

export interface ChannelSnapshot {
  id: string;
  name: string;
  state: string; // Down | Ring | Ringing | Up | Busy …, as ARI reports it
  caller: { name: string; number: string };
  connected: { name: string; number: string };
  dialplan?: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
  creationtime?: string;
  language?: string;
}

export interface BridgeSnapshot {
  id: string;
  name?: string;
  bridge_type?: string;
  technology?: string;
  channels: string[];
}

export interface OriginateRequest {
  endpoint: string; // e.g. PJSIP/agent1001
  appArgs: string; // passed to our Stasis app, e.g. "agent,<callId>"
  callerId?: string; // "Name <number>"
  timeoutSec?: number;
  channelId?: string; // chosen by us so events can be matched before POST /channels returns
  variables?: Record<string, string>;
}

/** A stored recording's audio, streamed from Asterisk (GET /recordings/stored/{name}/file). */
export interface RecordingFile {
  contentType: string;
  contentLength: number | null;
  stream: Readable;
}

/** Events the call logic reacts to. Payloads carry the channel snapshot Asterisk sent. */
export interface SwitchEvents {
  /** The ARI WebSocket is (again) connected; the call logic reconciles after each. */
  up: [];
  down: [reason: string];
  stasisStart: [{ channel: ChannelSnapshot; args: string[] }];
  stasisEnd: [{ channel: ChannelSnapshot }];
  channelStateChange: [{ channel: ChannelSnapshot }];
  /** Remote hangup or our DELETE; cause absent on a remote BYE, 17 on busy, 32 (soft) for our own hangup. */
  hangupRequest: [{ channel: ChannelSnapshot; cause?: number; soft?: boolean }];
  channelDestroyed: [{ channel: ChannelSnapshot; cause: number; causeTxt: string }];
  /** Progress of an originated channel: "" → RINGING → ANSWER | NOANSWER | BUSY | CONGESTION | CHANUNAVAIL | CANCEL. */
  dial: [{ peer: ChannelSnapshot; dialstatus: string }];
  dtmf: [{ channel: ChannelSnapshot; digit: string; durationMs: number }];
  playbackStarted: [{ playbackId: string; targetUri: string }];
  playbackFinished: [{ playbackId: string; targetUri: string; state: string }];
  channelEnteredBridge: [{ bridge: BridgeSnapshot; channel: ChannelSnapshot }];
  channelLeftBridge: [{ bridge: BridgeSnapshot; channel: ChannelSnapshot }];
  recordingFinished: [{ name: string; targetUri: string; durationSec?: number }];
  recordingFailed: [{ name: string; targetUri: string; cause?: string }];
}

export interface CallSwitch extends EventEmitter<SwitchEvents> {
  /** True while the ARI WebSocket is connected. Commands fail with TelephonyDownError otherwise. */
  readonly isUp: boolean;

  answer(channelId: string): Promise<void>;
  /** Send ringing indication to a not yet answered channel (the caller hears ringback). */
  ring(channelId: string): Promise<void>;
  hangup(channelId: string, reason?: 'normal' | 'busy' | 'congestion' | 'no_answer'): Promise<void>;
  /** Resolves with the playback id (ours if given). */
  play(channelId: string, media: string | string[], playbackId?: string): Promise<string>;
  stopPlayback(playbackId: string): Promise<void>;
  startMoh(channelId: string, mohClass?: string): Promise<void>;
  stopMoh(channelId: string): Promise<void>;
  originate(req: OriginateRequest): Promise<ChannelSnapshot>;
  getChannel(channelId: string): Promise<ChannelSnapshot | null>;
  listChannels(): Promise<ChannelSnapshot[]>;

  createBridge(type: 'mixing' | 'holding', name?: string, bridgeId?: string): Promise<BridgeSnapshot>;
  addToBridge(bridgeId: string, channelIds: string[]): Promise<void>;
  removeFromBridge(bridgeId: string, channelIds: string[]): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
  getBridge(bridgeId: string): Promise<BridgeSnapshot | null>;
  listBridges(): Promise<BridgeSnapshot[]>;
  /**
   * A snoop channel on a channel (ARI POST /channels/{id}/snoop): hears the channel's audio (`spy`: both directions
   * by default) and enters our Stasis app with `appArgs` (StasisStart). It ends by itself with the spied-on channel.
   */
  snoop(channelId: string, opts: { snoopId: string; appArgs: string; spy?: 'both' | 'in' | 'out' }): Promise<ChannelSnapshot>;
  /** Record a channel that is in our Stasis app to the named file; resolves once the recording is queued. */
  recordChannel(channelId: string, name: string, opts?: { format?: string; ifExists?: 'fail' | 'overwrite' | 'append' }): Promise<void>;
  /** The file of a stored recording, streamed; null when Asterisk has no such recording. */
  recordingFile(name: string): Promise<RecordingFile | null>;
  /** Deletes a stored recording (DELETE /recordings/stored/{name}); rejects with notFound when there is none. */
  deleteRecording(name: string): Promise<void>;

  close(): Promise<void>;
}

/** How an originated leg ended unanswered, by its ARI Dial status (other statuses are progress or an answer). */
export type DialFailure = 'no_answer' | 'busy' | 'failed';
export const DIAL_FAILURES: Readonly<Record<string, DialFailure>> = {
  NOANSWER: 'no_answer',
  BUSY: 'busy',
  CONGESTION: 'failed',
  CHANUNAVAIL: 'failed',
  CANCEL: 'no_answer',
};

/** Errors from Asterisk's REST side keep the HTTP status so callers can tell "already gone" (404) from faults. */
export class SwitchCommandError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | null,
    message: string,
  ) {
    super(`${operation} failed${status ? ` (${status})` : ''}: ${message}`);
    this.name = 'SwitchCommandError';
  }
  get notFound(): boolean {
    return this.status === 404;
  }
}
