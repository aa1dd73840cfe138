// queue_callbacks: keep-my-place places (虚拟排队) and after-hours callback requests — promises to call a resident back,
// not the 回访 follow-up of work orders (src/callbacks) nor the outbound dialler (dialler.ts).
import type { Db } from '../infra/db';

export interface KeepPlaceRow {
  id: number;
  call_id: string;
  number: string;
  node_id: string;
  skill: string | null;
  kind: 'keep_place' | 'after_hours';
  position_at: Date;
  status: string;
}

export class KeepPlaceRepo {
  constructor(private readonly db: Db) {}

  async request(r: { callId: string; number: string; nodeId: string; skill: string | null; kind: 'keep_place' | 'after_hours'; positionAt: Date }): Promise<number> {
    // The original call and the request commit together: a caller told "we will call you back" is never lost.
    const { rows } = await this.db.query<{ id: number }>(
      `with q as (
         insert into queue_callbacks (call_id, number, node_id, skill, kind, position_at, status)
         values ($1, $2, $3, $4, $5, $6, $7) returning id)
       update calls set callback_requested = true, callback_id = (select id from q) where id = $1 returning (select id from q) as id`,
      [r.callId, r.number, r.nodeId, r.skill, r.kind, r.positionAt, r.kind === 'keep_place' ? 'waiting' : 'manual'],
    );
    return rows[0]!.id;
  }

  /** Atomically takes a waiting callback; false if another process (or a previous run) already did. */
  async claim(id: number, agentId: number, callbackCallId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `update queue_callbacks set status = 'dialing', claimed_at = now(), attempts = attempts + 1, agent_id = $2, callback_call_id = $3
       where id = $1 and status = 'waiting'`,
      [id, agentId, callbackCallId],
    );
    return rowCount === 1;
  }

  async finish(id: number, status: 'connected' | 'failed' | 'done'): Promise<void> {
    await this.db.query(`update queue_callbacks set status = $2, finished_at = case when $2 = 'connected' then null else now() end where id = $1`, [id, status]);
  }

  async waiting(nodeId: string): Promise<KeepPlaceRow[]> {
    const { rows } = await this.db.query<KeepPlaceRow & Record<string, unknown>>(
      `select id, call_id, number, node_id, skill, kind, position_at, status from queue_callbacks
       where node_id = $1 and status = 'waiting' order by position_at, id`,
      [nodeId],
    );
    return rows;
  }

  /**
   * After a restart: callbacks claimed by the previous run may or may not have rung the resident. They are not
   * fired again (at most once); they go to the list agents work by hand.
   */
  async interruptDialing(nodeId: string, except: number[]): Promise<number> {
    const { rowCount } = await this.db.query(
      `update queue_callbacks set status = 'interrupted', finished_at = now()
       where node_id = $1 and status = 'dialing' and not (id = any($2::bigint[]))`,
      [nodeId, except],
    );
    return rowCount ?? 0;
  }
}
