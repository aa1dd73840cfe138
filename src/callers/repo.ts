// SQL for caller records, their call history and the screen-pop lookup.
import type { Db } from '../infra/db';
import type { KeysetPosition } from '../http/schemas';

export interface CallerRow {
  id: number;
  number: string;
  name: string | null;
  gender: 'male' | 'female' | 'unknown' | null;
  address: string | null;
  district: string | null;
  note: string | null;
  tags: string[];
  vip: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface CallerFields {
  name?: string | null;
  gender?: 'male' | 'female' | 'unknown' | null;
  address?: string | null;
  district?: string | null;
  note?: string | null;
  tags?: string[];
  vip?: boolean;
}

/** A call as listed in histories; timestamps arrive as Date, cursor_ts is started_at as PostgreSQL prints it. */
export interface CallSummaryRow {
  id: string;
  direction: 'inbound' | 'outbound';
  caller_number: string;
  caller_name: string | null;
  caller_id: number | null;
  state: string;
  outcome: string | null;
  agent_id: number | null;
  agent_name: string | null;
  started_at: Date;
  answered_at: Date | null;
  connected_at: Date | null;
  ended_at: Date | null;
  wait_ms: number | null;
  talk_ms: number | null;
  hangup_by: string | null;
  category_id: number | null;
  category_name: string | null;
  resolved_on_phone: boolean | null;
  note_count: number;
  cursor_ts: string;
}

/** Shared by every call listing (callers' history here, agents' and search in src/calls/notes-repo.ts). */
export const CALL_SUMMARY_SELECT = `
  select k.id, k.direction, k.caller_number, k.caller_name, k.caller_id, k.state, k.outcome, k.agent_id,
         u.display_name as agent_name, k.started_at, k.answered_at, k.connected_at, k.ended_at, k.wait_ms,
         k.talk_ms, k.hangup_by, k.category_id, cat.name as category_name, k.resolved_on_phone,
         (select count(*) from call_notes n where n.call_id = k.id)::int as note_count,
         k.started_at::text as cursor_ts
    from calls k
    left join agents a on a.id = k.agent_id
    left join users u on u.id = a.user_id
    left join categories cat on cat.id = k.category_id`;

const CALLER_COLUMNS = 'id, number, name, gender, address, district, note, tags, vip, created_at, updated_at';

/** Raw JSON rows of the screen-pop query (timestamps as ISO text with offset). */
export interface ScreenPopRow {
  caller: (Omit<CallerRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string }) | null;
  recent_calls: {
    id: string;
    started_at: string;
    outcome: string | null;
    agent_name: string | null;
    category: string | null;
    note_excerpt: string | null;
  }[];
  open_cases: {
    id: number;
    tracking_no: string;
    status: string;
    title: string;
    department_name: string | null;
    created_at: string;
  }[];
}

// One round trip: caller, last 5 calls (with agent, category, latest note) and open cases, as JSON.
const SCREEN_POP_SQL = `
  with c as (
    select ${CALLER_COLUMNS} from callers where number = $1
  ), rc as (
    select k.id, k.started_at, k.outcome, u.display_name as agent_name, cat.name as category,
           case when length(n.content) > 80 then left(n.content, 80) || '…' else n.content end as note_excerpt
      from calls k
      left join agents a on a.id = k.agent_id
      left join users u on u.id = a.user_id
      left join lateral (
        select content, category_id from call_notes where call_id = k.id order by id desc limit 1
      ) n on true
      left join categories cat on cat.id = coalesce(k.category_id, n.category_id)
     where k.caller_number = $1 and ($2::uuid is null or k.id <> $2::uuid)
     order by k.started_at desc, k.id desc
     limit 5
  ), oc as (
    select s.id, s.tracking_no, s.status, s.title, d.name as department_name, s.created_at
      from cases s
      left join departments d on d.id = s.department_id
     where (s.caller_id = (select id from c) or s.contact_phone = $1)
       and s.status not in ('resolved', 'closed', 'merged')
     order by s.created_at desc
     limit 20
  )
  select (select row_to_json(c) from c) as caller,
         coalesce((select json_agg(rc order by rc.started_at desc, rc.id desc) from rc), '[]'::json) as recent_calls,
         coalesce((select json_agg(oc order by oc.created_at desc) from oc), '[]'::json) as open_cases`;

export function createCallersRepo(db: Db) {
  return {
    async screenPop(number: string, excludeCallId: string | null): Promise<ScreenPopRow> {
      const { rows } = await db.query<ScreenPopRow & Record<string, unknown>>({ name: 'screen_pop', text: SCREEN_POP_SQL }, [number, excludeCallId]);
      return rows[0]!;
    },

    async findByNumber(number: string): Promise<CallerRow | null> {
      const { rows } = await db.query<CallerRow>(`select ${CALLER_COLUMNS} from callers where number = $1`, [number]);
      return rows[0] ?? null;
    },

    async findById(id: number): Promise<CallerRow | null> {
      const { rows } = await db.query<CallerRow>(`select ${CALLER_COLUMNS} from callers where id = $1`, [id]);
      return rows[0] ?? null;
    },

    /** null when the number already has a record. */
    async insert(number: string, f: CallerFields): Promise<CallerRow | null> {
      const { rows } = await db.query<CallerRow>(
        `insert into callers (number, name, gender, address, district, note, tags, vip)
         values ($1, $2, $3, $4, $5, $6, coalesce($7::text[], '{}'), coalesce($8::boolean, false))
         on conflict (number) do nothing
         returning ${CALLER_COLUMNS}`,
        [number, f.name ?? null, f.gender ?? null, f.address ?? null, f.district ?? null, f.note ?? null, f.tags ?? null, f.vip ?? null],
      );
      return rows[0] ?? null;
    },

    async update(id: number, f: CallerFields): Promise<CallerRow | null> {
      const sets: string[] = [];
      const params: unknown[] = [id];
      const cols: (keyof CallerFields)[] = ['name', 'gender', 'address', 'district', 'note', 'tags', 'vip'];
      for (const col of cols) {
        if (f[col] === undefined) continue;
        params.push(f[col]);
        sets.push(`${col} = $${params.length}`);
      }
      sets.push('updated_at = now()');
      const { rows } = await db.query<CallerRow>(
        `update callers set ${sets.join(', ')} where id = $1 returning ${CALLER_COLUMNS}`,
        params,
      );
      return rows[0] ?? null;
    },

    /** Calls from a number, newest first, after the keyset position. */
    async callsByNumber(number: string, after: KeysetPosition | null, limit: number): Promise<CallSummaryRow[]> {
      const { rows } = await db.query<CallSummaryRow>(
        `${CALL_SUMMARY_SELECT}
          where k.caller_number = $1
            and ($2::timestamptz is null or (k.started_at, k.id) < ($2::timestamptz, $3::uuid))
          order by k.started_at desc, k.id desc
          limit $4`,
        [number, after?.ts ?? null, after?.id ?? null, limit],
      );
      return rows;
    },
  };
}

export type CallersRepo = ReturnType<typeof createCallersRepo>;
