// SQL for the dispatcher's work queue (待派单): cases waiting for a department (drafts from calls, web and Open311
// requests, returned tickets) with, for each, the department that past dispatches of the same category — in the
// same place first — went to.
import type { Db } from '../infra/db';

export interface WaitingRow {
  id: number;
  tracking_no: string;
  channel: string;
  status: string;
  urgency: 'normal' | 'urgent';
  title: string;
  description: string;
  category_id: number | null;
  category_name: string | null;
  contact_name: string | null;
  contact_phone: string | null;
  place: string | null;
  address: string | null;
  return_reason: string | null;
  returned_by_department: string | null;
  created_at: Date;
  updated_at: Date;
  suggested_code: string | null;
  suggested_name: string | null;
  suggested_count: number | null;
  suggested_same_place: number | null;
  total: number;
}

// The place of a case: the caller's district, else the district named at the start of a web request's address.
const PLACE = (caller: string, intake: string) =>
  `coalesce(nullif(${caller}.district, ''), substring(${intake}.address from '^([^区县市]{1,6}[区县])'))`;

export function createDispatchRepo(db: Db) {
  return {
    async waiting(limit: number, offset: number): Promise<WaitingRow[]> {
      const { rows } = await db.query<WaitingRow>(
        `with w as (
           select s.id, s.tracking_no, s.channel, s.status, s.urgency, s.title, s.description, s.category_id,
                  cat.name as category_name, s.contact_name, s.contact_phone, s.return_reason, s.created_at, s.updated_at,
                  case when s.status = 'returned' then s.department_id end as returned_by_id,
                  ${PLACE('cl', 'i')} as place,
                  coalesce(i.address, nullif(concat_ws(' ', cl.district, cl.address), '')) as address
             from cases s
             left join categories cat on cat.id = s.category_id
             left join intake_requests i on i.case_id = s.id
             left join callers cl on cl.id = s.caller_id
            where s.status in ('draft', 'returned')
         )
         select w.*, rd.name as returned_by_department, count(*) over ()::int as total,
                sug.code as suggested_code, sug.name as suggested_name, sug.n as suggested_count, sug.same_place as suggested_same_place
           from w
           left join departments rd on rd.id = w.returned_by_id
           left join lateral (
             select d.code, d.name, count(*)::int as n,
                    count(*) filter (where w.place is not null and ${PLACE('hc', 'hi')} = w.place)::int as same_place
               from cases h
               join departments d on d.id = h.department_id
               left join intake_requests hi on hi.case_id = h.id
               left join callers hc on hc.id = h.caller_id
              where w.category_id is not null and h.category_id = w.category_id and h.dispatch_no > 0 and h.id <> w.id
                and h.status not in ('returned', 'merged') and d.active
                and (w.returned_by_id is null or h.department_id <> w.returned_by_id)
              group by d.code, d.name
              order by same_place desc, n desc, d.code
              limit 1
           ) sug on true
          order by (w.urgency = 'urgent') desc, w.created_at, w.id
          limit $1 offset $2`,
        [limit, offset],
      );
      return rows;
    },
  };
}
