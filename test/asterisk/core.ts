// The simulated PBX: endpoints, channels, bridges, playbacks and recordings, and the order in which a
// real Asterisk 22 publishes ARI and AMI events for them (see ../shared/asterisk-traces/README.md).
// Transport-free: ARI HTTP/WS and AMI servers call into Core and receive events through the sinks.
import { EventEmitter } from 'node:events';
import {
  ariTime,
  causeText,
  dialStatusForCause,
  hex8,
  parseCallerId,
  uuid,
  STATE_CODES,
  type AriEvent,
  type BridgeJson,
  type CallerIdent,
  type ChannelJson,
  type DialplanLocation,
  type EndpointBehavior,
  type EndpointJson,
  type LiveRecordingJson,
  type PlaybackJson,
} from './model';

export type AmiHeaders = [string, string][];

export interface SimChannel {
  readonly id: string;
  readonly name: string;
  readonly endpoint: string;
  readonly state: string;
  readonly bridgeId: string | null;
  readonly isOriginated: boolean;
  readonly appArgs: string[];
  hangup(): void;
  sendDtmf(digit: string, durationMs?: number): void;
  waitFor(state: 'Up' | 'Ringing' | 'destroyed' | 'inStasis' | 'bridged', timeoutMs?: number): Promise<void>;
  readonly mohPlaying: boolean;
  readonly ringing: boolean;
  readonly playbacks: string[];
}

/** Formats a stock Asterisk 22 can record to (format modules loaded by default). */
const RECORDING_FORMATS = new Set(['wav', 'wav16', 'WAV', 'gsm', 'ulaw', 'alaw', 'sln', 'g722', 'g729', 'ogg', 'h263', 'h264']);

export interface CoreOptions {
  soundDurationsMs: Record<string, number>;
  defaultSoundMs: number;
  /** Default deadline of channel.waitFor (tests: a stall fails with a message); unset = wait as long as it takes. */
  waitTimeoutMs?: number;
}

export class AriError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
    readonly statusText?: string,
  ) {
    super(JSON.stringify(body));
  }
}

interface EndpointState {
  name: string;
  context: string;
  online: boolean;
  behavior: EndpointBehavior;
  contactUri: string;
  lastDeviceState: string;
}

type Waiter = { cond: () => boolean; resolve: () => void };

export class ChannelImpl implements SimChannel {
  state: string;
  connected: CallerIdent = { name: '', number: '' };
  dialplan: DialplanLocation;
  readonly creationtime = new Date();
  bridgeId: string | null = null;
  inStasis = false;
  destroyed = false;
  hangingUp = false;
  mohPlaying = false;
  mohClass = '';
  ringing = false;
  /** MixMonitor(…,b) from the dialplan: the recording name (under the recording directory; audio only while bridged). */
  mixMonitor: string | null = null;
  readonly apps = new Set<string>();
  stasisApp: string | null = null;
  readonly vars = new Map<string, string>();
  linkedid: string;
  /** Ids of queued or running playbacks, in order. */
  readonly playbackIds: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  readonly waiters: Waiter[] = [];
  timers = new Set<NodeJS.Timeout>();
  dialstring = '';
  /** Stasis app args for an originated channel (from appArgs). */
  appArgs: string[] = [];
  /** AMI Originate bookkeeping. */
  amiApplication: { app: string; data: string } | null = null;
  /** False until NewCallerid is published for an originated channel (AMI shows <unknown> before). */
  amiCallerPublished = true;
  /** Snoop channels (POST /channels/{id}/snoop) spying on this channel: they end when it does. */
  readonly snoops = new Set<ChannelImpl>();
  /** A snoop channel: the channel it spies on. */
  spyee: ChannelImpl | null = null;
  /** A live recording of this channel (POST /channels/{id}/record). */
  recording: RecordingImpl | null = null;

  constructor(
    private readonly core: Core,
    readonly id: string,
    readonly name: string,
    readonly endpoint: string,
    readonly protocolId: string,
    readonly caller: CallerIdent,
    state: string,
    dialplan: DialplanLocation,
    readonly isOriginated: boolean,
  ) {
    this.state = state;
    this.dialplan = dialplan;
    this.linkedid = id;
  }

  get playbacks(): string[] {
    return [...this.playbackIds];
  }

  json(): ChannelJson {
    return {
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: this.protocolId,
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: '',
      dialplan: { ...this.dialplan },
      creationtime: ariTime(this.creationtime),
      language: 'en',
    };
  }

  /** Runs fn after every command queued before it on this channel (ARI's per-channel control queue). */
  enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(() => fn());
    this.chain = run.catch(() => undefined);
    return run;
  }

  hangup(): void {
    this.core.remoteHangup(this);
  }

  sendDtmf(digit: string, durationMs = 100): void {
    this.core.dtmf(this, digit, durationMs);
  }

  /**
   * Resolves once the channel is in that state; rejects after `timeoutMs` so a test that waits for something that
   * never happens fails with a message (and runs its clean-up) instead of hanging until Jest's timeout.
   */
  waitFor(what: 'Up' | 'Ringing' | 'destroyed' | 'inStasis' | 'bridged', timeoutMs = this.core.opts.waitTimeoutMs): Promise<void> {
    const cond = (): boolean => {
      switch (what) {
        case 'Up':
          return this.state === 'Up';
        case 'Ringing':
          return this.state === 'Ringing';
        case 'destroyed':
          return this.destroyed;
        case 'inStasis':
          return this.inStasis;
        case 'bridged':
          return this.bridgeId !== null;
      }
    };
    if (cond()) return Promise.resolve();
    if (timeoutMs === undefined) return new Promise((resolve) => this.waiters.push({ cond, resolve }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`channel ${this.id} (${this.endpoint}) not ${what} within ${timeoutMs} ms (state ${this.state}${this.destroyed ? ', destroyed' : ''})`));
      }, timeoutMs);
      const waiter = {
        cond,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  checkWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w && w.cond()) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

export interface BridgeImpl {
  id: string;
  type: 'mixing' | 'holding';
  name: string;
  channels: string[];
  creationtime: Date;
  /** Per app, how many of its channels joined (the app stays subscribed until removeChannel takes them out). */
  subscribers: Map<string, number>;
  mohChannel: { id1: string; id2: string; name: string } | null;
  recording: RecordingImpl | null;
  destroyed: boolean;
}

interface PlaybackImpl {
  id: string;
  medias: string[];
  index: number;
  targetUri: string;
  channelId: string;
  state: 'queued' | 'playing' | 'done' | 'failed';
  timer: NodeJS.Timeout | null;
  finish: (() => void) | null;
}

interface RecordingImpl {
  name: string;
  format: string;
  targetUri: string;
  state: string;
  startedAt: number;
  apps: string[];
}

export interface SinkSet {
  /** Deliver one ARI event to one application (adds asterisk_id/application). Returns true if sent. */
  ari(app: string, event: AriEvent): boolean;
  ami(headers: AmiHeaders): void;
  isAppActive(app: string): boolean;
}

export class Core extends EventEmitter {
  readonly endpoints = new Map<string, EndpointState>();
  readonly channelMap = new Map<string, ChannelImpl>();
  readonly bridgeMap = new Map<string, BridgeImpl>();
  readonly playbackMap = new Map<string, PlaybackImpl>();
  readonly liveRecordings = new Map<string, RecordingImpl>();
  readonly storedRecordings = new Map<string, { name: string; format: string }>();
  /** Explicit subscriptions from POST /applications/{app}/subscription. */
  readonly appSubs = new Map<string, { endpoints: Set<string>; devices: Set<string> }>();
  private uniqueCounter = 0;
  private chanNameCounter = 0;
  private announcerCounter = 0;
  private snoopCounter = 0;
  private timers = new Set<NodeJS.Timeout>();
  readonly startupTime = new Date();
  lastReload = new Date();

  constructor(
    private readonly sinks: SinkSet,
    readonly opts: CoreOptions,
  ) {
    super();
  }

  // ------------------------------------------------------------------------------------------------------
  // plumbing

  setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | null): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** `core restart now`: every channel is soft-hung up for the shutdown, with its events, before Asterisk goes. */
  hangupAllForShutdown(): void {
    for (const ch of [...this.channelMap.values()]) this.hangupChannel(ch, 'shutdown');
  }

  /** Forget every channel, bridge and playback without events (an Asterisk restart). */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ch of this.channelMap.values()) {
      ch.destroyed = true;
      ch.inStasis = false;
      ch.bridgeId = null;
      ch.checkWaiters();
    }
    this.channelMap.clear();
    this.bridgeMap.clear();
    this.playbackMap.clear();
    this.liveRecordings.clear();
    this.appSubs.clear();
    for (const ep of this.endpoints.values()) ep.lastDeviceState = this.deviceState(ep);
    this.lastReload = new Date();
  }

  private nextUniqueId(): string {
    return `${Math.floor(Date.now() / 1000)}.${this.uniqueCounter++}`;
  }

  private sendAri(apps: Iterable<string>, ev: Omit<AriEvent, 'timestamp'> & { timestamp?: string }): void {
    const seen = new Set<string>();
    for (const app of apps) {
      if (seen.has(app)) continue;
      seen.add(app);
      this.sinks.ari(app, ev as AriEvent);
    }
  }

  /** Build an event with the field order Asterisk uses: `lead` fields, type, timestamp, then `rest`. */
  private ev(type: string, rest: Record<string, unknown>, lead: Record<string, unknown> = {}): AriEvent {
    return { ...lead, type, timestamp: ariTime(), ...rest } as AriEvent;
  }

  private chanEvent(ch: ChannelImpl, type: string, rest: Record<string, unknown> = {}, lead: Record<string, unknown> = {}): void {
    this.sendAri(ch.apps, this.ev(type, { ...rest, channel: ch.json() }, lead));
  }

  private varset(ch: ChannelImpl, variable: string, value: string, ari = true): void {
    ch.vars.set(variable, value);
    this.ami('VarSet', 'dialplan,all', [...this.chanHeaders(ch), ['Variable', variable], ['Value', value]]);
    if (ari) this.chanEvent(ch, 'ChannelVarset', {}, { variable, value });
  }

  ami(event: string, privilege: string, headers: AmiHeaders): void {
    this.sinks.ami([['Event', event], ['Privilege', privilege], ...headers]);
  }

  chanHeaders(ch: ChannelImpl, prefix = ''): AmiHeaders {
    const unk = (s: string): string => (s === '' ? '<unknown>' : s);
    const callerKnown = ch.amiCallerPublished;
    return [
      [`${prefix}Channel`, ch.name],
      [`${prefix}ChannelState`, String(STATE_CODES[ch.state] ?? 0)],
      [`${prefix}ChannelStateDesc`, ch.state],
      [`${prefix}CallerIDNum`, callerKnown ? unk(ch.caller.number) : '<unknown>'],
      [`${prefix}CallerIDName`, callerKnown ? unk(ch.caller.name) : '<unknown>'],
      [`${prefix}ConnectedLineNum`, unk(ch.connected.number)],
      [`${prefix}ConnectedLineName`, unk(ch.connected.name)],
      [`${prefix}Language`, 'en'],
      [`${prefix}AccountCode`, ''],
      [`${prefix}Context`, ch.dialplan.context],
      [`${prefix}Exten`, ch.dialplan.exten],
      [`${prefix}Priority`, String(ch.dialplan.priority)],
      [`${prefix}Uniqueid`, ch.id],
      [`${prefix}Linkedid`, ch.linkedid],
    ];
  }

  bridgeHeaders(b: BridgeImpl): AmiHeaders {
    return [
      ['BridgeUniqueid', b.id],
      ['BridgeType', 'stasis'],
      ['BridgeTechnology', this.technology(b)],
      ['BridgeCreator', 'Stasis'],
      ['BridgeName', b.name === '' ? '<unknown>' : b.name],
      ['BridgeNumChannels', String(b.channels.length)],
      ['BridgeVideoSourceMode', 'talker'],
    ];
  }

  // ------------------------------------------------------------------------------------------------------
  // endpoints and device state

  addEndpoint(name: string, opts: { context: string; online?: boolean; behavior?: EndpointBehavior; contactUri?: string }): void {
    const ep: EndpointState = {
      name,
      context: opts.context,
      online: opts.online ?? true,
      behavior: opts.behavior ?? { answerAfterMs: 100 },
      contactUri: opts.contactUri ?? `sip:${name}@127.0.0.1:5070`,
      lastDeviceState: 'UNAVAILABLE',
    };
    ep.lastDeviceState = this.deviceState(ep);
    this.endpoints.set(name, ep);
  }

  endpoint(name: string): EndpointState | undefined {
    return this.endpoints.get(name);
  }

  setBehavior(name: string, b: EndpointBehavior): void {
    const ep = this.endpoints.get(name);
    if (!ep) throw new Error(`unknown endpoint ${name}`);
    ep.behavior = b;
  }

  endpointJson(ep: EndpointState): EndpointJson {
    return {
      technology: 'PJSIP',
      resource: ep.name,
      state: ep.online ? 'online' : 'offline',
      channel_ids: [...this.channelMap.values()].filter((c) => c.endpoint === ep.name).map((c) => c.id),
    };
  }

  deviceState(ep: EndpointState): string {
    const chans = [...this.channelMap.values()].filter((c) => c.endpoint === ep.name && !c.destroyed);
    if (chans.some((c) => c.state === 'Up')) return 'INUSE';
    if (chans.some((c) => c.state === 'Ringing')) return 'RINGING';
    return ep.online ? 'NOT_INUSE' : 'UNAVAILABLE';
  }

  static deviceStateText(s: string): string {
    return { NOT_INUSE: 'Not in use', INUSE: 'In use', RINGING: 'Ringing', UNAVAILABLE: 'Unavailable', BUSY: 'Busy' }[s] ?? 'Unknown';
  }

  private appsSubscribedTo(kind: 'endpoints' | 'devices', key: string): string[] {
    const out: string[] = [];
    for (const [app, s] of this.appSubs) {
      const set = s[kind];
      if (set.has(key) || (kind === 'endpoints' && set.has('PJSIP'))) out.push(app);
    }
    return out;
  }

  private updateDeviceState(endpointName: string, force = false): void {
    const ep = this.endpoints.get(endpointName);
    if (!ep) return;
    const s = this.deviceState(ep);
    if (s === ep.lastDeviceState && !force) return;
    ep.lastDeviceState = s;
    this.ami('DeviceStateChange', 'call,all', [
      ['Device', `PJSIP/${ep.name}`],
      ['State', s],
    ]);
    this.sendAri(this.appsSubscribedTo('devices', `PJSIP/${ep.name}`), this.ev('DeviceStateChanged', { device_state: { name: `PJSIP/${ep.name}`, state: s } }));
  }

  setOnline(name: string, online: boolean): void {
    const ep = this.endpoints.get(name);
    if (!ep) throw new Error(`unknown endpoint ${name}`);
    if (ep.online === online) return;
    ep.online = online;
    const apps = this.appsSubscribedTo('endpoints', `PJSIP/${name}`);
    const epJson = this.endpointJson(ep);
    const status = online ? 'Reachable' : 'Unreachable';
    const rtt = online ? '377' : '0';
    const contact = { uri: ep.contactUri, contact_status: status, aor: name, roundtrip_usec: rtt };
    const newState = this.deviceState(ep);
    const devApps = this.appsSubscribedTo('devices', `PJSIP/${name}`);
    const devEv = (): AriEvent => this.ev('DeviceStateChanged', { device_state: { name: `PJSIP/${name}`, state: newState } });
    // ARI order as in scenario D: online → EndpointStateChange, DeviceStateChanged, PeerStatusChange, ContactStatusChange;
    // offline → EndpointStateChange, PeerStatusChange, ContactStatusChange, DeviceStateChanged.
    this.sendAri(apps, this.ev('EndpointStateChange', { endpoint: epJson }));
    if (online) this.sendAri(devApps, devEv());
    this.sendAri(apps, this.ev('PeerStatusChange', { endpoint: epJson, peer: { peer_status: status } }));
    this.sendAri(apps, this.ev('ContactStatusChange', { endpoint: epJson, contact_info: contact }));
    if (!online) this.sendAri(devApps, devEv());
    this.ami('PeerStatus', 'system,all', [
      ['ChannelType', 'PJSIP'],
      ['Peer', `PJSIP/${name}`],
      ['PeerStatus', status],
    ]);
    this.ami('ContactStatus', 'system,all', [
      ['URI', ep.contactUri],
      ['ContactStatus', status],
      ['AOR', name],
      ['EndpointName', name],
      ['RoundtripUsec', rtt],
    ]);
    ep.lastDeviceState = newState;
    this.ami('DeviceStateChange', 'call,all', [
      ['Device', `PJSIP/${name}`],
      ['State', newState],
    ]);
  }

  // ------------------------------------------------------------------------------------------------------
  // channels

  private newChannel(endpointName: string, caller: CallerIdent, state: string, dialplan: DialplanLocation, originated: boolean, id?: string): ChannelImpl {
    const uid = this.nextUniqueId();
    const chId = id ?? uid;
    const name = `PJSIP/${endpointName}-${hex8(this.chanNameCounter++)}`;
    const protocolId = originated ? uuid() : `${1 + Math.floor(Math.random() * 9)}-${10000 + Math.floor(Math.random() * 89999)}@127.0.0.1`;
    const ch = new ChannelImpl(this, chId, name, endpointName, protocolId, caller, state, dialplan, originated);
    this.channelMap.set(chId, ch);
    return ch;
  }

  private setState(ch: ChannelImpl, state: string, ari = true): void {
    if (ch.state === state) return;
    ch.state = state;
    this.ami('Newstate', 'call,all', this.chanHeaders(ch));
    if (ari) this.chanEvent(ch, 'ChannelStateChange');
    this.updateDeviceState(ch.endpoint);
    ch.checkWaiters();
    this.emit('channelState', ch);
  }

  /**
   * A caller dials the Stasis extension: Newchannel → dialplan NoOp → [Ringing()] → Stasis(app,args) → StasisStart.
   * ringing: the dialplan indicates ringback before Stasis, as asterisk-config's [from-callers] does; mixMonitor: it
   * starts MixMonitor(<recording dir>/<name>.wav,b) first: the file exists from then on, with audio only while bridged.
   */
  dial(opts: { from: string; callerNumber?: string; callerName?: string; exten?: string; app: string; appArgs?: string[]; ringing?: boolean; mixMonitor?: string }): ChannelImpl {
    let ep = this.endpoints.get(opts.from);
    if (!ep) {
      this.addEndpoint(opts.from, { context: 'from-callers', online: false });
      ep = this.endpoints.get(opts.from) as EndpointState;
    }
    const exten = opts.exten ?? '114';
    const caller = { name: opts.callerName ?? '', number: opts.callerNumber ?? opts.from };
    const ch = this.newChannel(ep.name, caller, 'Ring', { context: ep.context, exten, priority: 1, app_name: '', app_data: '' }, false);
    ch.appArgs = opts.appArgs ?? [];
    this.ami('Newchannel', 'call,all', this.chanHeaders(ch));
    ch.vars.set('SIPDOMAIN', '127.0.0.1');
    this.ami('VarSet', 'dialplan,all', [...this.chanHeaders(ch), ['Variable', 'SIPDOMAIN'], ['Value', '127.0.0.1']]);
    const cid = caller.name ? `"${caller.name}" <${caller.number}>` : caller.number;
    ch.dialplan = { context: ep.context, exten, priority: 1, app_name: 'NoOp', app_data: `hotline call from ${cid}` };
    this.ami('Newexten', 'dialplan,all', [...this.chanHeaders(ch), ['Extension', exten], ['Application', 'NoOp'], ['AppData', ch.dialplan.app_data]]);
    let priority = 2;
    if (opts.mixMonitor) {
      const data = `/var/spool/asterisk/recording/${opts.mixMonitor}.wav,b`;
      ch.dialplan = { context: ep.context, exten, priority: priority++, app_name: 'MixMonitor', app_data: data };
      this.ami('Newexten', 'dialplan,all', [...this.chanHeaders(ch), ['Extension', exten], ['Application', 'MixMonitor'], ['AppData', data]]);
      ch.mixMonitor = opts.mixMonitor;
      // app_mixmonitor opens its file as its thread starts: a caller never bridged leaves it empty.
      this.storedRecordings.set(opts.mixMonitor, { name: opts.mixMonitor, format: 'wav' });
    }
    if (opts.ringing) {
      // chan_pjsip sends 180 Ringing for an inbound channel still in state Ring; the state stays Ring.
      ch.dialplan = { context: ep.context, exten, priority: priority++, app_name: 'Ringing', app_data: '' };
      this.ami('Newexten', 'dialplan,all', [...this.chanHeaders(ch), ['Extension', exten], ['Application', 'Ringing'], ['AppData', '']]);
      ch.ringing = true;
    }
    const appData = [opts.app, ...ch.appArgs].join(',');
    ch.dialplan = { context: ep.context, exten, priority, app_name: 'Stasis', app_data: appData };
    this.ami('Newexten', 'dialplan,all', [...this.chanHeaders(ch), ['Extension', exten], ['Application', 'Stasis'], ['AppData', appData]]);
    this.emit('channelCreated', ch);
    this.enterStasis(ch, opts.app, ch.appArgs);
    return ch;
  }

  private enterStasis(ch: ChannelImpl, app: string, args: string[]): void {
    if (!this.sinks.isAppActive(app)) {
      // Stasis() fails for an unregistered application; the dialplan continues with Hangup().
      this.varset(ch, 'STASISSTATUS', 'FAILED', false);
      this.finalHangup(ch, 16, undefined, false);
      return;
    }
    ch.stasisApp = app;
    ch.apps.add(app);
    this.varset(ch, 'STASISSTATUS', '', ch.isOriginated);
    ch.inStasis = true;
    this.chanEvent(ch, 'StasisStart', { args: [...args] });
    ch.checkWaiters();
  }

  /** POST /channels: create the outgoing channel at once, then dial it asynchronously. */
  originate(p: { endpoint?: string; app?: string; appArgs?: string; callerId?: string; timeout?: number; channelId?: string; variables?: Record<string, string> }): ChannelImpl {
    if (!p.endpoint) throw new AriError(400, { message: 'Endpoint must be specified' });
    if (!p.app) throw new AriError(400, { message: 'Application or extension must be specified' });
    if (p.channelId && this.channelMap.has(p.channelId)) throw new AriError(409, { message: 'Channel with given unique ID already exists' });
    const m = /^PJSIP\/([^@/]+)/i.exec(p.endpoint);
    const ep = m ? this.endpoints.get(m[1] ?? '') : undefined;
    if (!ep || !ep.online || 'unreachable' in ep.behavior) throw new AriError(500, { error: 'Allocation failed' });
    const caller = parseCallerId(p.callerId);
    const ch = this.newChannel(ep.name, caller, 'Down', { context: ep.context, exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' }, true, p.channelId);
    ch.connected = { ...caller };
    ch.dialstring = ep.name;
    ch.appArgs = p.appArgs ? p.appArgs.split(',') : [];
    ch.apps.add(p.app);
    ch.stasisApp = p.app;
    this.publishOutgoingCreated(ch, p.variables ?? {});
    const app = p.app;
    const timeoutMs = (p.timeout ?? 30) * 1000;
    setImmediate(() => this.runOutgoing(ch, ep, timeoutMs, () => this.enterStasisAfterAnswer(ch, app)));
    this.emit('channelCreated', ch);
    return ch;
  }

  private publishOutgoingCreated(ch: ChannelImpl, variables: Record<string, string>): void {
    ch.amiCallerPublished = false;
    const connected = ch.connected;
    ch.connected = { name: '', number: '' };
    this.ami('Newchannel', 'call,all', this.chanHeaders(ch));
    this.ami('Newexten', 'dialplan,all', [...this.chanHeaders(ch), ['Extension', 's'], ['Application', 'AppDial2'], ['AppData', '(Outgoing Line)']]);
    for (const [k, v] of Object.entries(variables)) this.varset(ch, k, String(v), false);
    ch.amiCallerPublished = true;
    this.ami('NewCallerid', 'call,all', [...this.chanHeaders(ch), ['CID-CallingPres', '0 (Presentation Allowed, Not Screened)']]);
    ch.connected = connected;
    this.ami('NewConnectedLine', 'call,all', this.chanHeaders(ch));
    this.ami('DialBegin', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialString', ch.dialstring]]);
  }

  private dialEvent(ch: ChannelImpl, status: string): void {
    this.sendAri(ch.apps, this.ev('Dial', { dialstatus: status, forward: '', dialstring: ch.dialstring, peer: ch.json() }));
  }

  private runOutgoing(ch: ChannelImpl, ep: EndpointState, timeoutMs: number, onAnswer: () => void, amiStyle = false): void {
    if (ch.destroyed || ch.hangingUp) return;
    if (!amiStyle) this.dialEvent(ch, '');
    const b = ep.behavior;
    if ('busy' in b) {
      const t = this.setTimer(() => this.busyHangup(ch), b.afterMs ?? 0);
      ch.timers.add(t);
      return;
    }
    // 180 Ringing
    if (amiStyle) {
      this.ami('DialState', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', 'RINGING']]);
      this.setState(ch, 'Ringing');
    } else {
      this.setState(ch, 'Ringing');
      this.dialEvent(ch, 'RINGING');
      this.ami('DialState', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', 'RINGING']]);
    }
    if (timeoutMs > 0) ch.timers.add(this.setTimer(() => this.dialTimeout(ch), timeoutMs)); // ARI timeout -1: no limit
    if ('answerAfterMs' in b) {
      const ta = this.setTimer(() => {
        if (ch.destroyed || ch.hangingUp || ch.state === 'Up') return;
        for (const t of ch.timers) this.clearTimer(t);
        ch.timers.clear();
        this.setState(ch, 'Up');
        this.dialEvent(ch, 'ANSWER');
        this.ami('DialEnd', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', 'ANSWER']]);
        onAnswer();
      }, b.answerAfterMs);
      ch.timers.add(ta);
    }
  }

  private enterStasisAfterAnswer(ch: ChannelImpl, app: string): void {
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: [app, ...ch.appArgs].join(',') };
    this.enterStasis(ch, app, ch.appArgs);
  }

  private busyHangup(ch: ChannelImpl): void {
    if (ch.destroyed || ch.hangingUp) return;
    ch.hangingUp = true;
    for (const t of ch.timers) this.clearTimer(t);
    this.chanEvent(ch, 'ChannelHangupRequest', {}, { cause: 17, tech_cause: 486 });
    this.ami('HangupRequest', 'call,all', [...this.chanHeaders(ch), ['Cause', '17'], ['TechCause', '486']]);
    this.dialEvent(ch, 'BUSY');
    this.ami('DialEnd', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', 'BUSY']]);
    this.finalHangup(ch, 17, 486);
    this.emit('originateFailed', ch, 5);
  }

  /** Originate timeout (dial.c handle_timeout_trip): hangup cause 19 set, ast_hangup, no Dial event. */
  private dialTimeout(ch: ChannelImpl): void {
    if (ch.destroyed || ch.hangingUp || ch.state === 'Up') return;
    ch.hangingUp = true;
    for (const t of ch.timers) this.clearTimer(t);
    this.finalHangup(ch, 19);
    this.emit('originateFailed', ch, 3);
  }

  /** Last step of every channel: AMI Hangup + device state, ARI ChannelDestroyed to apps still subscribed. */
  private finalHangup(ch: ChannelImpl, cause: number, techCause?: number, ari = true): void {
    if (ch.destroyed) return;
    for (const t of ch.timers) this.clearTimer(t);
    ch.timers.clear();
    if (ch.isOriginated && ch.dialplan.app_name === 'Stasis') {
      ch.dialplan = { ...ch.dialplan, app_name: 'AppDial2', app_data: '(Outgoing Line)' };
    }
    this.stopPlaybacks(ch);
    ch.destroyed = true;
    ch.inStasis = false;
    this.channelMap.delete(ch.id);
    const hdr: AmiHeaders = [...this.chanHeaders(ch), ['Cause', String(cause)], ['Cause-txt', causeText(cause)]];
    if (techCause !== undefined) hdr.push(['TechCause', String(techCause)]);
    this.ami('Hangup', 'call,all', hdr);
    if (ari) {
      const rest: Record<string, unknown> = { cause, cause_txt: causeText(cause) };
      if (techCause !== undefined) rest.tech_cause = techCause;
      this.chanEvent(ch, 'ChannelDestroyed', rest);
    }
    ch.apps.clear();
    this.updateDeviceState(ch.endpoint);
    ch.checkWaiters();
    this.emit('channelDestroyed', ch);
    if (ch.spyee) ch.spyee.snoops.delete(ch);
    // The snoop's audiohook is done once the spied-on channel goes: the snoop channel hangs itself up (no
    // ChannelHangupRequest), a few ms later.
    for (const snoop of ch.snoops) setImmediate(() => this.hangupChannel(snoop, 'spyee_gone'));
    ch.snoops.clear();
  }

  /**
   * Hang a channel up. `kind` app = DELETE /channels (soft hangup, ChannelHangupRequest cause 32 soft);
   * remote = BYE from the phone (ChannelHangupRequest without cause).
   */
  hangupChannel(ch: ChannelImpl, kind: 'app' | 'remote' | 'shutdown' | 'spyee_gone', cause = 16): void {
    if (ch.destroyed || ch.hangingUp) return;
    ch.hangingUp = true;
    for (const t of ch.timers) this.clearTimer(t);
    ch.timers.clear();
    if (kind === 'app' || kind === 'shutdown') {
      // ast_softhangup publishes the soft hangup flag as the cause: AST_SOFTHANGUP_EXPLICIT (32) for DELETE
      // /channels, AST_SOFTHANGUP_SHUTDOWN (4) from ast_softhangup_all() when Asterisk stops or restarts.
      const flag = kind === 'app' ? 32 : 4;
      this.chanEvent(ch, 'ChannelHangupRequest', {}, { cause: flag, soft: true });
      this.ami('SoftHangupRequest', 'call,all', [...this.chanHeaders(ch), ['Cause', String(flag)]]);
    } else if (kind === 'remote') {
      this.chanEvent(ch, 'ChannelHangupRequest');
      this.ami('HangupRequest', 'call,all', this.chanHeaders(ch));
    }
    if (ch.isOriginated && !ch.inStasis && ch.state !== 'Up') {
      // Still dialing: the dial fails with a status derived from the cause (NOANSWER for 16).
      const status = dialStatusForCause(cause);
      this.dialEvent(ch, status);
      this.ami('DialEnd', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', status]]);
      this.finalHangup(ch, cause);
      this.emit('originateFailed', ch, 1);
      return;
    }
    this.stopPlaybacks(ch);
    if (ch.bridgeId) {
      const b = this.bridgeMap.get(ch.bridgeId);
      if (b) this.leaveBridge(ch, b, false);
    }
    if (ch.recording) this.finishRecording(ch.recording); // RecordingFinished before the channel's StasisEnd
    if (ch.inStasis) {
      ch.inStasis = false;
      this.chanEvent(ch, 'StasisEnd');
      if (!ch.isOriginated && ch.stasisApp) ch.apps.delete(ch.stasisApp);
      this.varset(ch, 'STASISSTATUS', 'SUCCESS', ch.isOriginated);
      if (!ch.isOriginated) this.ami('SoftHangupRequest', 'call,all', [...this.chanHeaders(ch), ['Cause', '16']]);
    }
    const finalCause = ch.amiApplication?.app.toLowerCase() === 'playback' && kind === 'app' ? 0 : cause;
    this.finalHangup(ch, finalCause);
  }

  remoteHangup(ch: ChannelImpl): void {
    if (ch.isOriginated && !ch.inStasis && ch.state !== 'Up' && !ch.destroyed && !ch.hangingUp) {
      // The called phone declines while ringing (603): like busy, with cause 21.
      ch.hangingUp = true;
      for (const t of ch.timers) this.clearTimer(t);
      this.chanEvent(ch, 'ChannelHangupRequest', {}, { cause: 21, tech_cause: 603 });
      this.ami('HangupRequest', 'call,all', [...this.chanHeaders(ch), ['Cause', '21'], ['TechCause', '603']]);
      this.dialEvent(ch, 'NOANSWER');
      this.ami('DialEnd', 'call,all', [...this.chanHeaders(ch, 'Dest'), ['DialStatus', 'NOANSWER']]);
      this.finalHangup(ch, 21, 603);
      this.emit('originateFailed', ch, 1);
      return;
    }
    this.hangupChannel(ch, 'remote', 16);
  }

  answer(ch: ChannelImpl): void {
    if (ch.state !== 'Up') this.setState(ch, 'Up');
  }

  dtmf(ch: ChannelImpl, digit: string, durationMs: number): void {
    if (ch.destroyed) return;
    this.ami('DTMFBegin', 'dtmf,all', [...this.chanHeaders(ch), ['Digit', digit], ['Direction', 'Received']]);
    const t = this.setTimer(() => {
      if (ch.destroyed) return;
      this.ami('DTMFEnd', 'dtmf,all', [...this.chanHeaders(ch), ['Digit', digit], ['DurationMs', String(durationMs)], ['Direction', 'Received']]);
      this.chanEvent(ch, 'ChannelDtmfReceived', { digit, duration_ms: durationMs });
      this.emit('dtmf', ch, digit);
    }, durationMs);
    ch.timers.add(t);
  }

  setVariable(ch: ChannelImpl, name: string, value: string): void {
    this.varset(ch, name, value, true);
  }

  startMoh(ch: ChannelImpl, mohClass: string): void {
    ch.mohPlaying = true;
    ch.mohClass = mohClass;
    this.ami('MusicOnHoldStart', 'call,all', [...this.chanHeaders(ch), ['Class', mohClass]]);
  }

  stopMoh(ch: ChannelImpl): void {
    if (!ch.mohPlaying) return;
    ch.mohPlaying = false;
    this.ami('MusicOnHoldStop', 'call,all', this.chanHeaders(ch));
  }

  // ------------------------------------------------------------------------------------------------------
  // playbacks

  soundMs(media: string): number {
    return this.opts.soundDurationsMs[media] ?? this.opts.soundDurationsMs[media.replace(/^sound:/, '')] ?? this.opts.defaultSoundMs;
  }

  playbackJson(p: PlaybackImpl): PlaybackJson {
    const j: PlaybackJson = { id: p.id, media_uri: p.medias[p.index] ?? '', target_uri: p.targetUri, language: 'en', state: p.state };
    const next = p.medias[p.index + 1];
    if (next !== undefined && (p.state === 'queued' || p.state === 'playing')) j.next_media_uri = next;
    return j;
  }

  /** POST /channels/{id}/play: 201 at once (state queued); the playback runs when the channel's queue reaches it. */
  play(ch: ChannelImpl, medias: string[], playbackId?: string): PlaybackJson {
    const id = playbackId ?? uuid();
    if (this.playbackMap.has(id)) throw new AriError(409, { message: 'Playback with given ID already exists' });
    const p: PlaybackImpl = { id, medias, index: 0, targetUri: `channel:${ch.id}`, channelId: ch.id, state: 'queued', timer: null, finish: null };
    this.playbackMap.set(id, p);
    ch.playbackIds.push(id);
    const json = this.playbackJson(p);
    void ch.enqueue(() => this.runPlayback(ch, p));
    return json;
  }

  private runPlayback(ch: ChannelImpl, p: PlaybackImpl): Promise<void> {
    return new Promise<void>((resolve) => {
      if (ch.destroyed || ch.hangingUp || !this.playbackMap.has(p.id)) {
        this.dropPlayback(ch, p);
        resolve();
        return;
      }
      const apps = (): Set<string> => ch.apps;
      p.finish = () => {
        this.clearTimer(p.timer);
        p.timer = null;
        p.finish = null;
        p.state = 'done';
        this.sendAri(apps(), this.ev('PlaybackFinished', { playback: this.playbackJson(p) }));
        this.dropPlayback(ch, p);
        resolve();
      };
      const step = (): void => {
        p.timer = this.setTimer(() => {
          if (p.index < p.medias.length - 1) {
            p.index++;
            this.sendAri(apps(), this.ev('PlaybackContinuing', { playback: this.playbackJson(p) }));
            step();
          } else {
            p.finish?.();
          }
        }, this.soundMs(p.medias[p.index] ?? ''));
      };
      setImmediate(() => {
        if (!p.finish) return;
        p.state = 'playing';
        this.sendAri(apps(), this.ev('PlaybackStarted', { playback: this.playbackJson(p) }));
        step();
      });
    });
  }

  private dropPlayback(ch: ChannelImpl, p: PlaybackImpl): void {
    this.playbackMap.delete(p.id);
    const i = ch.playbackIds.indexOf(p.id);
    if (i >= 0) ch.playbackIds.splice(i, 1);
  }

  /** DELETE /playbacks/{id}: PlaybackFinished (state done) is sent before the 204. */
  stopPlayback(id: string): void {
    const p = this.playbackMap.get(id);
    if (!p) throw new AriError(404, { message: 'Playback not found' });
    if (p.finish) p.finish();
    else {
      const ch = this.channelMap.get(p.channelId);
      this.playbackMap.delete(id);
      if (ch) this.dropPlayback(ch, p);
    }
  }

  getPlayback(id: string): PlaybackJson {
    const p = this.playbackMap.get(id);
    if (!p) throw new AriError(404, { message: 'Playback not found' });
    return this.playbackJson(p);
  }

  private stopPlaybacks(ch: ChannelImpl): void {
    for (const id of [...ch.playbackIds]) {
      const p = this.playbackMap.get(id);
      if (!p) continue;
      if (p.finish) p.finish();
      else this.dropPlayback(ch, p);
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // bridges

  technology(b: BridgeImpl): string {
    if (b.type === 'holding') return 'holding_bridge';
    const chans = b.channels.map((id) => this.channelMap.get(id)).filter((c): c is ChannelImpl => !!c);
    // A snoop's audiohook on a channel keeps the RTP from flowing natively between the phones.
    return chans.length >= 2 && !chans.some((c) => c.snoops.size > 0) ? 'native_rtp' : 'simple_bridge';
  }

  bridgeJson(b: BridgeImpl, technology?: string): BridgeJson {
    return {
      id: b.id,
      technology: technology ?? this.technology(b),
      bridge_type: b.type,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: b.name,
      channels: [...b.channels],
      creationtime: ariTime(b.creationtime),
      video_mode: 'talker',
    };
  }

  createBridge(type: string | undefined, name: string | undefined, id: string | undefined): BridgeImpl {
    if (id) {
      const existing = this.bridgeMap.get(id);
      if (existing) return existing;
    }
    const kinds = (type ?? 'mixing').split(',');
    const b: BridgeImpl = {
      id: id ?? uuid(),
      type: kinds.includes('holding') ? 'holding' : 'mixing',
      name: name ?? '',
      channels: [],
      creationtime: new Date(),
      subscribers: new Map(),
      mohChannel: null,
      recording: null,
      destroyed: false,
    };
    this.bridgeMap.set(b.id, b);
    this.ami('BridgeCreate', 'call,all', this.bridgeHeaders(b));
    return b;
  }

  private subscribersOf(b: BridgeImpl): string[] {
    return [...b.subscribers.entries()].filter(([, n]) => n > 0).map(([a]) => a);
  }

  private realPeers(b: BridgeImpl, except: ChannelImpl): ChannelImpl[] {
    return b.channels.filter((id) => id !== except.id).map((id) => this.channelMap.get(id)).filter((c): c is ChannelImpl => !!c);
  }

  /** POST /bridges/{id}/addChannel for one channel, run from the channel's command queue. */
  joinBridge(ch: ChannelImpl, b: BridgeImpl): void {
    if (ch.destroyed || b.destroyed) return;
    if (ch.bridgeId === b.id) return;
    if (ch.bridgeId) {
      const old = this.bridgeMap.get(ch.bridgeId);
      if (old) this.leaveBridge(ch, old, true);
    }
    const techBefore = this.technology(b);
    b.channels.push(ch.id);
    ch.bridgeId = b.id;
    if (ch.stasisApp) b.subscribers.set(ch.stasisApp, (b.subscribers.get(ch.stasisApp) ?? 0) + 1);
    const peers = this.realPeers(b, ch);
    const first = peers[0];
    if (first) ch.linkedid = first.linkedid;
    this.ami('BridgeEnter', 'call,all', [...this.bridgeHeaders(b), ...this.chanHeaders(ch)]);
    this.sendAri(new Set([...ch.apps, ...this.subscribersOf(b)]), this.ev('ChannelEnteredBridge', { bridge: this.bridgeJson(b, techBefore), channel: ch.json() }));
    if (b.mohChannel && peers.length === 0) this.varset(ch, 'BRIDGEPEER', `${b.mohChannel.name};2`);
    if (peers.length === 1 && first && b.type === 'mixing') {
      // The BRIDGEPEER / BRIDGEPVTCALLID burst, three rounds as in scenario A, then the connected-line exchange.
      for (let round = 0; round < 3; round++) {
        this.varset(ch, 'BRIDGEPEER', first.name);
        this.varset(ch, 'BRIDGEPVTCALLID', first.protocolId);
        this.varset(first, 'BRIDGEPEER', ch.name);
        this.varset(first, 'BRIDGEPVTCALLID', ch.protocolId);
      }
      ch.connected = { ...first.caller };
      this.ami('NewConnectedLine', 'call,all', this.chanHeaders(ch));
      this.chanEvent(ch, 'ChannelConnectedLine');
      first.connected = { ...ch.caller };
      this.ami('NewConnectedLine', 'call,all', this.chanHeaders(first));
      this.chanEvent(first, 'ChannelConnectedLine');
    } else if (peers.length > 1) {
      const names = peers.map((p) => p.name).join(',');
      this.varset(ch, 'BRIDGEPEER', names);
    }
    ch.checkWaiters();
  }

  /** A channel leaves a bridge (removeChannel when `explicit`, or because it hangs up). */
  leaveBridge(ch: ChannelImpl, b: BridgeImpl, explicit: boolean): void {
    const i = b.channels.indexOf(ch.id);
    if (i < 0) return;
    const apps = new Set([...ch.apps, ...this.subscribersOf(b)]);
    for (const v of ['BRIDGEPEER', 'BRIDGEPVTCALLID']) if (ch.vars.get(v)) this.varset(ch, v, '');
    b.channels.splice(i, 1);
    ch.bridgeId = null;
    this.ami('BridgeLeave', 'call,all', [...this.bridgeHeaders(b), ...this.chanHeaders(ch)]);
    this.sendAri(apps, this.ev('ChannelLeftBridge', { bridge: this.bridgeJson(b), channel: ch.json() }));
    if (explicit && ch.stasisApp) {
      const n = (b.subscribers.get(ch.stasisApp) ?? 0) - 1;
      if (n <= 0) b.subscribers.delete(ch.stasisApp);
      else b.subscribers.set(ch.stasisApp, n);
    }
    ch.checkWaiters();
  }

  destroyBridge(b: BridgeImpl): void {
    if (b.destroyed) return;
    for (const id of [...b.channels]) {
      const ch = this.channelMap.get(id);
      if (ch) this.leaveBridge(ch, b, false);
    }
    if (b.mohChannel) this.stopBridgeMoh(b);
    if (b.recording) this.finishRecording(b.recording);
    b.destroyed = true;
    this.bridgeMap.delete(b.id);
    this.sendAri(this.subscribersOf(b), this.ev('BridgeDestroyed', { bridge: this.bridgeJson(b) }));
    this.ami('BridgeDestroy', 'call,all', this.bridgeHeaders(b));
  }

  /** Bridge MOH: an Announcer channel pair joins the bridge (its ;2 half shows in bridge.channels). */
  startBridgeMoh(b: BridgeImpl, _mohClass: string): void {
    if (b.mohChannel) return;
    const id1 = this.nextUniqueId();
    const id2 = this.nextUniqueId();
    const name = `Announcer/ARI_MOH-${hex8(this.announcerCounter++)}`;
    b.mohChannel = { id1, id2, name };
    b.channels.push(id2);
    for (const id of b.channels) {
      const ch = this.channelMap.get(id);
      if (ch && this.realPeers(b, ch).length === 0) this.varset(ch, 'BRIDGEPEER', `${name};2`);
    }
  }

  stopBridgeMoh(b: BridgeImpl): void {
    if (!b.mohChannel) return;
    const id2 = b.mohChannel.id2;
    b.channels = b.channels.filter((c) => c !== id2);
    b.mohChannel = null;
    this.ami('DeviceStateChange', 'call,all', [
      ['Device', 'Announcer/ARI_MOH'],
      ['State', 'UNKNOWN'],
    ]);
  }

  // ------------------------------------------------------------------------------------------------------
  // snoop channels

  /**
   * POST /channels/{id}/snoop: a channel `Snoop/<spied-on uniqueid>-<8 hex>` (state Up, no endpoint) that hears
   * the spied-on channel and enters `app` with `appArgs` (StasisStart, just after the REST reply). It is not in a
   * bridge; it hangs itself up when the spied-on channel goes.
   */
  snoop(spyee: ChannelImpl | undefined, p: { spy?: string; whisper?: string; app?: string; appArgs?: string; snoopId?: string }): ChannelImpl {
    const dir = (v: string | undefined, what: string): string => {
      const d = v === undefined || v === '' ? 'none' : v;
      if (!['none', 'both', 'out', 'in'].includes(d)) throw new AriError(400, { message: `Invalid direction specified for ${what}` });
      return d;
    };
    if (dir(p.spy, 'spy') === 'none' && dir(p.whisper, 'whisper') === 'none') {
      throw new AriError(400, { message: 'Direction must be specified for at least spy or whisper' });
    }
    if (!p.app) throw new AriError(400, { message: 'Application name is required' });
    if (!spyee || spyee.destroyed) throw new AriError(404, { message: 'Provided channel was not found' });
    const id = p.snoopId || this.nextUniqueId();
    if (this.channelMap.has(id)) throw new AriError(500, { message: 'Snoop channel could not be created' });
    const appData = p.appArgs ? `${p.app},${p.appArgs}` : p.app;
    const dialplan: DialplanLocation = { context: 'default', exten: 's', priority: 1, app_name: 'Stasis', app_data: appData };
    const name = `Snoop/${spyee.id}-${hex8(this.snoopCounter++)}`;
    const ch = new ChannelImpl(this, id, name, '', '', { name: '', number: '' }, 'Up', dialplan, false);
    ch.spyee = spyee;
    spyee.snoops.add(ch);
    this.channelMap.set(id, ch);
    this.ami('Newchannel', 'call,all', this.chanHeaders(ch));
    const app = p.app;
    const args = p.appArgs ? p.appArgs.split(',') : [];
    setImmediate(() => {
      if (!ch.destroyed && !ch.hangingUp) this.enterStasis(ch, app, args);
    });
    this.emit('channelCreated', ch);
    return ch;
  }

  // ------------------------------------------------------------------------------------------------------
  // recordings

  recordingJson(r: RecordingImpl): LiveRecordingJson {
    const j: LiveRecordingJson = { name: r.name, format: r.format, state: r.state, target_uri: r.targetUri };
    if (r.state === 'done') j.duration = Math.round((Date.now() - r.startedAt) / 1000);
    return j;
  }

  recordBridge(b: BridgeImpl, name: string | undefined, format: string | undefined, ifExists: string | undefined): LiveRecordingJson {
    if (!name) throw new AriError(400, { message: 'Recording name is required' });
    if (!format) throw new AriError(400, { message: 'Recording format is required' });
    if (this.liveRecordings.has(name)) throw new AriError(409, { message: 'Recording with the same name already in progress' });
    const mode = ifExists ?? 'fail';
    if (mode === 'fail' && this.storedRecordings.has(name)) throw new AriError(422, { message: 'Recording already exists' });
    if (b.recording) throw new AriError(409, { message: 'Bridge is already being recorded' });
    const apps = new Set<string>(this.subscribersOf(b));
    for (const id of b.channels) for (const a of this.channelMap.get(id)?.apps ?? []) apps.add(a);
    const r: RecordingImpl = { name, format, targetUri: `bridge:${b.id}`, state: 'queued', startedAt: Date.now(), apps: [...apps] };
    b.recording = r;
    return this.startRecording(r);
  }

  /** POST /channels/{id}/record on a channel in Stasis (checked by the route): queued, then RecordingStarted. */
  recordChannel(ch: ChannelImpl, name: string | undefined, format: string | undefined, ifExists: string | undefined): LiveRecordingJson {
    const mode = ifExists ?? 'fail';
    if (!['fail', 'overwrite', 'append'].includes(mode)) throw new AriError(400, { message: 'ifExists invalid' });
    if (!format || !RECORDING_FORMATS.has(format)) throw new AriError(422, { message: 'specified format is unknown on this system' });
    if (!name || name.startsWith('/') || name.split('/').includes('..')) throw new AriError(400, { message: 'Recording name invalid' });
    if (this.liveRecordings.has(name) || (mode === 'fail' && this.storedRecordings.has(name))) {
      throw new AriError(409, { message: `Recording '${name}' already exists and can not be overwritten` });
    }
    const r: RecordingImpl = { name, format, targetUri: `channel:${ch.id}`, state: 'queued', startedAt: Date.now(), apps: [...ch.apps] };
    ch.recording = r;
    return this.startRecording(r);
  }

  /** A new live recording: answered as queued; RecordingStarted follows. */
  private startRecording(r: RecordingImpl): LiveRecordingJson {
    this.liveRecordings.set(r.name, r);
    const json = this.recordingJson(r);
    setImmediate(() => {
      if (r.state !== 'queued') return;
      r.state = 'recording';
      r.startedAt = Date.now();
      this.sendAri(r.apps, this.ev('RecordingStarted', { recording: this.recordingJson(r) }));
    });
    return json;
  }

  finishRecording(r: RecordingImpl): void {
    if (r.state === 'done') return;
    r.state = 'done';
    this.liveRecordings.delete(r.name);
    this.storedRecordings.set(r.name, { name: r.name, format: r.format });
    for (const b of this.bridgeMap.values()) if (b.recording === r) b.recording = null;
    for (const ch of this.channelMap.values()) if (ch.recording === r) ch.recording = null;
    this.sendAri(r.apps, this.ev('RecordingFinished', { recording: this.recordingJson(r) }));
  }

  // ------------------------------------------------------------------------------------------------------
  // AMI Originate

  /** AMI Originate to PJSIP/<endpoint>: resolves with the outcome used for OriginateResponse. */
  amiOriginate(
    p: { channel: string; application?: string; data?: string; context?: string; exten?: string; priority?: string; callerId?: string; timeoutMs: number; variables: Record<string, string> },
    done: (ok: boolean, reason: number, ch: ChannelImpl | null) => void,
  ): void {
    const m = /^PJSIP\/([^@/]+)/i.exec(p.channel);
    const ep = m ? this.endpoints.get(m[1] ?? '') : undefined;
    if (!ep || !ep.online || 'unreachable' in ep.behavior) {
      done(false, 0, null);
      return;
    }
    const caller = parseCallerId(p.callerId);
    const ch = this.newChannel(ep.name, caller, 'Down', { context: ep.context, exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' }, true);
    ch.connected = { ...caller };
    ch.dialstring = ep.name;
    ch.amiApplication = p.application ? { app: p.application, data: p.data ?? '' } : null;
    this.publishOutgoingCreated(ch, p.variables);
    this.emit('channelCreated', ch);
    let settled = false;
    const onFail = (c: ChannelImpl, reason: number): void => {
      if (c !== ch || settled) return;
      settled = true;
      this.off('originateFailed', onFail);
      done(false, reason, ch);
    };
    this.on('originateFailed', onFail);
    setImmediate(() =>
      this.runOutgoing(
        ch,
        ep,
        p.timeoutMs,
        () => {
          settled = true;
          this.off('originateFailed', onFail);
          if (ch.amiApplication) {
            ch.dialplan = { ...ch.dialplan, app_name: ch.amiApplication.app, app_data: ch.amiApplication.data };
          } else {
            ch.dialplan = { context: p.context ?? ep.context, exten: p.exten ?? 's', priority: Number(p.priority ?? 1), app_name: '', app_data: '' };
          }
          done(true, 4, ch);
          if (ch.amiApplication && ch.amiApplication.app.toLowerCase() === 'playback') {
            const media = `sound:${ch.amiApplication.data}`;
            const t = this.setTimer(() => {
              if (ch.destroyed) return;
              this.varset(ch, 'PLAYBACKSTATUS', 'SUCCESS', true);
              ch.hangingUp = true;
              this.finalHangup(ch, 0);
            }, this.soundMs(media));
            ch.timers.add(t);
          }
        },
        true,
      ),
    );
  }
}
