// SQL for a department's view of its tickets: summary counts and notices (warnings, 督办).
import type { Db } from '../infra/db';

export interface SummaryRow {
  waiting: number;
  signed: number;
  in_progress: number;
  extension_requested: number;
  overdue: number;
  sign_overdue: number;
  yellow: number;
  red: number;
}

export interface NoticeRow {
  id: number;
  case_id: number;
  tracking_no: string;
  kind: string;
  deadline_version: number;
  message: string;
  created_at: Date;
  read_at: Date | null;
}

const OPEN = `('dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested')`;

export function createDepartmentsRepo(db: Db) {
  return {
    /** The case a claim with this Idempotency-Key signed for this user (any status: same key, same answer). */
    async claimedWithKey(userId: number, key: string): Promise<number | null> {
      const { rows } = await db.query<{ case_id: number }>(`select case_id from ticket_claims where user_id = $1 and idem_key = $2`, [userId, key]);
      return rows[0]?.case_id ?? null;
    },

    /** The ticket this user claimed within the window and has not worked on yet (still 签收, not progressed). */
    async recentUntouchedClaim(userId: number, departmentId: number, windowSec: number): Promise<number | null> {
      const { rows } = await db.query<{ case_id: number }>(
        `select t.case_id from ticket_claims t join cases s on s.id = t.case_id
          where t.user_id = $1 and t.created_at > now() - make_interval(secs => $3::float8)
            and s.status = 'signed' and s.signed_by = $1 and s.department_id = $2
          order by t.id desc limit 1`,
        [userId, departmentId, windowSec],
      );
      return rows[0]?.case_id ?? null;
    },

    async recordClaim(userId: number, key: string | null, caseId: number): Promise<void> {
      await db.query(`insert into ticket_claims (user_id, idem_key, case_id) values ($1, $2, $3) on conflict do nothing`, [userId, key, caseId]);
    },

    async department(code: string): Promise<{ id: number; code: string; name: string; active: boolean } | null> {
      const { rows } = await db.query<{ id: number; code: string; name: string; active: boolean }>(
        { name: 'dept_by_code', text: `select id, code, name, active from departments where code = $1` },
        [code],
      );
      return rows[0] ?? null;
    },

    async summary(departmentId: number): Promise<SummaryRow> {
      const { rows } = await db.query<SummaryRow>(
        `select count(*) filter (where status in ('dispatched', 'reopened'))::int as waiting,
                count(*) filter (where status = 'signed')::int as signed,
                count(*) filter (where status in ('in_progress', 'extension_requested'))::int as in_progress,
                count(*) filter (where status = 'extension_requested')::int as extension_requested,
                count(*) filter (where resolve_deadline < now())::int as overdue,
                count(*) filter (where status in ('dispatched', 'reopened') and sign_deadline < now())::int as sign_overdue,
                count(*) filter (where warning_level = 'yellow')::int as yellow,
                count(*) filter (where warning_level = 'red')::int as red
           from cases where department_id = $1 and status in ${OPEN}`,
        [departmentId],
      );
      return rows[0]!;
    },

    async notices(departmentId: number, unreadOnly: boolean, limit: number, offset: number): Promise<NoticeRow[]> {
      const { rows } = await db.query<NoticeRow>(
        `select n.id, n.case_id, s.tracking_no, n.kind, n.deadline_version, n.message, n.created_at, n.read_at
           from case_notices n join cases s on s.id = n.case_id
          where n.department_id = $1 and (not $2 or n.read_at is null)
          order by n.created_at desc, n.id desc limit $3 offset $4`,
        [departmentId, unreadOnly, limit, offset],
      );
      return rows;
    },

    async markNoticeRead(departmentId: number, noticeId: number): Promise<boolean> {
      const { rowCount } = await db.query(
        `update case_notices set read_at = coalesce(read_at, now()) where id = $1 and department_id = $2`,
        [noticeId, departmentId],
      );
      return (rowCount ?? 0) > 0;
    },
  };
}

export type DepartmentsRepo = ReturnType<typeof createDepartmentsRepo>;
