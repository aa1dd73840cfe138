// SLA limits (sla_policies) and deadlines. The matching policy with the lowest priority wins; a category matches
// itself or its parent (e.g. complaint-noise matches 'complaint'). Holidays are cached for a minute.
import type pg from 'pg';
import type { Db } from '../infra/db';
import { WorkCalendar, type DayKind } from './calendar';

export interface SlaPolicyRow {
  id: number;
  name: string;
  sign_minutes: number | null;
  sign_working_days: number | null;
  resolve_minutes: number | null;
  resolve_working_days: number | null;
  supervise_after: number;
}

export interface Deadlines {
  policyId: number | null;
  policyName: string;
  startedAt: Date;
  signDeadline: Date;
  resolveDeadline: Date;
  /** When a still-unresolved case gets the 督办 notice. */
  superviseAt: Date;
}

const FALLBACK: SlaPolicyRow = {
  id: 0,
  name: '默认：3 个工作日内办结',
  sign_minutes: null,
  sign_working_days: 1,
  resolve_minutes: null,
  resolve_working_days: 3,
  supervise_after: 0,
};

const POLICY_SQL = `
  select p.id, p.name, p.sign_minutes, p.sign_working_days, p.resolve_minutes, p.resolve_working_days, p.supervise_after
    from sla_policies p
   where p.active
     and (p.urgency is null or p.urgency = $1)
     and (p.category_code is null or p.category_code in (
           select c.code from categories c where c.id = $2
           union all
           select pc.code from categories c join categories pc on pc.id = c.parent_id where c.id = $2))
   order by p.priority, p.id
   limit 1`;

export function createSlaPolicy(deps: { db: Db; cacheMs?: number }) {
  const cacheMs = deps.cacheMs ?? 60_000;
  let cached: { at: number; cal: WorkCalendar } | null = null;

  async function calendar(tx?: pg.PoolClient): Promise<WorkCalendar> {
    if (cached && Date.now() - cached.at < cacheMs) return cached.cal;
    const { rows } = await deps.db.query<{ day: string; kind: DayKind }>(`select day::text as day, kind from holidays`, [], tx);
    const cal = new WorkCalendar(new Map(rows.map((r) => [r.day, r.kind])));
    cached = { at: Date.now(), cal };
    return cal;
  }

  async function policyFor(urgency: string, categoryId: number | null, tx?: pg.PoolClient): Promise<SlaPolicyRow> {
    const { rows } = await deps.db.query<SlaPolicyRow>(POLICY_SQL, [urgency, categoryId], tx);
    return rows[0] ?? FALLBACK;
  }

  /** Sign/resolve deadlines of a case dispatched (or reopened) at `start`. */
  async function deadlines(c: { urgency: string; categoryId: number | null }, start: Date, tx?: pg.PoolClient): Promise<Deadlines> {
    const [p, cal] = await Promise.all([policyFor(c.urgency, c.categoryId, tx), calendar(tx)]);
    const after = (minutes: number | null, days: number | null) =>
      minutes !== null ? new Date(start.getTime() + Number(minutes) * 60_000) : cal.addWorkingDays(start, days!);
    const signDeadline = after(p.sign_minutes, p.sign_working_days);
    const resolveDeadline = after(p.resolve_minutes, p.resolve_working_days);
    const limit = resolveDeadline.getTime() - start.getTime();
    return {
      policyId: p.id || null,
      policyName: p.name,
      startedAt: start,
      signDeadline,
      resolveDeadline,
      superviseAt: new Date(resolveDeadline.getTime() + Number(p.supervise_after) * limit),
    };
  }

  /** An extension of `days` working days from the current deadline. */
  async function extendByWorkingDays(from: Date, days: number, tx?: pg.PoolClient): Promise<Date> {
    return (await calendar(tx)).addWorkingDays(from, days);
  }

  return { calendar, policyFor, deadlines, extendByWorkingDays, invalidateCalendar: () => (cached = null) };
}

export type SlaPolicy = ReturnType<typeof createSlaPolicy>;
