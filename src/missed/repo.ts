// SQL for the missed-call callback list. Entries are opened and matched by the trigger on calls (migration
// 1764700000000_supervision.sql); this module reads them and records the agents' work.
import type { Db, Queryable } from '../infra/db';

export type MissedStatus = 'open' | 'called_back' | 'matched' | 'closed';
export type MissedResult = 'reached' | 'no_answer' | 'invalid_number' | 'not_needed';

export interface MissedRow {
  id: number;
  caller_number: string;
  caller_name: string | null;
  reason: string;
  status: MissedStatus;
  first_call_id: string;
  last_call_id: string;
  first_missed_at: Date;
  last_missed_at: Date;
  missed_count: number;
  last_wait_ms: number | null;
  max_wait_ms: number | null;
  attempts: number;
  last_attempt_at: Date | null;
  last_attempt_by: number | null;
  last_attempt_result: string | null;
  result: MissedResult | null;
  note: string | null;
  matched_call_id: string | null;
  closed_at: Date | null;
  promised_at: Date | null;
}

export interface CallbackWorkSummaryRow {
  open: number;
  abandoned: number;
  missed: number;
  after_hours: number;
  callback_failed: number;
  promised_open: number;
  promised_late: number;
  oldest_promise_at: Date | null;
  closed_today: number;
}

const SELECT = `select m.id, m.caller_number, c.name as caller_name, m.reason, m.status, m.first_call_id, m.last_call_id,
    m.first_missed_at, m.last_missed_at, m.missed_count, m.last_wait_ms, m.max_wait_ms, m.attempts, m.last_attempt_at,
    m.last_attempt_by, o.result as last_attempt_result, m.result, m.note, m.matched_call_id, m.closed_at, m.promised_at
  from missed_calls m
  left join callers c on c.number = m.caller_number
  left join lateral (select result from outbound_calls where kind = 'missed' and ref_id = m.id order by started_at desc limit 1) o on true`;

export class MissedRepo {
  constructor(private readonly db: Db) {}

  async list(q: { status: MissedStatus | 'all'; number?: string; limit: number; offset: number }): Promise<{ rows: MissedRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.status !== 'all') {
      params.push(q.status);
      where.push(`m.status = $${params.length}`);
    }
    if (q.number) {
      params.push(q.number);
      where.push(`m.caller_number = $${params.length}`);
    }
    const w = where.length ? `where ${where.join(' and ')}` : '';
    const [list, count] = await Promise.all([
      this.db.query<MissedRow & Record<string, unknown>>(
        `${SELECT} ${w} order by m.last_missed_at desc, m.id desc limit $${params.length + 1} offset $${params.length + 2}`,
        [...params, q.limit, q.offset],
      ),
      this.db.query<{ n: number }>(`select count(*)::int as n from missed_calls m ${w}`, params),
    ]);
    return { rows: list.rows, total: count.rows[0]?.n ?? 0 };
  }

  /** Open work by kind, promised callbacks (and those older than the limit), entries closed today (China time). */
  async summary(promiseMaxAgeMin: number): Promise<CallbackWorkSummaryRow> {
    const { rows } = await this.db.query<CallbackWorkSummaryRow>(
      `select count(*) filter (where status = 'open')::int as open,
              count(*) filter (where status = 'open' and reason = 'abandoned')::int as abandoned,
              count(*) filter (where status = 'open' and reason in ('failed', 'no_agent'))::int as missed,
              count(*) filter (where status = 'open' and reason = 'after_hours')::int as after_hours,
              count(*) filter (where status = 'open' and reason = 'callback_failed')::int as callback_failed,
              count(*) filter (where status = 'open' and promised_at is not null)::int as promised_open,
              count(*) filter (where status = 'open' and promised_at < now() - make_interval(mins => $1::int))::int as promised_late,
              min(promised_at) filter (where status = 'open') as oldest_promise_at,
              count(*) filter (where status in ('called_back', 'closed')
                                 and closed_at >= (date_trunc('day', now() at time zone 'Asia/Shanghai') at time zone 'Asia/Shanghai'))::int as closed_today
         from missed_calls`,
      [promiseMaxAgeMin],
    );
    return rows[0]!;
  }

  /** The promises behind an entry are settled once an agent records a result that closes it. */
  async settlePromises(id: number, tx?: Queryable): Promise<void> {
    await this.db.query(
      `update queue_callbacks set status = 'done', finished_at = coalesce(finished_at, now())
        where missed_call_id = $1 and status in ('manual', 'failed', 'interrupted')`,
      [id],
      tx,
    );
  }

  async get(id: number, tx?: Queryable): Promise<MissedRow | null> {
    const { rows } = await this.db.query<MissedRow & Record<string, unknown>>(`${SELECT} where m.id = $1`, [id], tx);
    return rows[0] ?? null;
  }

  async lockStatus(id: number, tx: Queryable): Promise<MissedStatus | null> {
    const { rows } = await this.db.query<{ status: MissedStatus }>(`select status from missed_calls where id = $1 for update`, [id], tx);
    return rows[0]?.status ?? null;
  }

  async recordAttempt(id: number, userId: number, tx?: Queryable): Promise<void> {
    await this.db.query(
      `update missed_calls set attempts = attempts + 1, last_attempt_at = now(), last_attempt_by = $2, updated_at = now() where id = $1`,
      [id, userId],
      tx,
    );
  }

  async close(id: number, userId: number, status: MissedStatus, result: MissedResult, note: string | null, tx?: Queryable): Promise<void> {
    await this.db.query(
      `update missed_calls set status = $3, result = $4, note = coalesce($5, note), updated_at = now(),
              closed_at = case when $3 = 'open' then null else now() end,
              closed_by = case when $3 = 'open' then null else $2::int end
        where id = $1`,
      [id, userId, status, result, note],
      tx,
    );
  }

  async agentEndpoint(agentId: number): Promise<{ extension: string; endpoint: string | null; active: boolean } | null> {
    const { rows } = await this.db.query<{ extension: string; endpoint: string | null; active: boolean }>(
      `select extension, endpoint, active from agents where id = $1`,
      [agentId],
    );
    return rows[0] ?? null;
  }
}
