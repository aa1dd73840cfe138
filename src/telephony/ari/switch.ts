// CallSwitch over ARI: events from AriConnection (raw frames, decoded in events.ts), commands over AriRest.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { TelephonyDownError } from '../../infra/errors';
import {
  SwitchCommandError,
  type BridgeSnapshot,
  type CallSwitch,
  type ChannelSnapshot,
  type OriginateRequest,
  type RecordingFile,
  type SwitchEvents,
} from '../switch';
import type { BackoffOptions } from './backoff';
import { AriConnection } from './connection';
import { ARI_TYPE_OF, toBridge, toChannel, translate, type EmitSwitchEvent } from './events';
import { AriRest, type Query } from './rest';

export interface AriSwitchOptions {
  /** Asterisk's HTTP server, e.g. http://127.0.0.1:8088 */
  url: string;
  username: string;
  password: string;
  /** Stasis application name (dialplan: Stasis(<app>,…)). */
  app: string;
  logger: Logger;
  /** Per-command timeout. Default 5 s. */
  commandTimeoutMs?: number;
  /** addToBridge / removeFromBridge wait for a running playback on the channel (DESIGN §8). Default 15 s. */
  bridgeCommandTimeoutMs?: number;
  backoff?: BackoffOptions;
  preflightTimeoutMs?: number;
  connectTimeoutMs?: number;
  pingIntervalMs?: number;
  handshakeTimeoutMs?: number;
  /** HTTP connections kept to Asterisk for REST commands (ARI_MAX_SOCKETS); see AriRest. */
  maxSockets?: number;
}

export class AriSwitch extends EventEmitter<SwitchEvents> implements CallSwitch {
  readonly connection: AriConnection;
  private readonly rest: AriRest;
  private readonly logger: Logger;
  private readonly app: string;
  private readonly timeoutMs: number;
  private readonly bridgeTimeoutMs: number;
  private readonly basicAuth: string;

  constructor(opts: AriSwitchOptions) {
    super();
    this.basicAuth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    this.logger = opts.logger.child({ component: 'ari-switch' });
    this.app = opts.app;
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
    this.bridgeTimeoutMs = opts.bridgeCommandTimeoutMs ?? 15_000;
    this.connection = new AriConnection({
      url: opts.url,
      username: opts.username,
      password: opts.password,
      app: opts.app,
      logger: opts.logger,
      backoff: opts.backoff,
      preflightTimeoutMs: opts.preflightTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      pingIntervalMs: opts.pingIntervalMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
    });
    this.rest = new AriRest({ url: this.connection.baseUrl, username: opts.username, password: opts.password, maxSockets: opts.maxSockets });
    this.connection.on('up', () => {
      this.applyEventFilter();
      this.safeEmit('up');
    });
    // A listener added while connected for a type the filter drops: widen the filter.
    (this as unknown as NodeJS.EventEmitter).on('newListener', (name: string | symbol) => {
      const type = ARI_TYPE_OF[name as keyof typeof ARI_TYPE_OF];
      if (type && this.connection.isUp && !this.filtered.includes(type)) queueMicrotask(() => this.applyEventFilter());
    });
    this.connection.on('down', (reason) => this.safeEmit('down', reason));
    this.connection.on('event', (event) => translate(event, this.emitEvent));
  }

  get isUp(): boolean {
    return this.connection.isUp;
  }

  /**
   * The ARI event types someone listens to (plus ApplicationReplaced, which the connection handles). Asterisk
   * sends our application every event of its channels and bridges — ChannelVarset for each variable the dialplan
   * sets, ChannelDialplan, ChannelConnectedLine, BridgeCreated… — which we would parse only to drop.
   */
  eventTypes(): string[] {
    const types = Object.entries(ARI_TYPE_OF)
      .filter(([name]) => this.listenerCount(name as keyof SwitchEvents) > 0)
      .map(([, type]) => type);
    return [...types, 'ApplicationReplaced'];
  }

  private filtered: string[] = [];

  /** PUT /applications/{app}/eventFilter (Asterisk ≥ 13.26/16.3): on every (re)connect and when a new type gets a listener. */
  private applyEventFilter(): void {
    const types = this.eventTypes();
    this.filtered = types;
    const body = { allowed: types.map((type) => ({ type })) };
    this.call('eventFilter', 'PUT', `/applications/${enc(this.app)}/eventFilter`, undefined, body).then(
      () => this.logger.debug({ types }, 'ARI event filter set'),
      (err: unknown) => {
        // Still correct without it: unhandled types are dropped in translate() (events.ts), at some CPU cost.
        this.filtered = [];
        this.logger.warn({ err: (err as Error).message }, 'ARI event filter not accepted; receiving every event type');
      },
    );
  }

  /** Connects in the background (forever, with backoff); 'up' is emitted once the events WebSocket is open. */
  start(): void {
    this.connection.start();
  }

  async close(): Promise<void> {
    await this.connection.close();
    this.rest.close();
  }

  // ---- commands -------------------------------------------------------------------------------------------

  async answer(channelId: string): Promise<void> {
    await this.call('answer', 'POST', `/channels/${enc(channelId)}/answer`);
  }

  async ring(channelId: string): Promise<void> {
    await this.call('ring', 'POST', `/channels/${enc(channelId)}/ring`);
  }

  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' | 'no_answer' = 'normal'): Promise<void> {
    await this.call('hangup', 'DELETE', `/channels/${enc(channelId)}`, { reason });
  }

  async play(channelId: string, media: string | string[], playbackId?: string): Promise<string> {
    const path = playbackId ? `/channels/${enc(channelId)}/play/${enc(playbackId)}` : `/channels/${enc(channelId)}/play`;
    const playback = await this.call<{ id?: string }>('play', 'POST', path, { media: Array.isArray(media) ? media.join(',') : media });
    const id = playback?.id ?? playbackId;
    if (!id) throw new SwitchCommandError('play', null, 'Asterisk returned no playback id');
    return id;
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.call('stopPlayback', 'DELETE', `/playbacks/${enc(playbackId)}`);
  }

  async startMoh(channelId: string, mohClass?: string): Promise<void> {
    await this.call('startMoh', 'POST', `/channels/${enc(channelId)}/moh`, { mohClass });
  }

  async stopMoh(channelId: string): Promise<void> {
    await this.call('stopMoh', 'DELETE', `/channels/${enc(channelId)}/moh`);
  }

  async originate(req: OriginateRequest): Promise<ChannelSnapshot> {
    const query: Query = {
      endpoint: req.endpoint,
      app: this.app,
      appArgs: req.appArgs,
      callerId: req.callerId,
      timeout: req.timeoutSec,
      channelId: req.channelId,
    };
    const body = req.variables && Object.keys(req.variables).length ? { variables: req.variables } : undefined;
    const raw = await this.call<unknown>('originate', 'POST', '/channels', query, body);
    return toChannel(raw);
  }

  async getChannel(channelId: string): Promise<ChannelSnapshot | null> {
    try {
      return toChannel(await this.call<unknown>('getChannel', 'GET', `/channels/${enc(channelId)}`));
    } catch (err) {
      if (err instanceof SwitchCommandError && err.notFound) return null;
      throw err;
    }
  }

  async listChannels(): Promise<ChannelSnapshot[]> {
    const list = await this.call<unknown[]>('listChannels', 'GET', '/channels');
    return (Array.isArray(list) ? list : []).map(toChannel);
  }

  async createBridge(type: 'mixing' | 'holding', name?: string, bridgeId?: string): Promise<BridgeSnapshot> {
    return toBridge(await this.call<unknown>('createBridge', 'POST', '/bridges', { type, name, bridgeId }));
  }

  async addToBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    await this.call('addToBridge', 'POST', `/bridges/${enc(bridgeId)}/addChannel`, { channel: channelIds.join(',') }, undefined, this.bridgeTimeoutMs);
  }

  async removeFromBridge(bridgeId: string, channelIds: string[]): Promise<void> {
    await this.call('removeFromBridge', 'POST', `/bridges/${enc(bridgeId)}/removeChannel`, { channel: channelIds.join(',') }, undefined, this.bridgeTimeoutMs);
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await this.call('destroyBridge', 'DELETE', `/bridges/${enc(bridgeId)}`);
  }

  async getBridge(bridgeId: string): Promise<BridgeSnapshot | null> {
    try {
      return toBridge(await this.call<unknown>('getBridge', 'GET', `/bridges/${enc(bridgeId)}`));
    } catch (err) {
      if (err instanceof SwitchCommandError && err.notFound) return null;
      throw err;
    }
  }

  async listBridges(): Promise<BridgeSnapshot[]> {
    const list = await this.call<unknown[]>('listBridges', 'GET', '/bridges');
    return (Array.isArray(list) ? list : []).map(toBridge);
  }

  async snoop(channelId: string, opts: { snoopId: string; appArgs: string; spy?: 'both' | 'in' | 'out' }): Promise<ChannelSnapshot> {
    const query: Query = { spy: opts.spy ?? 'both', app: this.app, appArgs: opts.appArgs, snoopId: opts.snoopId };
    return toChannel(await this.call<unknown>('snoop', 'POST', `/channels/${enc(channelId)}/snoop`, query));
  }

  async recordChannel(channelId: string, name: string, opts: { format?: string; ifExists?: 'fail' | 'overwrite' | 'append' } = {}): Promise<void> {
    await this.call('recordChannel', 'POST', `/channels/${enc(channelId)}/record`, { name, format: opts.format ?? 'wav', ifExists: opts.ifExists ?? 'fail' });
  }

  async deleteRecording(name: string): Promise<void> {
    await this.call('deleteRecording', 'DELETE', `/recordings/stored/${enc(name)}`);
  }

  /**
   * GET /recordings/stored/{name}/file as a stream (binary: not through AriRest, which parses JSON). The name may
   * contain slashes (sub-directories of the recording dir); it travels as one encoded path segment.
   */
  recordingFile(name: string): Promise<RecordingFile | null> {
    if (!this.connection.isUp) return Promise.reject(new TelephonyDownError('ari'));
    const url = new URL(`${this.connection.baseUrl}/ari/recordings/stored/${enc(name)}/file`);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.get(url, { headers: { authorization: this.basicAuth } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 200) {
          clearTimeout(timer);
          const len = Number(res.headers['content-length']);
          resolve({
            contentType: res.headers['content-type'] || 'application/octet-stream',
            contentLength: Number.isFinite(len) && len >= 0 ? len : null,
            stream: res,
          });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          if (status === 404) resolve(null);
          else reject(new SwitchCommandError('recordingFile', status, Buffer.concat(chunks).toString('utf8').slice(0, 200)));
        });
        res.on('error', (err) => reject(new SwitchCommandError('recordingFile', status, err.message)));
      });
      const timer = setTimeout(() => req.destroy(new Error(`no reply from Asterisk within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(new SwitchCommandError('recordingFile', null, err.message));
      });
    });
  }

  private call<T = unknown>(
    operation: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    query?: Query,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    // Fail fast: a command sent while the event stream is down could not be followed up anyway.
    if (!this.connection.isUp) return Promise.reject(new TelephonyDownError('ari'));
    return this.rest.request<T>(operation, method, path, query, body, timeoutMs);
  }

  // ---- events ---------------------------------------------------------------------------------------------

  /** Where translate() (events.ts) hands each decoded event. */
  private readonly emitEvent: EmitSwitchEvent = (name, ...args) => this.safeEmit(name, ...args);

  /**
   * A throwing listener in the call logic must neither stop the delivery of later events nor keep the other
   * listeners of this event from running (EventEmitter.emit would stop at the first throw).
   */
  private safeEmit<K extends keyof SwitchEvents>(name: K, ...args: SwitchEvents[K]): void {
    // rawListeners: calling a once() wrapper also removes it, as emit() would.
    for (const listener of this.rawListeners(name) as Array<(...a: SwitchEvents[K]) => void>) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.logger.error({ err, event: name }, 'switch event listener threw');
      }
    }
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
