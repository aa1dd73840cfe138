// SQL for call notes (通话小结) and the call record views built around them.
import type pg from 'pg';
import type { Db } from '../infra/db';
import type { KeysetPosition } from '../http/schemas';
import { CALL_SUMMARY_SELECT, type CallSummaryRow } from '../callers/repo';

export interface NoteRow {
  id: number;
  call_id: string;
  agent_id: number | null;
  author_id: number;
  author_name: string;
  category_id: number | null;
  category_name: string | null;
  content: string;
  resolved: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface CallDetailRow extends CallSummaryRow {
  node_id: string;
  channel_id: string;
  agent_channel_id: string | null;
  bridge_id: string | null;
  skill: string | null;
  offer_count: number;
  queued_at: Date | null;
  offered_at: Date | null;
  hangup_cause: string | null;
  recording_name: string | null;
}

export interface OfferRow {
  id: number;
  agent_id: number;
  agent_name: string | null;
  channel_id: string | null;
  offered_at: Date;
  ended_at: Date | null;
  result: string | null;
}

export interface EventRow {
  id: number;
  at: Date;
  from_state: string | null;
  to_state: string;
  detail: unknown;
}

export interface CallFilter {
  agentId?: number;
  callerNumber?: string;
  from?: string;
  to?: string;
}

const NOTE_SELECT = `
  select n.id, n.call_id, n.agent_id, n.author_id, u.display_name as author_name, n.category_id,
         c.name as category_name, n.content, n.resolved, n.created_at, n.updated_at
    from call_notes n
    join users u on u.id = n.author_id
    left join categories c on c.id = n.category_id`;

export function createNotesRepo(db: Db) {
  return {
    /** The call's agent, locked so concurrent note writes update the call summary one after the other. */
    async lockCall(callId: string, tx: pg.PoolClient): Promise<{ id: string; agent_id: number | null } | null> {
      const { rows } = await db.query<{ id: string; agent_id: number | null }>(
        `select id, agent_id from calls where id = $1 for update`,
        [callId],
        tx,
      );
      return rows[0] ?? null;
    },

    async categoryExists(id: number, tx?: pg.PoolClient): Promise<boolean> {
      const { rows } = await db.query(`select 1 from categories where id = $1`, [id], tx);
      return rows.length > 0;
    },

    async insertNote(
      n: { callId: string; agentId: number | null; authorId: number; categoryId: number | null; content: string; resolved: boolean },
      tx: pg.PoolClient,
    ): Promise<number> {
      const { rows } = await db.query<{ id: number }>(
        `insert into call_notes (call_id, agent_id, author_id, category_id, content, resolved)
         values ($1, $2, $3, $4, $5, $6) returning id`,
        [n.callId, n.agentId, n.authorId, n.categoryId, n.content, n.resolved],
        tx,
      );
      return rows[0]!.id;
    },

    async findNote(callId: string, noteId: number, tx?: pg.PoolClient): Promise<NoteRow | null> {
      const { rows } = await db.query<NoteRow>(`${NOTE_SELECT} where n.id = $1 and n.call_id = $2`, [noteId, callId], tx);
      return rows[0] ?? null;
    },

    async updateNote(
      noteId: number,
      f: { content?: string; categoryId?: number | null; resolved?: boolean },
      tx: pg.PoolClient,
    ): Promise<void> {
      await db.query(
        `update call_notes
            set content = coalesce($2, content),
                category_id = case when $3 then $4::int else category_id end,
                resolved = coalesce($5, resolved),
                updated_at = now()
          where id = $1`,
        [noteId, f.content ?? null, f.categoryId !== undefined, f.categoryId ?? null, f.resolved ?? null],
        tx,
      );
    },

    /** Carries what a note concluded onto the call record (only the fields given). */
    async updateCallSummary(
      callId: string,
      f: { categoryId?: number | null; resolved?: boolean },
      tx: pg.PoolClient,
    ): Promise<void> {
      if (f.categoryId === undefined && f.resolved === undefined) return;
      await db.query(
        `update calls
            set category_id = case when $2 then $3::int else category_id end,
                resolved_on_phone = coalesce($4, resolved_on_phone)
          where id = $1`,
        [callId, f.categoryId !== undefined, f.categoryId ?? null, f.resolved ?? null],
        tx,
      );
    },

    async callDetail(callId: string): Promise<CallDetailRow | null> {
      const select = CALL_SUMMARY_SELECT.replace(
        'select k.id,',
        `select k.node_id, k.channel_id, k.agent_channel_id, k.bridge_id, k.skill, k.offer_count, k.queued_at,
                k.offered_at, k.hangup_cause, k.recording_name, k.id,`,
      );
      const { rows } = await db.query<CallDetailRow>(`${select} where k.id = $1`, [callId]);
      return rows[0] ?? null;
    },

    async notes(callId: string): Promise<NoteRow[]> {
      const { rows } = await db.query<NoteRow>(`${NOTE_SELECT} where n.call_id = $1 order by n.id`, [callId]);
      return rows;
    },

    async offers(callId: string): Promise<OfferRow[]> {
      const { rows } = await db.query<OfferRow>(
        `select o.id, o.agent_id, u.display_name as agent_name, o.channel_id, o.offered_at, o.ended_at, o.result
           from call_offers o
           left join agents a on a.id = o.agent_id
           left join users u on u.id = a.user_id
          where o.call_id = $1 order by o.offered_at, o.id`,
        [callId],
      );
      return rows;
    },

    async events(callId: string): Promise<EventRow[]> {
      const { rows } = await db.query<EventRow>(
        `select id, at, from_state, to_state, detail from call_events where call_id = $1 order by id`,
        [callId],
      );
      return rows;
    },

    /** Calls matching the filter, newest first, after the keyset position. */
    async listCalls(f: CallFilter, after: KeysetPosition | null, limit: number): Promise<CallSummaryRow[]> {
      const { rows } = await db.query<CallSummaryRow>(
        `${CALL_SUMMARY_SELECT}
          where ($1::int is null or k.agent_id = $1)
            and ($2::text is null or k.caller_number = $2)
            and ($3::timestamptz is null or k.started_at >= $3)
            and ($4::timestamptz is null or k.started_at < $4)
            and ($5::timestamptz is null or (k.started_at, k.id) < ($5::timestamptz, $6::uuid))
          order by k.started_at desc, k.id desc
          limit $7`,
        [f.agentId ?? null, f.callerNumber ?? null, f.from ?? null, f.to ?? null, after?.ts ?? null, after?.id ?? null, limit],
      );
      return rows;
    },

    async agentExists(agentId: number): Promise<boolean> {
      const { rows } = await db.query(`select 1 from agents where id = $1`, [agentId]);
      return rows.length > 0;
    },
  };
}

export type NotesRepo = ReturnType<typeof createNotesRepo>;
