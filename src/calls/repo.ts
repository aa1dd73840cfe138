// SQL for call records. Writes for one call go through a per-call ordered chain that retries while PostgreSQL
// is unreachable, so a database blip delays a record but never loses or reorders it.
import { createHash } from 'node:crypto';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { CallState } from './state';

export interface CallRow {
  id: string;
  node_id: string;
  channel_id: string;
  caller_number: string;
  caller_name: string | null;
  caller_id: number | null;
  state: CallState;
  outcome: string | null;
  agent_id: number | null;
  agent_channel_id: string | null;
  bridge_id: string | null;
  offer_count: number;
  started_at: Date;
  answered_at: Date | null;
  queued_at: Date | null;
  offered_at: Date | null;
  connected_at: Date | null;
  ended_at: Date | null;
  wait_ms: number | null;
  talk_ms: number | null;
  hangup_by: string | null;
  hangup_cause: string | null;
  recording_name: string | null;
  survey_score: number | null;
  skill: string | null;
}

export interface InsertCall {
  id: string;
  nodeId: string;
  channelId: string;
  callerNumber: string;
  callerName: string | null;
  state: CallState;
  startedAt: Date;
  queuedAt?: Date | null;
  direction?: 'inbound' | 'outbound';
  callbackId?: number | null;
  /** With state 'offering': the ring that was decided before the row was written. */
  offer?: { agentId: number; channelId: string; at: Date; offerCount: number };
}

export type CallPatch = Partial<Omit<CallRow, 'id' | 'node_id' | 'channel_id' | 'started_at'>>;

const PATCHABLE = new Set([
  'caller_id', 'state', 'outcome', 'agent_id', 'agent_channel_id', 'bridge_id', 'offer_count', 'answered_at',
  'queued_at', 'offered_at', 'connected_at', 'ended_at', 'wait_ms', 'talk_ms', 'hangup_by', 'hangup_cause',
  'recording_name', 'caller_name', 'survey_score', 'skill',
]);

// Connection-level failures worth retrying; anything else is a bug and retrying would not help.
function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  return (
    code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code) ||
    /timeout|terminated|Connection terminated|connect/i.test(e.message ?? '')
  );
}

/**
 * A call record write as a prepared statement, named after its text: each state change has its own set of columns,
 * but there are only a few such shapes, and PostgreSQL then parses and plans each once per connection instead of
 * on every write (that was about half of the server's CPU for a call's writes).
 */
const PREPARED = new Map<string, { name: string; text: string }>();
function prepared(text: string): { name: string; text: string } | string {
  let s = PREPARED.get(text);
  if (!s) {
    // Shapes come from the code, so they are few; a bound all the same, so a bug cannot fill every connection.
    if (PREPARED.size >= 200) return text;
    PREPARED.set(text, (s = { name: `call_w_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text }));
  }
  return s;
}

export class CallRepo {
  private readonly chains = new Map<string, Promise<void>>();
  private pendingWrites = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly retry = { firstDelayMs: 100, maxDelayMs: 5000 },
  ) {}

  /** Writes not yet committed (they are retried while PostgreSQL is down). */
  get backlog(): number {
    return this.pendingWrites;
  }

  /** Queue a write for this call after the ones before it; resolves when committed. */
  write(callId: string, what: string, fn: () => Promise<unknown>): Promise<void> {
    this.pendingWrites++;
    const prev = this.chains.get(callId) ?? Promise.resolve();
    const next = prev.then(() => this.withRetry(callId, what, fn)).finally(() => {
      this.pendingWrites--;
      if (this.chains.get(callId) === next) this.chains.delete(callId);
    });
    this.chains.set(callId, next);
    return next;
  }

  /** Resolves once every queued write of every call has committed (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.chains.size) await Promise.all([...this.chains.values()]);
  }

  private async withRetry(callId: string, what: string, fn: () => Promise<unknown>): Promise<void> {
    let delay = this.retry.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        if (attempt > 1) this.logger.info({ callId, what, attempt }, 'call record write succeeded after retry');
        return;
      } catch (err) {
        if (!isTransient(err)) {
          this.logger.error({ err, callId, what }, 'call record write failed');
          return;
        }
        if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ err: (err as Error).message, callId, what, attempt }, 'call record write failed, retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.retry.maxDelayMs);
      }
    }
  }

  /**
   * The call row and its first state(s) in one statement (one round trip on the set-up path). With `offer` the
   * caller was matched with an agent before the row was written: the offering state and its call_offers row go
   * in the same statement, so an offered call costs one round trip fewer.
   */
  insertCall(c: InsertCall): Promise<void> {
    const states: { f: CallState | null; t: CallState; at?: Date; d?: Record<string, unknown> }[] = [{ f: null, t: 'ringing' }];
    if (c.state !== 'ringing') states.push({ f: 'ringing', t: c.offer ? 'queued' : c.state });
    if (c.offer) states.push({ f: 'queued', t: 'offering', at: c.offer.at, d: { agentId: c.offer.agentId } });
    const o = c.offer;
    return this.write(c.id, o ? 'insert offering' : 'insert', () =>
      this.db.query(
        {
          name: 'call_insert',
          text: `with c as (
             insert into calls (id, node_id, channel_id, caller_number, caller_name, state, started_at, queued_at, caller_id, direction, callback_id,
                                agent_id, offered_at, offer_count)
             values ($1, $2, $3, $4, $5, $6, $7, $8, (select id from callers where number = $4), $10, $11, $12, $13, coalesce($14, 0))
             on conflict (id) do nothing returning id),
           o as (insert into call_offers (call_id, agent_id, channel_id, offered_at) select c.id, $12, $15, $13 from c where $15::text is not null)
           insert into call_events (call_id, at, from_state, to_state, detail)
           select c.id, coalesce(s.at, $7), s.f, s.t, s.d from c, jsonb_to_recordset($9::jsonb) as s(f text, t text, at timestamptz, d jsonb)`,
        },
        [
          c.id, c.nodeId, c.channelId, c.callerNumber, c.callerName, c.state, c.startedAt, c.queuedAt ?? null,
          JSON.stringify(states), c.direction ?? 'inbound', c.callbackId ?? null,
          o?.agentId ?? null, o?.at ?? null, o?.offerCount ?? null, o?.channelId ?? null,
        ],
      ),
    );
  }

  /**
   * Update fields and append the state transition to call_events, in one statement; with `offer`, the
   * call_offers row of a new ring goes in the same statement.
   */
  transition(
    callId: string,
    from: CallState | null,
    to: CallState,
    patch: CallPatch,
    detail?: Record<string, unknown>,
    offer?: { agentId: number; channelId: string; at: Date },
    /** The ring that was answered: its call_offers row is closed in the same statement. */
    answeredOfferChannel?: string,
  ): Promise<void> {
    const cols = Object.keys(patch).filter((k) => PATCHABLE.has(k));
    const sets = ['state = $2', ...cols.map((k, i) => `${k} = $${i + 5}`)];
    const params: unknown[] = [callId, to, from, detail ? JSON.stringify(detail) : null, ...cols.map((k) => (patch as Record<string, unknown>)[k])];
    let offerSql = '';
    if (offer) {
      const n = params.length;
      params.push(offer.agentId, offer.channelId, offer.at);
      offerSql = `, o as (insert into call_offers (call_id, agent_id, channel_id, offered_at) select id, $${n + 1}, $${n + 2}, $${n + 3} from u)`;
    }
    if (answeredOfferChannel) {
      const n = params.length;
      params.push(answeredOfferChannel);
      offerSql += `, a as (update call_offers set result = 'answered', ended_at = now() where call_id = $1 and channel_id = $${n + 1} and result is null)`;
    }
    const text = `with u as (update calls set ${sets.join(', ')} where id = $1 returning id)${offerSql}
         insert into call_events (call_id, from_state, to_state, detail) select id, $3, $2, $4::jsonb from u`;
    return this.write(callId, `transition ${to}`, () => this.db.query(prepared(text), params));
  }

  patch(callId: string, patch: CallPatch): Promise<void> {
    const cols = Object.keys(patch).filter((k) => PATCHABLE.has(k));
    if (!cols.length) return Promise.resolve();
    const text = `update calls set ${cols.map((k, i) => `${k} = $${i + 2}`).join(', ')} where id = $1`;
    return this.write(callId, 'patch', () => this.db.query(prepared(text), [callId, ...cols.map((k) => (patch as Record<string, unknown>)[k])]));
  }

  endOffer(callId: string, channelId: string, result: 'answered' | 'no_answer' | 'busy' | 'failed' | 'cancelled', at: Date): Promise<void> {
    return this.write(callId, `offer ${result}`, () =>
      this.db.query({ name: 'call_offer_end', text: `update call_offers set result = $3, ended_at = $4 where call_id = $1 and channel_id = $2 and result is null` }, [
        callId,
        channelId,
        result,
        at,
      ]),
    );
  }

  async openCalls(nodeId: string): Promise<CallRow[]> {
    const { rows } = await this.db.query<CallRow>(`select * from calls where node_id = $1 and ended_at is null order by started_at`, [nodeId]);
    return rows;
  }

  async get(callId: string): Promise<CallRow | null> {
    const { rows } = await this.db.query<CallRow>(`select * from calls where id = $1`, [callId]);
    return rows[0] ?? null;
  }
}
