// AMI over asterisk-manager 0.2.0, wrapped so that its quirks (shared/DEPENDENCIES.md) cannot hurt us:
// - ActionIDs that repeat, no timeout, a callback on the first response only: actions.ts (unique ActionIDs, a
//   timeout on every action, list actions' items collected until `EventList: Complete`);
// - actions sent while disconnected or before login are held forever: we never hand it one unless logged in,
//   and reject everything pending when the connection goes;
// - a wrong secret fails silently: we log in ourselves and report the Error response ('loginFailed');
// - keepConnected() retries slowly and only if called before the first connect: we reconnect ourselves, with
//   backoff, forever, on a fresh Manager each time (no stale state from the previous socket);
// - its events are emitted from process.nextTick: a throwing listener there would be an uncaught exception, so
//   our listeners never throw.
import { EventEmitter } from 'node:events';
import AsteriskManager from 'asterisk-manager';
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions } from '../ari/backoff';
import { AmiActions, AmiTimeoutError, normalize, type AmiHeaders, type AmiListResult, type AmiMessage } from './actions';

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  logger: Logger;
  /** Default timeout per action (ms). Default 5000. */
  actionTimeoutMs?: number;
  /** TCP connect + login must finish within this (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Ping period while up; a ping without reply drops the connection. 0 disables. Default 15 000. */
  keepaliveIntervalMs?: number;
  /** Default 0.5 s doubling to 30 s, ±20 % jitter. */
  backoff?: BackoffOptions;
  /**
   * Event classes asked for right after login (AMI `Events` action); default AMI_EVENT_CLASSES. Asterisk then
   * sends nothing of the other classes (Newchannel, VarSet, Newexten… of every call, which we would only parse
   * and drop). manager.conf narrows it further to the event names we handle (eventfilter).
   */
  eventMask?: string;
}

/**
 * The AMI event classes the service reads: `system` for PeerStatus / ContactStatus (softphone registration,
 * supervision/registration.ts) and `call` for DeviceStateChange (agent presence, agents/presence.ts). List
 * actions' items (DeviceStateList, CoreShowChannels) are answers to our own actions and come regardless.
 */
export const AMI_EVENT_CLASSES = 'system,call';

export interface AmiLoginFailure {
  message: string;
  attempt: number;
  retryInMs: number;
}

export interface AmiClientEvents {
  up: [];
  down: [reason: string];
  /** Every AMI event: its name as Asterisk spells it (e.g. "Newchannel") and the message with lower-cased keys. */
  event: [name: string, event: AmiMessage];
  loginFailed: [failure: AmiLoginFailure];
}

export interface OriginateOptions {
  /** e.g. PJSIP/agent1001 */
  channel: string;
  /** Dialplan target … */
  context?: string;
  exten?: string;
  priority?: number;
  /** … or an application. */
  application?: string;
  data?: string;
  callerId?: string;
  /** Ring timeout (ms, AMI's unit). */
  timeoutMs?: number;
  variables?: Record<string, string>;
  channelId?: string;
  otherChannelId?: string;
  /** Default true: the response only says "queued"; the outcome is the OriginateResponse event with this ActionID. */
  async?: boolean;
}

type State = 'idle' | 'connecting' | 'up' | 'closed';

export class AmiClient extends EventEmitter<AmiClientEvents> {
  private readonly opts: AmiClientOptions;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly actions: AmiActions;
  private state: State = 'idle';
  private mgr: AsteriskManager | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private loginFailures = 0;
  private connectFailures = 0;

  constructor(opts: AmiClientOptions) {
    super();
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'ami' });
    this.backoff = new Backoff(opts.backoff);
    this.actions = new AmiActions(this.logger);
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Connects in the background and keeps reconnecting until close(); never throws. */
  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    for (const t of [this.retryTimer, this.connectTimer]) if (t) clearTimeout(t);
    if (this.keepalive) clearInterval(this.keepalive);
    this.retryTimer = this.connectTimer = this.keepalive = null;
    const mgr = this.mgr;
    this.mgr = null;
    this.actions.failAll('closed');
    if (mgr) {
      if (wasUp) await this.logoff(mgr);
      mgr.disconnect();
    }
    if (wasUp) this.emit('down', 'closed');
  }

  // ---- actions ----------------------------------------------------------------------------------------------

  /** Sends one action; resolves with its response, rejects with AmiActionError (Response: Error), timeout or disconnect. */
  action(headers: AmiHeaders, opts: { timeoutMs?: number } = {}): Promise<AmiMessage> {
    return this.send(headers, false, opts.timeoutMs) as Promise<AmiMessage>;
  }

  /** Sends a list action (CoreShowChannels, PJSIPShowEndpoints, …) and collects its events until `EventList: Complete`. */
  listAction(headers: AmiHeaders, opts: { timeoutMs?: number } = {}): Promise<AmiListResult> {
    return this.send(headers, true, opts.timeoutMs) as Promise<AmiListResult>;
  }

  ping(): Promise<AmiMessage> {
    return this.action({ Action: 'Ping' });
  }

  originate(o: OriginateOptions): Promise<AmiMessage> {
    return this.action({
      Action: 'Originate',
      Channel: o.channel,
      Context: o.context,
      Exten: o.exten,
      Priority: o.priority,
      Application: o.application,
      Data: o.data,
      CallerID: o.callerId,
      Timeout: o.timeoutMs,
      ChannelId: o.channelId,
      OtherChannelId: o.otherChannelId,
      Async: o.async ?? true,
      Variable: o.variables && Object.keys(o.variables).length ? o.variables : undefined,
    });
  }

  hangup(channel: string, cause?: number): Promise<AmiMessage> {
    return this.action({ Action: 'Hangup', Channel: channel, Cause: cause });
  }

  async coreShowChannels(): Promise<AmiMessage[]> {
    return (await this.listAction({ Action: 'CoreShowChannels' })).items;
  }

  async deviceStateList(): Promise<AmiMessage[]> {
    return (await this.listAction({ Action: 'DeviceStateList' })).items;
  }

  async pjsipShowEndpoints(): Promise<AmiMessage[]> {
    return (await this.listAction({ Action: 'PJSIPShowEndpoints' })).items;
  }

  private send(headers: AmiHeaders, isList: boolean, timeoutMs = this.opts.actionTimeoutMs ?? 5000): Promise<AmiMessage | AmiListResult> {
    return this.actions.send(this.state === 'up' ? this.mgr : null, headers, isList, timeoutMs);
  }

  // ---- connection -------------------------------------------------------------------------------------------

  private connect(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const { host, port, username, secret } = this.opts;
    // Port undefined: the constructor must not connect (and log in without a callback) by itself.
    const mgr = new AsteriskManager(undefined, host, username, secret, true);
    this.mgr = mgr;
    mgr.setMaxListeners(0);
    mgr.on('error', (err: Error) => {
      if (mgr === this.mgr) this.logger.debug({ err: err.message }, 'AMI socket error');
    });
    mgr.on('close', () => this.lost(mgr, 'connection closed'));
    mgr.on('managerevent', (evt: AsteriskManager.AmiRawMessage) => {
      if (mgr === this.mgr) this.onEvent(evt);
    });
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      if (mgr === this.mgr && this.state === 'connecting') this.lost(mgr, `no login within ${this.opts.connectTimeoutMs ?? 10_000} ms`);
    }, this.opts.connectTimeoutMs ?? 10_000);

    mgr.connect(port, host, () => {
      if (mgr !== this.mgr) {
        mgr.disconnect();
        return;
      }
      mgr.login((err) => {
        if (mgr !== this.mgr) return;
        if (err) {
          const message = typeof err.message === 'string' ? err.message : 'login rejected';
          this.loginFailures += 1;
          // Asterisk closes the socket after a failed login; lost() schedules the retry with this delay.
          const retryInMs = this.backoff.next();
          this.logger.error(
            { host, port, username, attempt: this.loginFailures, retryInMs },
            `AMI login rejected: ${message} — check the AMI username/secret (manager.conf)`,
          );
          this.emit('loginFailed', { message, attempt: this.loginFailures, retryInMs });
          this.lost(mgr, `login failed: ${message}`, retryInMs);
          mgr.disconnect();
          return;
        }
        this.onLoggedIn(mgr);
      });
    });
  }

  /** Asks for our event classes only, then declares the connection up (the connect timer still guards it). */
  private onLoggedIn(mgr: AsteriskManager): void {
    const mask = this.opts.eventMask ?? AMI_EVENT_CLASSES;
    mgr.action({ action: 'Events', eventmask: mask, actionid: this.actions.nextId('events') }, (err, res) => {
      if (mgr !== this.mgr) return;
      const response = normalize(res ?? err ?? {});
      if (err || (response.response ?? '').toLowerCase() !== 'success') {
        // Still usable: we get more events than we need, which costs CPU but loses nothing.
        this.logger.warn({ eventMask: mask, message: response.message }, 'AMI refused the event mask; receiving every event class');
      }
      this.markUp(mgr);
    });
  }

  private markUp(mgr: AsteriskManager): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.state = 'up';
    this.loginFailures = 0;
    this.connectFailures = 0;
    this.backoff.reset();
    this.logger.info({ host: this.opts.host, port: this.opts.port }, 'AMI connected and logged in');
    const interval = this.opts.keepaliveIntervalMs ?? 15_000;
    if (interval > 0) {
      this.keepalive = setInterval(() => {
        if (mgr !== this.mgr || this.state !== 'up') return;
        this.ping().then(
          () => undefined,
          (err: Error) => {
            if (err instanceof AmiTimeoutError) this.lost(mgr, 'keepalive ping unanswered');
          },
        );
      }, interval);
      this.keepalive.unref();
    }
    this.emit('up');
  }

  /** The connection `mgr` is gone (or must be treated as gone); idempotent per connection. */
  private lost(mgr: AsteriskManager, reason: string, retryInMs?: number): void {
    if (mgr !== this.mgr) return;
    this.mgr = null;
    const wasUp = this.state === 'up';
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.keepalive = this.connectTimer = null;
    this.actions.failAll(reason);
    // Ends the socket if it is still open (timeouts, keepalive); a no-op after a real close.
    mgr.disconnect();
    if (this.state === 'closed') return;
    this.state = 'connecting';
    if (wasUp) {
      this.logger.warn({ reason }, 'AMI down');
      this.emit('down', reason);
    }
    let delay = retryInMs;
    if (delay === undefined) {
      delay = this.backoff.next();
      if (!wasUp) {
        this.connectFailures += 1;
        this.logger.warn({ host: this.opts.host, port: this.opts.port, reason, attempt: this.connectFailures, retryInMs: delay }, 'AMI connect failed');
      }
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private onEvent(raw: AsteriskManager.AmiRawMessage): void {
    try {
      const evt = normalize(raw);
      const name = evt.event ?? '';
      this.actions.collect(evt);
      this.emit('event', name, evt);
    } catch (err) {
      this.logger.error({ err }, 'AMI event listener threw');
    }
  }

  private logoff(mgr: AsteriskManager): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 500);
      mgr.action({ action: 'Logoff', actionid: this.actions.nextId('logoff') }, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
