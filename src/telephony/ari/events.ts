// ARI events → switch events: the raw frames AriConnection decodes become the CallSwitch contract (SwitchEvents),
// with channel and bridge snapshots mapped field by field (toChannel, toBridge; also used for command replies).
import type { BridgeSnapshot, ChannelSnapshot, SwitchEvents } from '../switch';
import type { AriRawEvent } from './connection';

/** The ARI event type behind each switch event: what translate() maps, and what AriSwitch's event filter lets through. */
export const ARI_TYPE_OF: Record<Exclude<keyof SwitchEvents, 'up' | 'down'>, string> = {
  stasisStart: 'StasisStart',
  stasisEnd: 'StasisEnd',
  channelStateChange: 'ChannelStateChange',
  hangupRequest: 'ChannelHangupRequest',
  channelDestroyed: 'ChannelDestroyed',
  dial: 'Dial',
  dtmf: 'ChannelDtmfReceived',
  playbackStarted: 'PlaybackStarted',
  playbackFinished: 'PlaybackFinished',
  channelEnteredBridge: 'ChannelEnteredBridge',
  channelLeftBridge: 'ChannelLeftBridge',
  recordingFinished: 'RecordingFinished',
  recordingFailed: 'RecordingFailed',
};

/** How translate() hands a switch event on (AriSwitch: to every listener, none of them able to stop the others). */
export type EmitSwitchEvent = <K extends keyof SwitchEvents>(name: K, ...args: SwitchEvents[K]) => void;

/** One ARI event → at most one switch event; types outside the contract are dropped. */
export function translate(e: AriRawEvent, emit: EmitSwitchEvent): void {
  switch (e.type) {
    case 'StasisStart':
      emit('stasisStart', { channel: toChannel(e.channel), args: Array.isArray(e.args) ? e.args.map(String) : [] });
      break;
    case 'StasisEnd':
      emit('stasisEnd', { channel: toChannel(e.channel) });
      break;
    case 'ChannelStateChange':
      emit('channelStateChange', { channel: toChannel(e.channel) });
      break;
    case 'ChannelHangupRequest':
      emit('hangupRequest', {
        channel: toChannel(e.channel),
        ...(typeof e.cause === 'number' ? { cause: e.cause } : {}),
        ...(typeof e.soft === 'boolean' ? { soft: e.soft } : {}),
      });
      break;
    case 'ChannelDestroyed':
      emit('channelDestroyed', {
        channel: toChannel(e.channel),
        cause: typeof e.cause === 'number' ? e.cause : 0,
        causeTxt: typeof e.cause_txt === 'string' ? e.cause_txt : '',
      });
      break;
    case 'Dial':
      emit('dial', { peer: toChannel(e.peer), dialstatus: typeof e.dialstatus === 'string' ? e.dialstatus : '' });
      break;
    case 'ChannelDtmfReceived':
      emit('dtmf', {
        channel: toChannel(e.channel),
        digit: String(e.digit ?? ''),
        durationMs: typeof e.duration_ms === 'number' ? e.duration_ms : 0,
      });
      break;
    case 'PlaybackStarted': {
      const p = obj(e.playback);
      emit('playbackStarted', { playbackId: str(p.id), targetUri: str(p.target_uri) });
      break;
    }
    case 'PlaybackFinished': {
      const p = obj(e.playback);
      emit('playbackFinished', { playbackId: str(p.id), targetUri: str(p.target_uri), state: str(p.state) });
      break;
    }
    case 'ChannelEnteredBridge':
      emit('channelEnteredBridge', { bridge: toBridge(e.bridge), channel: toChannel(e.channel) });
      break;
    case 'ChannelLeftBridge':
      emit('channelLeftBridge', { bridge: toBridge(e.bridge), channel: toChannel(e.channel) });
      break;
    case 'RecordingFinished': {
      const r = obj(e.recording);
      emit('recordingFinished', {
        name: str(r.name),
        targetUri: str(r.target_uri),
        ...(typeof r.duration === 'number' ? { durationSec: r.duration } : {}),
      });
      break;
    }
    case 'RecordingFailed': {
      const r = obj(e.recording);
      emit('recordingFailed', {
        name: str(r.name),
        targetUri: str(r.target_uri),
        ...(typeof r.cause === 'string' ? { cause: r.cause } : {}),
      });
      break;
    }
    default:
      // ChannelVarset, ChannelConnectedLine, BridgeDestroyed, … : not part of the call logic's contract.
      break;
  }
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function party(v: unknown): { name: string; number: string } {
  const p = obj(v);
  return { name: str(p.name), number: str(p.number) };
}

export function toChannel(raw: unknown): ChannelSnapshot {
  const c = obj(raw);
  const snapshot: ChannelSnapshot = {
    id: str(c.id),
    name: str(c.name),
    state: str(c.state),
    caller: party(c.caller),
    connected: party(c.connected),
  };
  const d = c.dialplan;
  if (d && typeof d === 'object') {
    const dp = d as Record<string, unknown>;
    snapshot.dialplan = {
      context: str(dp.context),
      exten: str(dp.exten),
      priority: typeof dp.priority === 'number' ? dp.priority : Number(dp.priority ?? 0),
      ...(dp.app_name !== undefined ? { app_name: str(dp.app_name) } : {}),
      ...(dp.app_data !== undefined ? { app_data: str(dp.app_data) } : {}),
    };
  }
  if (typeof c.creationtime === 'string') snapshot.creationtime = c.creationtime;
  if (typeof c.language === 'string') snapshot.language = c.language;
  return snapshot;
}

export function toBridge(raw: unknown): BridgeSnapshot {
  const b = obj(raw);
  const snapshot: BridgeSnapshot = { id: str(b.id), channels: Array.isArray(b.channels) ? b.channels.map(String) : [] };
  if (typeof b.name === 'string') snapshot.name = b.name;
  if (typeof b.bridge_type === 'string') snapshot.bridge_type = b.bridge_type;
  if (typeof b.technology === 'string') snapshot.technology = b.technology;
  return snapshot;
}
