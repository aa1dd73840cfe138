// SQL for cases (工单), their history and the calls they came from.
import type pg from 'pg';
import type { Db } from '../infra/db';

export interface CaseRow {
  id: number;
  tracking_no: string;
  channel: string;
  status: string;
  caller_id: number | null;
  contact_name: string | null;
  contact_phone: string | null;
  category_id: number | null;
  category_name: string | null;
  department_id: number | null;
  department_code: string | null;
  department_name: string | null;
  urgency: 'normal' | 'urgent';
  title: string;
  description: string;
  call_id: string | null;
  call_ids: string[];
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
  dispatch_no: number;
  dispatched_at: Date | null;
  signed_at: Date | null;
  signed_by: number | null;
  signed_by_name: string | null;
  resolved_at: Date | null;
  reply: string | null;
  return_reason: string | null;
  sla_started_at: Date | null;
  sign_deadline: Date | null;
  resolve_deadline: Date | null;
  deadline_version: number;
  warning_level: 'yellow' | 'red' | null;
  extension_until: Date | null;
  extension_reason: string | null;
  extension_count: number;
  merged_into: number | null;
  closed_at: Date | null;
  satisfaction: string | null;
  reopen_count: number;
  overdue: boolean;
  /** Residents of merged cases (并单) still owed a callback (回访). */
  pending_callbacks: number;
}

/** The locked row a transition works on (no joins: FOR UPDATE locks cases only). */
export interface LockedCase {
  id: number;
  tracking_no: string;
  status: string;
  urgency: 'normal' | 'urgent';
  category_id: number | null;
  department_id: number | null;
  dispatch_no: number;
  deadline_version: number;
  sla_started_at: Date | null;
  resolve_deadline: Date | null;
  contact_phone: string | null;
}

export interface CaseEventRow {
  id: number;
  at: Date;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  from_status: string | null;
  to_status: string;
  note: string | null;
  detail: unknown;
}

export const CASE_SELECT = `
  select s.id, s.tracking_no, s.channel, s.status, s.caller_id, s.contact_name, s.contact_phone, s.category_id,
         cat.name as category_name, s.department_id, d.code as department_code, d.name as department_name,
         s.urgency, s.title, s.description, s.call_id,
         coalesce((select array_agg(cc.call_id::text order by cc.added_at, cc.call_id) from case_calls cc where cc.case_id = s.id), '{}') as call_ids,
         s.created_by, s.created_at, s.updated_at, s.dispatch_no, s.dispatched_at, s.signed_at, s.signed_by,
         su.display_name as signed_by_name, s.resolved_at, s.reply, s.return_reason, s.sla_started_at,
         s.sign_deadline, s.resolve_deadline, s.deadline_version, s.warning_level, s.extension_until,
         s.extension_reason, s.extension_count, s.merged_into, s.closed_at, s.satisfaction, s.reopen_count,
         (s.status in ('dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested')
           and s.resolve_deadline < now()) as overdue,
         (select count(*)::int from case_contacts k where k.case_id = s.id and k.callback_done_at is null) as pending_callbacks
    from cases s
    left join categories cat on cat.id = s.category_id
    left join departments d on d.id = s.department_id
    left join users su on su.id = s.signed_by`;

const BY_DEADLINE = `(s.resolve_deadline < now() or (s.status in ('dispatched', 'reopened') and s.sign_deadline < now())) desc,
  s.resolve_deadline nulls last, s.id`;

/** Columns a transition may set (whitelist for updateCase). */
const UPDATABLE = new Set([
  'status', 'department_id', 'dispatch_no', 'dispatched_at', 'dispatched_by', 'signed_at', 'signed_by', 'resolved_at',
  'resolved_by', 'reply', 'return_reason', 'sla_policy_id', 'sla_started_at', 'sign_deadline', 'resolve_deadline',
  'deadline_version', 'warning_level', 'extension_until', 'extension_reason', 'extension_count', 'merged_into',
  'closed_at', 'satisfaction', 'reopen_count',
]);

/** What quickTransition found: the status before, and the updated case (null when the guard did not match). */
export interface QuickResult {
  oldStatus: string;
  oldDepartmentId: number | null;
  row: CaseRow | null;
}

export interface CaseFilter {
  statuses?: string[];
  departmentId?: number;
  signedBy?: number;
  overdueOnly?: boolean;
  /** Most pressing first: overdue (to sign or to resolve) first, then by resolve deadline. */
  byDeadline?: boolean;
  /** Cases signed by this user and not yet worked on (status signed) come first. */
  pinSignedBy?: number;
  limit: number;
  offset: number;
}

export function createCasesRepo(db: Db) {
  return {
    /** Next tracking number of today (China time): 114-YYYYMMDD-000123. The counter row serialises issuers. */
    async nextTrackingNo(tx: pg.PoolClient): Promise<string> {
      const { rows } = await db.query<{ day: string; last: number }>(
        `insert into case_counters (day, last) values ((now() at time zone 'Asia/Shanghai')::date, 1)
         on conflict (day) do update set last = case_counters.last + 1
         returning to_char(day, 'YYYYMMDD') as day, last`,
        [],
        tx,
      );
      const r = rows[0]!;
      return `114-${r.day}-${String(r.last).padStart(6, '0')}`;
    },

    async insertCase(
      c: {
        trackingNo: string;
        channel: string;
        callerId: number | null;
        contactName: string | null;
        contactPhone: string | null;
        categoryId: number | null;
        urgency: string;
        title: string;
        description: string;
        callId: string | null;
        createdBy: number;
      },
      tx: pg.PoolClient,
    ): Promise<number> {
      const { rows } = await db.query<{ id: number }>(
        `insert into cases (tracking_no, channel, status, caller_id, contact_name, contact_phone, category_id, urgency,
                            title, description, call_id, created_by)
         values ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id`,
        [c.trackingNo, c.channel, c.callerId, c.contactName, c.contactPhone, c.categoryId, c.urgency, c.title, c.description, c.callId, c.createdBy],
        tx,
      );
      return rows[0]!.id;
    },

    async addCalls(caseId: number, callIds: string[], tx: pg.PoolClient): Promise<void> {
      if (!callIds.length) return;
      await db.query(
        `insert into case_calls (case_id, call_id) select $1, unnest($2::uuid[]) on conflict do nothing`,
        [caseId, callIds],
        tx,
      );
    },

    /**
     * Waits at most DB_LOCK_TIMEOUT_MS for a row held elsewhere (then 55P03 → 503 resource_busy). Not NOWAIT: SLA
     * timers and transitions hold case rows for milliseconds, and a person should not get 503 for that.
     */
    async lock(caseId: number, tx: pg.PoolClient): Promise<LockedCase | null> {
      const { rows } = await db.query<LockedCase>(
        `select id, tracking_no, status, urgency, category_id, department_id, dispatch_no, deadline_version,
                sla_started_at, resolve_deadline, contact_phone
           from cases where id = $1 for update`,
        [caseId],
        tx,
      );
      return rows[0] ?? null;
    },

    async update(caseId: number, fields: Record<string, unknown>, tx: pg.PoolClient): Promise<void> {
      const cols = Object.keys(fields);
      for (const c of cols) if (!UPDATABLE.has(c)) throw new Error(`cases.${c} is not updatable`);
      const sets = cols.map((c, i) => `${c} = $${i + 2}`);
      await db.query(
        `update cases set ${[...sets, 'updated_at = now()'].join(', ')} where id = $1`,
        [caseId, ...cols.map((c) => fields[c])],
        tx,
      );
    },

    /**
     * A transition in one statement (one round trip, autocommit): lock the row, update it when its status is one of
     * `from` (and the department / dispatch number match when given), append the history row, return the case.
     * Used on the hot paths (claim, progress, resolve); null when the case does not exist.
     */
    async quickTransition(p: {
      caseId: number;
      from: readonly string[];
      to: string;
      set: Record<string, unknown>;
      departmentId: number | null;
      dispatchNo: number | null;
      actorId: number | null;
      action: string;
      note: string | null;
      detail: unknown;
    }): Promise<QuickResult | null> {
      const cols = Object.keys(p.set);
      for (const c of cols) if (!UPDATABLE.has(c)) throw new Error(`cases.${c} is not updatable`);
      const sets = cols.map((c, i) => `${c} = $${i + 10}`);
      const { rows } = await db.query<CaseRow & { old_status: string; old_department_id: number | null }>(
        `with c as (
           select id, status, department_id, dispatch_no from cases where id = $1 for update
         ), u as (
           update cases s set ${['status = $2', ...sets, 'updated_at = now()'].join(', ')}
             from c
            where s.id = c.id and c.status = any($3::text[])
              and ($4::int is null or c.department_id = $4)
              and ($5::int is null or c.dispatch_no = $5)
           returning s.*
         ), e as (
           insert into case_events (case_id, actor_id, action, from_status, to_status, note, detail)
           select c.id, $6, $7, c.status, $2, $8, $9::jsonb from c where exists (select 1 from u)
         )
         select c.status as old_status, c.department_id as old_department_id, x.*
           from c left join (${CASE_SELECT.replace('from cases s', 'from u s')}) x on true`,
        [
          p.caseId, p.to, p.from, p.departmentId, p.dispatchNo, p.actorId, p.action, p.note,
          p.detail === undefined ? null : JSON.stringify(p.detail), ...cols.map((c) => p.set[c]),
        ],
      );
      const r = rows[0];
      if (!r) return null;
      const { old_status: oldStatus, old_department_id: oldDepartmentId, ...row } = r;
      return { oldStatus, oldDepartmentId, row: row.id === null ? null : (row as CaseRow) };
    },

    async insertEvent(
      e: { caseId: number; actorId: number | null; action: string; from: string | null; to: string; note?: string | null; detail?: unknown },
      tx: pg.PoolClient,
    ): Promise<void> {
      await db.query(
        `insert into case_events (case_id, actor_id, action, from_status, to_status, note, detail)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [e.caseId, e.actorId, e.action, e.from, e.to, e.note ?? null, e.detail === undefined ? null : JSON.stringify(e.detail)],
        tx,
      );
    },

    /**
     * 并单 bookkeeping: the surviving case takes the merged case's calls, the contacts it had taken over, and its
     * own resident as a contact owed a callback — unless that is the surviving case's own resident.
     */
    async moveToSurvivor(fromId: number, toId: number, tx: pg.PoolClient) {
      const calls = await db.query<{ call_id: string }>(
        `insert into case_calls (case_id, call_id) select $2, call_id from case_calls where case_id = $1
         on conflict do nothing returning call_id::text`,
        [fromId, toId],
        tx,
      );
      await db.query(
        `update case_contacts c set case_id = $2 where c.case_id = $1
            and not exists (select 1 from case_contacts x where x.case_id = $2 and x.from_case_id = c.from_case_id)`,
        [fromId, toId],
        tx,
      );
      await db.query(
        `insert into case_contacts (case_id, from_case_id, name, phone, caller_id)
         select $2, f.id, f.contact_name, f.phone, f.caller_id
           from (select id, contact_name, caller_id,
                        coalesce(nullif(contact_phone, ''), (select number from callers where id = cases.caller_id)) as phone
                   from cases where id = $1) f,
                (select caller_id, coalesce(nullif(contact_phone, ''), (select number from callers where id = cases.caller_id)) as phone
                   from cases where id = $2) t
          where (f.phone is not null or f.caller_id is not null or f.contact_name is not null)
            and not (f.phone is not distinct from t.phone and f.caller_id is not distinct from t.caller_id)
         on conflict (case_id, from_case_id) do nothing`,
        [fromId, toId],
        tx,
      );
      const contacts = await db.query<{ id: number; name: string | null; phone: string | null; from_case_id: number }>(
        `select id, name, phone, from_case_id from case_contacts where case_id = $1 order by id`,
        [toId],
        tx,
      );
      const from = await db.query<{ description: string }>(`select description from cases where id = $1`, [fromId], tx);
      const notes = await db.query<{ at: Date; note: string }>(
        `select at, note from case_events where case_id = $1 and note is not null order by id`,
        [fromId],
        tx,
      );
      return {
        description: from.rows[0]?.description ?? '',
        callIds: calls.rows.map((r) => r.call_id),
        contacts: contacts.rows.map((r) => ({ id: r.id, name: r.name, phone: r.phone, fromCaseId: r.from_case_id })),
        notes: notes.rows.map((r) => ({ at: r.at.toISOString(), note: r.note })),
      };
    },

    async find(caseId: number, tx?: pg.PoolClient): Promise<CaseRow | null> {
      const { rows } = await db.query<CaseRow>(`${CASE_SELECT} where s.id = $1`, [caseId], tx);
      return rows[0] ?? null;
    },

    async events(caseId: number): Promise<CaseEventRow[]> {
      const { rows } = await db.query<CaseEventRow>(
        `select e.id, e.at, e.actor_id, u.display_name as actor_name, e.action, e.from_status, e.to_status, e.note, e.detail
           from case_events e left join users u on u.id = e.actor_id
          where e.case_id = $1 order by e.id`,
        [caseId],
      );
      return rows;
    },

    async list(f: CaseFilter): Promise<CaseRow[]> {
      const { rows } = await db.query<CaseRow>(
        `${CASE_SELECT}
          where ($1::text[] is null or s.status = any($1))
            and ($2::int is null or s.department_id = $2)
            and ($3::int is null or s.signed_by = $3)
            and (not $4 or (s.status in ('dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested')
                            and (s.resolve_deadline < now()
                                 or (s.status in ('dispatched', 'reopened') and s.sign_deadline < now()))))
          order by ${f.pinSignedBy !== undefined ? `(s.status = 'signed' and s.signed_by = $7) desc, ` : ''}${f.overdueOnly ? 's.resolve_deadline, s.id' : f.byDeadline ? BY_DEADLINE : 's.updated_at desc, s.id desc'}
          limit $5 offset $6`,
        [f.statuses ?? null, f.departmentId ?? null, f.signedBy ?? null, f.overdueOnly ?? false, f.limit, f.offset, ...(f.pinSignedBy !== undefined ? [f.pinSignedBy] : [])],
      );
      return rows;
    },

    async department(code: string, tx?: pg.PoolClient): Promise<{ id: number; code: string; name: string; active: boolean } | null> {
      const { rows } = await db.query<{ id: number; code: string; name: string; active: boolean }>(
        `select id, code, name, active from departments where code = $1`,
        [code],
        tx,
      );
      return rows[0] ?? null;
    },

    async departmentById(id: number, tx?: pg.PoolClient): Promise<{ id: number; code: string; name: string } | null> {
      const { rows } = await db.query<{ id: number; code: string; name: string }>(
        `select id, code, name from departments where id = $1`,
        [id],
        tx,
      );
      return rows[0] ?? null;
    },

    async categoryExists(id: number, tx?: pg.PoolClient): Promise<boolean> {
      const { rows } = await db.query(`select 1 from categories where id = $1`, [id], tx);
      return rows.length > 0;
    },

    async callForCase(callId: string, tx?: pg.PoolClient) {
      const { rows } = await db.query<{
        id: string;
        caller_number: string;
        caller_id: number | null;
        caller_name: string | null;
        category_id: number | null;
      }>(
        `select k.id, k.caller_number, coalesce(k.caller_id, cl.id) as caller_id, coalesce(cl.name, k.caller_name) as caller_name,
                k.category_id
           from calls k left join callers cl on cl.id = k.caller_id or (k.caller_id is null and cl.number = k.caller_number)
          where k.id = $1
          limit 1`,
        [callId],
        tx,
      );
      return rows[0] ?? null;
    },

    async callNotes(callId: string, tx?: pg.PoolClient) {
      const { rows } = await db.query<{ id: number; content: string; category_id: number | null; author_name: string; created_at: Date }>(
        `select n.id, n.content, n.category_id, u.display_name as author_name, n.created_at
           from call_notes n join users u on u.id = n.author_id
          where n.call_id = $1 order by n.id`,
        [callId],
        tx,
      );
      return rows;
    },

    async existingCalls(callIds: string[], tx?: pg.PoolClient): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(`select id::text as id from calls where id = any($1::uuid[])`, [callIds], tx);
      return rows.map((r) => r.id);
    },
  };
}

export type CasesRepo = ReturnType<typeof createCasesRepo>;
