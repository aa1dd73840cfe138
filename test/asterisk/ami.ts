// AMI over TCP: banner, CRLF-framed messages, Login/Logoff/Ping, list actions (EventList start … Complete),
// Originate (async → OriginateResponse with the ActionID), Hangup, Command, and the event stream.
import { createServer, type Server, type Socket } from 'node:net';
import type { AmiHeaders, ChannelImpl, Core } from './core';
import { Core as CoreClass } from './core';
import { ASTERISK_VERSION, ariTime, hms } from './model';

interface Session {
  socket: Socket;
  buffer: string;
  authed: boolean;
  events: boolean;
  /** Event classes asked for with `Events: EventMask: system,call` (null: every class, as after login). */
  classes: Set<string> | null;
  id: string;
}

/** As Asterisk's manager: an event goes to a session that asked for any of its Privilege classes. */
function wanted(s: Session, headers: AmiHeaders): boolean {
  if (!s.authed || !s.events) return false;
  if (!s.classes) return true;
  const privilege = headers.find(([k]) => k === 'Privilege')?.[1] ?? '';
  return privilege.split(',').some((c) => c !== 'all' && s.classes!.has(c));
}

export class AmiServer {
  private server: Server;
  private readonly sessions = new Set<Session>();
  port = 0;
  /** manager.conf `eventfilter(action(include),name(X))` for every session: only these event names are sent. */
  eventNames: Set<string> | null = null;

  constructor(
    private readonly core: Core,
    private readonly user: string,
    private readonly secret: string,
    private readonly onAction: (headers: Record<string, string>) => void,
  ) {
    this.server = this.makeServer();
  }

  private makeServer(): Server {
    const server = createServer((socket) => this.accept(socket));
    server.on('error', () => undefined);
    return server;
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : 0;
        resolve(this.port);
      });
    });
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.makeServer();
  }

  dropAll(): void {
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
  }

  /** Broadcast an event to every logged-in session with events on. */
  event(headers: AmiHeaders): void {
    if (this.eventNames && !this.eventNames.has(headers.find(([k]) => k === 'Event')?.[1] ?? '')) return;
    const text = format(headers);
    for (const s of this.sessions) if (wanted(s, headers)) s.socket.write(text);
  }

  private accept(socket: Socket): void {
    const s: Session = { socket, buffer: '', authed: false, events: true, classes: null, id: `0x${Math.floor(Math.random() * 0xffffffffff).toString(16)}` };
    this.sessions.add(s);
    socket.setEncoding('utf8');
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (d: string) => {
      s.buffer += d;
      for (;;) {
        const m = /\r?\n\r?\n/.exec(s.buffer);
        if (!m) break;
        const block = s.buffer.slice(0, m.index);
        s.buffer = s.buffer.slice(m.index + m[0].length);
        if (block.trim() === '') continue;
        this.handle(s, parse(block));
      }
    });
    socket.on('close', () => this.sessions.delete(s));
    socket.on('error', () => undefined);
  }

  private write(s: Session, headers: AmiHeaders): void {
    if (!s.socket.destroyed) s.socket.write(format(headers));
  }

  private handle(s: Session, lines: [string, string][]): void {
    const record: Record<string, string> = {};
    for (const [k, v] of lines) record[k] = k in record ? `${record[k]},${v}` : v;
    this.onAction(record);
    const get = (name: string): string | undefined => lines.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const getAll = (name: string): string[] => lines.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    const action = (get('Action') ?? '').trim();
    const actionId = get('ActionID');
    const idH: AmiHeaders = actionId !== undefined ? [['ActionID', actionId]] : [];
    const respond = (response: string, rest: AmiHeaders): void => this.write(s, [['Response', response], ...idH, ...rest]);
    const lower = action.toLowerCase();

    if (lower === 'login') {
      if (get('Username') === this.user && get('Secret') === this.secret) {
        s.authed = true;
        const ev = (get('Events') ?? get('Event') ?? 'on').toLowerCase();
        s.events = !(ev === 'off' || ev === 'no' || ev === 'false');
        respond('Success', [['Message', 'Authentication accepted']]);
        const up = String(Math.floor((Date.now() - this.core.startupTime.getTime()) / 1000));
        const reload = String(Math.floor((Date.now() - this.core.lastReload.getTime()) / 1000));
        this.write(s, [
          ['Event', 'FullyBooted'],
          ['Privilege', 'system,all'],
          ['Uptime', up],
          ['LastReload', reload],
          ['Status', 'Fully Booted'],
        ]);
        const now = ariTime();
        const remote = `IPV4/TCP/${s.socket.remoteAddress ?? '127.0.0.1'}/${s.socket.remotePort ?? 0}`;
        this.write(s, [
          ['Event', 'SuccessfulAuth'],
          ['Privilege', 'security,all'],
          ['EventTV', now],
          ['Severity', 'Informational'],
          ['Service', 'AMI'],
          ['EventVersion', '1'],
          ['AccountID', this.user],
          ['SessionID', s.id],
          ['LocalAddress', `IPV4/TCP/127.0.0.1/${this.port}`],
          ['RemoteAddress', remote.replace('::ffff:', '')],
          ['UsingPassword', '0'],
          ['SessionTV', now],
        ]);
      } else {
        respond('Error', [['Message', 'Authentication failed']]);
        s.socket.end();
      }
      return;
    }
    if (lower === 'logoff') {
      respond('Goodbye', [['Message', 'Thanks for all the fish.']]);
      s.socket.end();
      return;
    }
    if (!s.authed) {
      respond('Error', [['Message', 'Permission denied']]);
      return;
    }
    switch (lower) {
      case 'ping':
        respond('Success', [
          ['Ping', 'Pong'],
          ['Timestamp', (Date.now() / 1000).toFixed(6)],
        ]);
        return;
      case 'events': {
        const mask = (get('EventMask') ?? 'on').toLowerCase();
        s.events = mask !== 'off';
        const named = mask.split(',').map((c) => c.trim()).filter((c) => c && c !== 'on' && c !== 'off');
        s.classes = named.length && !named.includes('all') ? new Set(named) : null;
        respond('Success', [['Events', s.events ? 'On' : 'Off']]);
        return;
      }
      case 'coreshowchannels': {
        respond('Success', [
          ['EventList', 'start'],
          ['Message', 'Channels will follow'],
        ]);
        const chans = [...this.core.channelMap.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
        for (const ch of chans) this.write(s, [['Event', 'CoreShowChannel'], ...idH, ...this.core.chanHeaders(ch), ...coreShowTail(ch)]);
        this.complete(s, 'CoreShowChannelsComplete', idH, chans.length);
        return;
      }
      case 'pjsipshowendpoints': {
        respond('Success', [
          ['EventList', 'start'],
          ['Message', 'A listing of Endpoints follows, presented as EndpointList events'],
        ]);
        const eps = [...this.core.endpoints.values()].sort((a, b) => a.name.localeCompare(b.name));
        for (const ep of eps) {
          const active = [...this.core.channelMap.values()].filter((c) => c.endpoint === ep.name).length;
          this.write(s, [
            ['Event', 'EndpointList'],
            ...idH,
            ['ObjectType', 'endpoint'],
            ['ObjectName', ep.name],
            ['Transport', 'transport-udp'],
            ['Aor', ep.name],
            ['Auths', ''],
            ['OutboundAuths', ''],
            ['Contacts', ep.online ? `${ep.name}/${ep.contactUri},` : ''],
            ['DeviceState', CoreClass.deviceStateText(this.core.deviceState(ep))],
            ['ActiveChannels', String(active)],
          ]);
        }
        this.complete(s, 'EndpointListComplete', idH, eps.length);
        return;
      }
      case 'pjsipshowendpoint': {
        const name = get('Endpoint') ?? '';
        const ep = this.core.endpoint(name);
        if (!ep) {
          respond('Error', [['Message', `Unable to retrieve endpoint ${name}`]]);
          return;
        }
        respond('Success', [
          ['EventList', 'start'],
          ['Message', 'Following are Events for each object associated with the Endpoint'],
        ]);
        const active = [...this.core.channelMap.values()].filter((c) => c.endpoint === ep.name).length;
        let items = 0;
        this.write(s, [
          ['Event', 'EndpointDetail'],
          ...idH,
          ['ObjectType', 'endpoint'],
          ['ObjectName', ep.name],
          ['Aors', ep.name],
          ['Context', ep.context],
          ['Transport', 'transport-udp'],
          ['Allow', '(ulaw|alaw)'],
          ['DtmfMode', 'rfc4733'],
          ['DirectMedia', 'false'],
          ['Callerid', '<unknown>'],
          ['DeviceState', CoreClass.deviceStateText(this.core.deviceState(ep))],
          ['ActiveChannels', String(active)],
        ]);
        items++;
        this.write(s, [
          ['Event', 'TransportDetail'],
          ...idH,
          ['ObjectType', 'transport'],
          ['ObjectName', 'transport-udp'],
          ['Protocol', 'udp'],
          ['Bind', '127.0.0.1:5060'],
          ['EndpointName', ep.name],
        ]);
        items++;
        this.write(s, [
          ['Event', 'AorDetail'],
          ...idH,
          ['ObjectType', 'aor'],
          ['ObjectName', ep.name],
          ['Contacts', ep.online ? `${ep.name}/${ep.contactUri}` : ''],
          ['TotalContacts', ep.online ? '1' : '0'],
          ['ContactsRegistered', '0'],
          ['EndpointName', ep.name],
        ]);
        items++;
        if (ep.online) {
          this.write(s, [
            ['Event', 'ContactStatusDetail'],
            ...idH,
            ['AOR', ep.name],
            ['URI', ep.contactUri],
            ['UserAgent', ''],
            ['RegExpire', '0'],
            ['Status', 'Reachable'],
            ['RoundtripUsec', '377'],
            ['EndpointName', ep.name],
          ]);
          items++;
        }
        this.complete(s, 'EndpointDetailComplete', idH, items);
        return;
      }
      case 'devicestatelist': {
        respond('Success', [
          ['EventList', 'start'],
          ['Message', 'Device State Changes will follow'],
        ]);
        const eps = [...this.core.endpoints.values()];
        for (const ep of eps) {
          this.write(s, [['Event', 'DeviceStateChange'], ...idH, ['Device', `PJSIP/${ep.name}`], ['State', this.core.deviceState(ep)]]);
        }
        this.complete(s, 'DeviceStateListComplete', idH, eps.length);
        return;
      }
      case 'getvar': {
        // Global evaluation (no Channel): only the DEVICE_STATE() function is modelled; Asterisk answers an empty
        // Value for an unset variable.
        const variable = get('Variable') ?? '';
        const m = /^DEVICE_STATE\(PJSIP\/([^)]+)\)$/i.exec(variable);
        const ep = m ? this.core.endpoints.get(m[1]!) : undefined;
        const value = m ? (ep ? this.core.deviceState(ep) : 'UNKNOWN') : '';
        respond('Success', [
          ['Variable', variable],
          ['Value', value],
        ]);
        return;
      }
      case 'originate':
        this.originate(s, get, getAll, idH, respond);
        return;
      case 'hangup': {
        const name = get('Channel') ?? '';
        const ch = [...this.core.channelMap.values()].find((c) => c.name === name || c.id === name);
        if (!ch) {
          respond('Error', [['Message', 'No such channel']]);
          return;
        }
        const cause = Number(get('Cause') ?? 16) || 16;
        respond('Success', [['Message', 'Channel Hungup']]);
        this.core.hangupChannel(ch, 'app', cause);
        return;
      }
      case 'command': {
        const cmd = (get('Command') ?? '').trim();
        const output = /^core show version$/i.test(cmd)
          ? `Asterisk ${ASTERISK_VERSION} built by root @ vm on a x86_64 running Linux on 2026-11-28 22:54:56 UTC`
          : /^core show channels( count)?$/i.test(cmd)
            ? `${this.core.channelMap.size} active channels`
            : `No such command '${cmd}' (type 'core show help ${cmd.split(' ')[0] ?? ''}' for other possible commands)`;
        respond('Success', [
          ['Message', 'Command output follows'],
          ['Output', output],
        ]);
        return;
      }
      default:
        respond('Error', [['Message', `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`]]);
    }
  }

  private complete(s: Session, event: string, idH: AmiHeaders, n: number): void {
    this.write(s, [['Event', event], ...idH, ['EventList', 'Complete'], ['ListItems', String(n)]]);
  }

  private originate(
    s: Session,
    get: (n: string) => string | undefined,
    getAll: (n: string) => string[],
    idH: AmiHeaders,
    respond: (r: string, rest: AmiHeaders) => void,
  ): void {
    const channel = get('Channel');
    if (!channel) {
      respond('Error', [['Message', 'Channel not specified']]);
      return;
    }
    const application = get('Application');
    const exten = get('Exten');
    if (!application && !exten) {
      respond('Error', [['Message', 'Exten not specified']]);
      return;
    }
    const variables: Record<string, string> = {};
    for (const v of getAll('Variable').flatMap((x) => x.split(','))) {
      const i = v.indexOf('=');
      if (i > 0) variables[v.slice(0, i)] = v.slice(i + 1);
    }
    const isAsync = /^(true|yes|1|on)$/i.test(get('Async') ?? '');
    const data = get('Data') ?? '';
    const callerId = get('CallerID');
    if (isAsync) respond('Success', [['Message', 'Originate successfully queued']]);
    this.core.amiOriginate(
      { channel, application, data, context: get('Context'), exten, priority: get('Priority'), callerId, timeoutMs: Number(get('Timeout') ?? 30000) || 30000, variables },
      (ok: boolean, reason: number, ch: ChannelImpl | null) => {
        if (!isAsync) {
          respond(ok ? 'Success' : 'Error', [['Message', ok ? 'Originate successfully queued' : 'Originate failed']]);
          return;
        }
        const target: AmiHeaders = application
          ? [
              ['Application', application],
              ['Data', data],
            ]
          : [
              ['Context', get('Context') ?? ''],
              ['Exten', exten ?? ''],
            ];
        const unk = (x: string | undefined): string => (x ? x : '<unknown>');
        const headers: AmiHeaders = [
          ['Event', 'OriginateResponse'],
          ['Privilege', 'call,all'],
          ...idH,
          ['Response', ok ? 'Success' : 'Failure'],
          ['Channel', ok && ch ? ch.name : channel],
          ...target,
          ['Reason', String(reason)],
          ['Uniqueid', ch && ok ? ch.id : '<unknown>'],
          ['CallerIDNum', unk(ok ? ch?.caller.number : undefined)],
          ['CallerIDName', unk(ok ? ch?.caller.name : undefined)],
        ];
        // OriginateResponse is a normal event (sent to every session with events on, like Asterisk does).
        this.event(headers);
      },
    );
  }
}

function coreShowTail(ch: ChannelImpl): AmiHeaders {
  return [
    ['Application', ch.dialplan.app_name],
    ['ApplicationData', ch.dialplan.app_data],
    ['Duration', hms(Date.now() - ch.creationtime.getTime())],
    ['BridgeId', ch.bridgeId ?? ''],
  ];
}

function parse(block: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.push([line.slice(0, i).trim(), line.slice(i + 1).replace(/^ /, '')]);
  }
  return out;
}

function format(headers: AmiHeaders): string {
  return headers.map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n';
}
