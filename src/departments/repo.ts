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
