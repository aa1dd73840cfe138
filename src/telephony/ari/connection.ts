// Keeps one ari-client connection to Asterisk alive for the life of the process, containing ari-client 2.2.0's
// known failures (shared/DEPENDENCIES.md):
// - wrong password / 404 during connect → uncaught exception: pre-flight resources.json ourselves first, and
//   swagger-guard.ts contains the residual throw;
// - connect can hang forever (swagger ignores shred's "request_error" when an api-doc request fails to connect):
//   connect has a timeout;
// - the WebSocket gives up after ~43 s (WebSocketMaxRetries) and never tries again: we retire that client and
//   create a new one with our own backoff, forever;
// - an event type missing from its swagger model throws inside its 'message' handler: we replace that handler on
//   every new socket with our own, which only JSON-parses the frame (no model lookup, no resource objects);
// - no ping: a half-open TCP connection would leave us deaf for hours; we ping and terminate the socket when pongs
//   stop, which makes ari-client reconnect;
// - stop() while the socket is CONNECTING emits 'error' synchronously before `_wsClosed` is set, so ari-client
//   schedules a reconnect of a client it was told to stop: we set `_wsClosed` first.
import { EventEmitter } from 'node:events';
import ari, { type Client } from 'ari-client';
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions } from './backoff';
import { installSwaggerGuard } from './swagger-guard';

/** An ARI event exactly as Asterisk sent it (one JSON text frame). */
export interface AriRawEvent {
  type: string;
  application?: string;
  timestamp?: string;
  [key: string]: unknown;
}

export type AriConnectFailureKind = 'auth' | 'notFound' | 'unreachable' | 'http' | 'badDocs' | 'timeout' | 'client';

export class AriConnectError extends Error {
  constructor(
    readonly kind: AriConnectFailureKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'AriConnectError';
  }
}

export interface AriConnectFailure {
  kind: AriConnectFailureKind;
  message: string;
  status: number | null;
  /** 1-based count of failed attempts in a row. */
  attempt: number;
  retryInMs: number;
}

export interface AriConnectionEvents {
  up: [];
  down: [reason: string];
  /** Every ARI event frame, known to ari-client's model or not. */
  event: [event: AriRawEvent];
  connectFailed: [failure: AriConnectFailure];
}

export interface AriConnectionOptions {
  /** Asterisk's HTTP server, e.g. http://127.0.0.1:8088 (a trailing /ari is accepted). */
  url: string;
  username: string;
  password: string;
  /** Stasis application name. */
  app: string;
  logger: Logger;
  /** Delay between our (re)connect attempts. Default 0.5 s doubling to 30 s, ±20 % jitter. */
  backoff?: BackoffOptions;
  /** Pre-flight GET of resources.json. Default 5 s. */
  preflightTimeoutMs?: number;
  /** ari-client's api-docs download. Default 10 s. */
  connectTimeoutMs?: number;
  /** Ping period on the events WebSocket; the socket is dropped after 2 periods without pong. 0 disables. Default 5 s. */
  pingIntervalMs?: number;
  /** A WebSocket stuck in CONNECTING this long (ari-client sets no handshake timeout) is abandoned. Default 10 s. */
  handshakeTimeoutMs?: number;
  subscribeAll?: boolean;
}

type State = 'idle' | 'connecting' | 'up' | 'reconnecting' | 'closed';

const WS_CONNECTING = 0;
const WS_OPEN = 1;

export class AriConnection extends EventEmitter<AriConnectionEvents> {
  readonly baseUrl: string;
  private readonly opts: AriConnectionOptions;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly replacedBackoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private state: State = 'idle';
  private client: Client | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private failures = 0;
  private awaitingPong = false;
  private missedPongs = 0;
  private connectingWs: unknown = null;
  private connectingSince = 0;

  constructor(opts: AriConnectionOptions) {
    super();
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'ari' });
    this.baseUrl = opts.url.replace(/\/+$/, '').replace(/\/ari$/, '');
    this.backoff = new Backoff(opts.backoff);
    installSwaggerGuard(this.logger);
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  get status(): State {
    return this.state;
  }

  /** Starts connecting in the background; never throws, never gives up until close(). */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    const interval = this.opts.pingIntervalMs ?? 5000;
    if (interval > 0) {
      this.heartbeat = setInterval(() => this.tick(), interval);
      this.heartbeat.unref();
    }
    void this.attempt();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.retryTimer = this.heartbeat = null;
    if (this.client) this.retire(this.client, 'closed');
    this.client = null;
    if (wasUp) this.emit('down', 'closed');
  }

  // A method, not an inline comparison: TypeScript would keep the narrowing from before an await.
  private closed(): boolean {
    return this.state === 'closed';
  }

  private schedule(delayMs: number): void {
    if (this.state === 'closed') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, delayMs);
  }

  /** One connect attempt; every failure path ends in schedule(), so this promise never rejects. */
  private async attempt(): Promise<void> {
    if (this.state === 'closed') return;
    try {
      await this.preflight();
      const client = await this.connectClient();
      if (this.closed()) {
        this.retire(client, 'closed during connect');
        return;
      }
      this.adopt(client);
    } catch (err) {
      const e =
        err instanceof AriConnectError ? err : new AriConnectError('client', err instanceof Error ? err.message : String(err));
      this.failures += 1;
      const retryInMs = this.backoff.next();
      const failure: AriConnectFailure = { kind: e.kind, message: e.message, status: e.status, attempt: this.failures, retryInMs };
      // Wrong credentials and a wrong URL are configuration errors an operator must see; the rest is an outage.
      const level = e.kind === 'auth' || e.kind === 'notFound' || e.kind === 'badDocs' ? 'error' : 'warn';
      this.logger[level]({ url: this.baseUrl, kind: e.kind, status: e.status, attempt: this.failures, retryInMs }, `ARI connect failed: ${e.message}`);
      this.emit('connectFailed', failure);
      this.schedule(retryInMs);
    }
  }

  /** Turns the failures ari-client would crash on (401, 404, non-JSON) into clean errors before it runs. */
  private async preflight(): Promise<void> {
    const url = `${this.baseUrl}/ari/api-docs/resources.json`;
    const auth = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
    const timeoutMs = this.opts.preflightTimeoutMs ?? 5000;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: auth, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new AriConnectError('timeout', `no reply to ${url} within ${timeoutMs} ms`);
      throw new AriConnectError('unreachable', `${url}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new AriConnectError('auth', `Asterisk rejected ARI user "${this.opts.username}" (HTTP ${res.status}): check the ARI username/password (ari.conf)`, res.status);
    }
    if (res.status === 404) {
      throw new AriConnectError('notFound', `${url} answered 404: is ARI enabled (http.conf, ari.conf) and the URL right?`, 404);
    }
    if (!res.ok) throw new AriConnectError('http', `${url} answered HTTP ${res.status}`, res.status);
    try {
      const docs = JSON.parse(text) as { apis?: unknown };
      if (!Array.isArray(docs.apis)) throw new Error('no "apis" list');
    } catch (err) {
      throw new AriConnectError('badDocs', `${url} is not ARI's resource listing (${(err as Error).message})`, res.status);
    }
  }

  private connectClient(): Promise<Client> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    const pending = ari.connect(this.baseUrl, this.opts.username, this.opts.password);
    return new Promise<Client>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new AriConnectError('timeout', `ari-client did not finish loading the api-docs within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.then(
        (client) => {
          clearTimeout(timer);
          // A client that arrives after its timeout has no WebSocket yet; it holds nothing worth closing.
          if (timedOut) this.logger.debug('ari-client connect completed after its timeout; discarded');
          else resolve(client);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (timedOut) {
            this.logger.debug({ err: String(err) }, 'ari-client connect failed after its timeout');
            return;
          }
          const message = err instanceof Error ? err.message : String(err);
          reject(new AriConnectError('client', `ari-client connect failed: ${message}`));
        },
      );
    });
  }

  private adopt(client: Client): void {
    this.client = client;
    this.state = 'reconnecting';
    client.on('WebSocketConnected', () => this.onSocketOpen(client));
    client.on('WebSocketReconnecting', (err?: Error) => {
      if (client !== this.client) return;
      this.markDown(`events WebSocket lost${err?.message ? `: ${err.message}` : ''}; ari-client reconnecting`);
    });
    client.on('WebSocketMaxRetries', (err?: Error) => {
      if (client !== this.client) return;
      this.logger.warn({ err: err?.message }, 'ari-client gave up reconnecting its WebSocket; creating a new client');
      this.client = null;
      this.retire(client, 'max retries');
      this.markDown('ari-client gave up reconnecting');
      this.state = 'connecting';
      this.schedule(this.backoff.next());
    });
    client.on('pong', () => {
      this.awaitingPong = false;
      this.missedPongs = 0;
    });
    // start() resolves on the first open and rejects only together with WebSocketMaxRetries, handled above.
    client.start(this.opts.app, this.opts.subscribeAll ?? null).then(
      () => this.logger.debug('ari-client start() resolved'),
      (err: unknown) => this.logger.debug({ err: String(err) }, 'ari-client start() rejected'),
    );
  }

  private onSocketOpen(client: Client): void {
    if (client !== this.client) {
      this.logger.warn('a retired ari-client reopened its WebSocket (a retry timer was pending); closing it');
      this.stopClient(client);
      return;
    }
    const ws = client._ws;
    if (ws) {
      // Replace ari-client's message handler (model lookup that throws on unknown types) with a raw one.
      for (const listener of ws.listeners('message')) ws.removeListener('message', listener as (...a: unknown[]) => void);
      ws.on('message', (data: unknown) => {
        if (client === this.client) this.onFrame(data);
      });
    }
    this.failures = 0;
    this.backoff.reset();
    this.awaitingPong = false;
    this.missedPongs = 0;
    const wasUp = this.state === 'up';
    this.state = 'up';
    this.logger.info({ url: this.baseUrl, app: this.opts.app }, 'ARI events WebSocket connected');
    if (!wasUp) this.emit('up');
  }

  private onFrame(data: unknown): void {
    let event: AriRawEvent;
    try {
      const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      event = JSON.parse(text) as AriRawEvent;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'ARI frame is not JSON; ignored');
      return;
    }
    if (!event || typeof event.type !== 'string') {
      this.logger.warn('ARI frame without a type; ignored');
      return;
    }
    if (event.type === 'ApplicationReplaced') {
      this.onReplaced();
      return;
    }
    try {
      this.emit('event', event);
    } catch (err) {
      // A throwing consumer must not propagate into ws's receiver (that would stop the socket's processing).
      this.logger.error({ err, type: event.type }, 'ARI event listener threw');
    }
  }

  /**
   * Another WebSocket took our Stasis app (another process with the same app name, or a socket of ours that
   * reconnected late): this socket gets no more events. Take the app back after a growing delay, so two
   * processes misconfigured with one app name do not fight in a tight loop.
   */
  private onReplaced(): void {
    const delay = this.replacedBackoff.next();
    this.logger.error({ app: this.opts.app, retakeInMs: delay }, 'ARI application taken over by another WebSocket (is another process using the same app name?)');
    this.markDown('application replaced by another WebSocket');
    const client = this.client;
    const ws = client?._ws;
    setTimeout(() => {
      if (client && client === this.client && client._ws === ws && ws) ws.terminate();
    }, delay).unref();
  }

  private markDown(reason: string): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'reconnecting';
    if (wasUp) {
      this.logger.warn({ reason }, 'ARI down');
      this.emit('down', reason);
    }
  }

  private tick(): void {
    const client = this.client;
    const ws = client?._ws;
    if (!client || !ws) return;
    if (this.state === 'up' && ws.readyState === WS_OPEN) {
      if (this.awaitingPong) this.missedPongs += 1;
      if (this.missedPongs >= 2) {
        this.logger.warn('no pong from Asterisk on the events WebSocket; dropping it so ari-client reconnects');
        this.missedPongs = 0;
        this.awaitingPong = false;
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping(undefined, undefined, (err?: Error) => {
        if (err) this.logger.debug({ err: err.message }, 'ARI ping failed');
      });
      return;
    }
    if (ws.readyState === WS_CONNECTING) {
      if (this.connectingWs !== ws) {
        this.connectingWs = ws;
        this.connectingSince = Date.now();
      } else if (Date.now() - this.connectingSince >= (this.opts.handshakeTimeoutMs ?? 10_000)) {
        this.logger.warn('ARI WebSocket handshake hangs; abandoning this ari-client');
        this.client = null;
        this.connectingWs = null;
        this.retire(client, 'handshake timeout');
        this.markDown('WebSocket handshake timeout');
        this.state = 'connecting';
        this.schedule(0);
      }
    }
  }

  private retire(client: Client, why: string): void {
    this.logger.debug({ why }, 'retiring ari-client');
    client.removeAllListeners();
    // Guard against a retry timer ari-client had already scheduled: if that socket opens, close it at once.
    client.on('WebSocketConnected', () => this.onSocketOpen(client));
    this.stopClient(client);
  }

  private stopClient(client: Client): void {
    if (!client._ws) return;
    // Set before stop(): stop() on a CONNECTING socket emits 'error' synchronously, and ari-client would
    // schedule a reconnect unless it already sees _wsClosed.
    client._wsClosed = true;
    try {
      client.stop();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'ari-client stop() threw');
    }
  }
}
