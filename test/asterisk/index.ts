// Wire-level Asterisk 22 simulator for tests: ARI (HTTP + WebSocket) and AMI (TCP) on 127.0.0.1, so the
// unmodified ari-client and asterisk-manager connect to it. See README-like notes in the repo's report and
// ../shared/asterisk-traces/README.md for the behaviour it reproduces.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AmiServer } from './ami';
import { handleAriRequest, type RestLogEntry } from './ari-http';
import { AriEventServer } from './ari-ws';
import { Core, type ChannelImpl, type SimChannel } from './core';
import type { AriEvent, EndpointBehavior } from './model';

export type { EndpointBehavior } from './model';
export type { SimChannel } from './core';
export type { RestLogEntry } from './ari-http';

export interface SimulatorOptions {
  ariUser?: string;
  ariPassword?: string;
  amiUser?: string;
  amiSecret?: string;
  soundDurationsMs?: Record<string, number>;
  defaultSoundMs?: number;
  /** Default deadline of a channel's waitFor (see CoreOptions). */
  waitTimeoutMs?: number;
  /** As manager.conf's include filters by name (asterisk-config/): only these AMI events are sent. Default: all. */
  amiEventNames?: string[];
}

export type SentAriEvent = AriEvent & { asterisk_id: string; application: string };

export class AsteriskSimulator extends EventEmitter {
  readonly restLog: RestLogEntry[] = [];
  readonly amiActions: Record<string, string>[] = [];
  private readonly core: Core;
  private readonly events: AriEventServer;
  private readonly ami: AmiServer;
  private http: Server;
  private readonly httpSockets = new Set<Socket>();
  private ariPort = 0;
  private ariDown = false;
  private readonly ariUser: string;
  private readonly ariPassword: string;

  private constructor(opts: SimulatorOptions) {
    super();
    this.setMaxListeners(0);
    this.ariUser = opts.ariUser ?? 'hotline114';
    this.ariPassword = opts.ariPassword ?? 'hotline114';
    this.events = new AriEventServer(
      this.ariUser,
      this.ariPassword,
      (ev) => this.emit('ariEvent', ev),
      () => undefined,
    );
    // Under Jest a wait that never ends is a stall: it fails with a message after 10 s; the bench and the demo
    // (their own processes) wait as long as it takes.
    const waitTimeoutMs = opts.waitTimeoutMs ?? (process.env.JEST_WORKER_ID ? 10_000 : undefined);
    this.core = new Core(
      {
        ari: (app, ev) => this.events.send(app, ev),
        ami: (headers) => this.ami.event(headers),
        isAppActive: (app) => this.events.isActive(app),
      },
      { soundDurationsMs: { ...(opts.soundDurationsMs ?? {}) }, defaultSoundMs: opts.defaultSoundMs ?? 300, ...(waitTimeoutMs ? { waitTimeoutMs } : {}) },
    );
    this.core.on('channelCreated', (ch: ChannelImpl) => this.emit('channelCreated', ch));
    this.ami = new AmiServer(this.core, opts.amiUser ?? 'hotline114', opts.amiSecret ?? 'hotline114', (h) => {
      this.amiActions.push(h);
      this.emit('amiAction', h);
    });
    if (opts.amiEventNames) this.ami.eventNames = new Set(opts.amiEventNames);
    this.http = this.makeHttp();
  }

  static async start(opts: SimulatorOptions = {}): Promise<AsteriskSimulator> {
    const sim = new AsteriskSimulator(opts);
    await sim.listenHttp(0);
    await sim.ami.listen(0);
    return sim;
  }

  get ariUrl(): string {
    return `http://127.0.0.1:${this.ariPort}`;
  }

  get amiPort(): number {
    return this.ami.port;
  }

  /**
   * Holds back the answer to the next matching REST request (computed at once, as Asterisk would, but delivered
   * only on release()): lets a test put events between Asterisk's answer and our reading of it.
   */
  holdRestAnswer(match: (method: string, path: string) => boolean): { answered: Promise<void>; release(): void } {
    let arrived!: () => void;
    let release!: () => void;
    const answered = new Promise<void>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    this.restHolds.push({ match, arrived, released });
    return { answered, release };
  }

  private readonly restHolds: { match: (method: string, path: string) => boolean; arrived: () => void; released: Promise<void> }[] = [];

  private makeHttp(): Server {
    const server = createServer((req, res) => {
      const i = this.restHolds.findIndex((h) => h.match(req.method ?? '', (req.url ?? '').split('?')[0] ?? ''));
      if (i >= 0) {
        const hold = this.restHolds.splice(i, 1)[0]!;
        const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        (res as unknown as { end: (...a: unknown[]) => ServerResponse }).end = (...a: unknown[]) => {
          hold.arrived();
          void hold.released.then(() => end(...a));
          return res;
        };
      }
      void handleAriRequest(
        {
          core: this.core,
          user: this.ariUser,
          password: this.ariPassword,
          activeApps: () => this.events.activeApps(),
          eventFilter: (app) => this.events.eventFilter(app),
          setEventFilter: (app, body) => this.events.setEventFilter(app, body),
          log: (entry) => {
            this.restLog.push(entry);
            this.emit('rest', entry);
          },
        },
        req,
        res,
      );
    });
    server.on('upgrade', (req, socket, head: Buffer) => this.events.handleUpgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.httpSockets.add(s);
      s.on('close', () => this.httpSockets.delete(s));
    });
    return server;
  }

  private listenHttp(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', reject);
        const addr = this.http.address();
        this.ariPort = typeof addr === 'object' && addr ? addr.port : 0;
        resolve();
      });
    });
  }

  private async closeHttp(): Promise<void> {
    this.events.dropAll();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const s of this.httpSockets) s.destroy();
    this.httpSockets.clear();
    await closed;
    this.http = this.makeHttp();
  }

  // ---- scripting ------------------------------------------------------------------------------------

  addEndpoint(name: string, opts: { context: string; online?: boolean; behavior?: EndpointBehavior; contactUri?: string }): void {
    this.core.addEndpoint(name, opts);
  }

  setBehavior(name: string, b: EndpointBehavior): void {
    this.core.setBehavior(name, b);
  }

  setOnline(name: string, online: boolean): void {
    this.core.setOnline(name, online);
  }

  /** A caller dials the hotline: dialplan `Stasis(app[,args])` → StasisStart (state Ring) to the app. */
  dial(opts: { from: string; callerNumber?: string; callerName?: string; exten?: string; app?: string; appArgs?: string[]; ringing?: boolean; mixMonitor?: string }): SimChannel {
    return this.core.dial({ ...opts, app: opts.app ?? this.events.activeApps()[0] ?? 'hotline114' });
  }

  /** Whether an application's events WebSocket is connected. */
  appConnected(app: string): boolean {
    return this.events.activeApps().includes(app);
  }

  channel(id: string): SimChannel | undefined {
    return this.core.channelMap.get(id);
  }

  channels(): SimChannel[] {
    return [...this.core.channelMap.values()];
  }

  bridges(): { id: string; channels: string[] }[] {
    return [...this.core.bridgeMap.values()].map((b) => ({ id: b.id, channels: [...b.channels] }));
  }

  /** Names of stored recordings (finished bridge recordings). */
  storedRecordings(): string[] {
    return [...this.core.storedRecordings.keys()];
  }

  /** Resolves with the first ARI event sent (to any app) that matches, or rejects after timeoutMs. */
  waitForAriEvent(pred: (ev: SentAriEvent) => boolean, timeoutMs = 5000): Promise<SentAriEvent> {
    return new Promise((resolve, reject) => {
      const on = (ev: SentAriEvent): void => {
        if (!pred(ev)) return;
        clearTimeout(timer);
        this.off('ariEvent', on);
        resolve(ev);
      };
      const timer = setTimeout(() => {
        this.off('ariEvent', on);
        reject(new Error(`no matching ARI event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('ariEvent', on);
    });
  }

  /** Resolves with the first REST call logged that matches. */
  waitForRest(pred: (e: RestLogEntry) => boolean, timeoutMs = 5000): Promise<RestLogEntry> {
    const hit = this.restLog.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const on = (e: RestLogEntry): void => {
        if (!pred(e)) return;
        clearTimeout(timer);
        this.off('rest', on);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.off('rest', on);
        reject(new Error(`no matching REST call within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('rest', on);
    });
  }

  /** Resolves when an ARI app with that name has an events WebSocket. */
  waitForApp(app: string, timeoutMs = 5000): Promise<void> {
    if (this.events.isActive(app)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = (): void => {
        if (this.events.isActive(app)) resolve();
        else if (Date.now() - started > timeoutMs) reject(new Error(`app ${app} not connected within ${timeoutMs} ms`));
        else setTimeout(tick, 5);
      };
      tick();
    });
  }

  isAppConnected(app: string): boolean {
    return this.events.isActive(app);
  }

  // ---- faults ---------------------------------------------------------------------------------------

  dropAriWebSockets(): void {
    this.events.dropAll();
  }

  /** While down the ARI port is closed (connections are refused); existing sockets are dropped. */
  async setAriDown(down: boolean): Promise<void> {
    if (down === this.ariDown) return;
    this.ariDown = down;
    if (down) await this.closeHttp();
    else await this.listenHttp(this.ariPort);
  }

  dropAmiConnections(): void {
    this.ami.dropAll();
  }

  /**
   * Like an Asterisk restart: every channel and bridge gone, all connections dropped. Abrupt by default (a crash:
   * no events); `graceful` is `core restart now`: channels are hung up for the shutdown, with their events, first.
   */
  async restart(opts: { graceful?: boolean } = {}): Promise<void> {
    if (opts.graceful) {
      this.core.hangupAllForShutdown();
      await this.events.flushed();
    }
    const wasDown = this.ariDown;
    if (!wasDown) await this.closeHttp();
    await this.ami.close();
    this.core.reset();
    await this.ami.listen(this.ami.port);
    if (!wasDown) await this.listenHttp(this.ariPort);
  }

  async stop(): Promise<void> {
    this.core.reset();
    this.events.close();
    if (!this.ariDown) await this.closeHttp();
    await this.ami.close();
  }
}
