// Action bookkeeping for AmiClient (client.ts), the part of asterisk-manager's quirks that concerns actions:
// - its ActionIDs are Date.now() strings that repeat: every action gets our own unique `h114-<counter>-<random>`;
// - it has no timeout (an unanswered action never calls back): every action has one here;
// - its callback fires on the first response only: list actions collect their item events here until
//   `EventList: Complete` (the client hands every event to collect()).
// The connection's life stays in the client: it passes the logged-in Manager (or null while not up) and rejects
// everything pending when the connection goes (failAll).
import { randomBytes } from 'node:crypto';
import type AsteriskManager from 'asterisk-manager';
import type { Logger } from 'pino';
import { TelephonyDownError } from '../../infra/errors';

/** An AMI message with lower-cased keys (as asterisk-manager parses them). */
export type AmiMessage = Record<string, string>;

export type AmiHeaderValue = string | number | boolean | undefined | Record<string, string>;
export type AmiHeaders = Record<string, AmiHeaderValue>;

export interface AmiListResult {
  response: AmiMessage;
  items: AmiMessage[];
}

export class AmiActionError extends Error {
  constructor(
    readonly action: string,
    readonly response: AmiMessage,
  ) {
    super(`AMI ${action} failed: ${response.message ?? 'Error'}`);
    this.name = 'AmiActionError';
  }
}

export class AmiTimeoutError extends Error {
  constructor(
    readonly action: string,
    readonly actionId: string,
    timeoutMs: number,
  ) {
    super(`AMI ${action} (${actionId}) got no reply within ${timeoutMs} ms`);
    this.name = 'AmiTimeoutError';
  }
}

/** The connection went while the action was pending: it may or may not have been carried out. */
export class AmiDisconnectedError extends TelephonyDownError {
  constructor(readonly action: string) {
    super('ami');
  }
}

interface Pending {
  action: string;
  resolve(value: AmiMessage | AmiListResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  list: { response: AmiMessage | null; items: AmiMessage[] } | null;
}

export class AmiActions {
  private readonly idPrefix = `h114-`;
  private readonly idSuffixBytes = 3;
  private counter = 0;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly logger: Logger) {}

  /** A fresh ActionID, `h114-<counter>-<tag>`; the tag is random unless given. */
  nextId(tag = randomBytes(this.idSuffixBytes).toString('hex')): string {
    return `${this.idPrefix}${++this.counter}-${tag}`;
  }

  /** Sends one action on `mgr` (null: the connection is not up) and settles with its response, list, error or timeout. */
  send(mgr: AsteriskManager | null, headers: AmiHeaders, isList: boolean, timeoutMs: number): Promise<AmiMessage | AmiListResult> {
    const actionName = String(findHeader(headers, 'action') ?? '');
    if (!actionName) return Promise.reject(new Error('AMI action without an Action header'));
    if (!mgr) return Promise.reject(new TelephonyDownError('ami'));

    const id = this.nextId();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(headers)) {
      // The ActionID is ours; asterisk-manager reads it from the lower-case key.
      if (v === undefined || k.toLowerCase() === 'actionid') continue;
      out[k] = v;
    }
    out.actionid = id;

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        mgr.removeAllListeners(id);
        reject(new AmiTimeoutError(actionName, id, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { action: actionName, resolve, reject, timer, list: isList ? { response: null, items: [] } : null });
      try {
        mgr.action(out, (err, res) => this.onResponse(id, err, res));
      } catch (err) {
        this.settle(id, (p) => p.reject(err instanceof Error ? err : new Error(String(err))));
      }
    });
  }

  private onResponse(id: string, err: AsteriskManager.AmiRawMessage | undefined, res: AsteriskManager.AmiRawMessage): void {
    try {
      const p = this.pending.get(id);
      if (!p) return;
      const response = normalize(res ?? err ?? {});
      if (err || (response.response ?? '').toLowerCase() === 'error') {
        this.settle(id, (x) => x.reject(new AmiActionError(x.action, response)));
        return;
      }
      if (!p.list) {
        this.settle(id, (x) => x.resolve(response));
        return;
      }
      if ((response.eventlist ?? '').toLowerCase() === 'start') {
        p.list.response = response;
      } else {
        // A list action answered without a list (nothing follows).
        this.settle(id, (x) => x.resolve({ response, items: [] }));
      }
    } catch (e) {
      this.logger.error({ err: e }, 'AMI response handling failed');
    }
  }

  private settle(id: string, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    fn(p);
  }

  /** The connection went: every pending action is rejected with AmiDisconnectedError. */
  failAll(reason: string): void {
    if (this.pending.size) this.logger.warn({ count: this.pending.size, reason }, 'AMI connection lost: rejecting pending actions');
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new AmiDisconnectedError(p.action));
    }
  }

  /** An AMI event (normalized): an item of a pending list action is collected; `EventList: Complete` resolves the list. */
  collect(evt: AmiMessage): void {
    const id = evt.actionid;
    if (!id) return;
    const p = this.pending.get(id);
    if (!p?.list) return;
    if ((evt.eventlist ?? '').toLowerCase() === 'complete') {
      const response = p.list.response ?? evt;
      const items = p.list.items;
      this.settle(id, (x) => x.resolve({ response, items }));
    } else {
      p.list.items.push(evt);
    }
  }
}

function findHeader(headers: AmiHeaders, key: string): AmiHeaderValue {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === key) return v;
  return undefined;
}

/**
 * asterisk-manager turns `Variable:`/`ChanVariable:` headers into objects and repeated keys into arrays; give
 * consumers plain strings: objects back to "NAME=value,…" (VarSet's `Variable: NAME` becomes "NAME" again),
 * arrays joined by newlines (e.g. Command's Output lines).
 */
export function normalize(raw: AsteriskManager.AmiRawMessage): AmiMessage {
  const out: AmiMessage = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.join('\n');
    else out[k] = Object.entries(v).map(([name, value]) => (value === '' ? name : `${name}=${value}`)).join(',');
  }
  return out;
}
