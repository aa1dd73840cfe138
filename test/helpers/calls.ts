// Direct SQL fixtures for call records (the call service writes them in production).
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/infra/db';

export async function insertCall(
  db: Db,
  c: { callerNumber: string; agentId?: number | null; startedAt: Date; outcome?: string | null; id?: string; callerId?: number | null },
): Promise<string> {
  const id = c.id ?? randomUUID();
  const ended = new Date(c.startedAt.getTime() + 60_000);
  await db.query(
    `insert into calls (id, node_id, channel_id, caller_number, caller_id, state, outcome, agent_id, started_at,
                        answered_at, connected_at, ended_at, wait_ms, talk_ms, hangup_by)
     values ($1, 'test-node', $2, $3, $4, 'ended', $5, $6, $7, $7, $7, $8, 1500, 58000, 'caller')`,
    [id, `chan-${id.slice(0, 8)}`, c.callerNumber, c.callerId ?? null, c.outcome === undefined ? 'answered' : c.outcome, c.agentId ?? null, c.startedAt, ended],
  );
  return id;
}

export async function insertCase(
  db: Db,
  c: { trackingNo: string; status: string; callerId?: number | null; contactPhone?: string | null; title: string; departmentId?: number | null; createdAt?: Date },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into cases (tracking_no, channel, status, caller_id, contact_phone, title, description, department_id, created_at)
     values ($1, 'phone', $2, $3, $4, $5, $5, $6, coalesce($7, now())) returning id`,
    [c.trackingNo, c.status, c.callerId ?? null, c.contactPhone ?? null, c.title, c.departmentId ?? null, c.createdAt ?? null],
  );
  return rows[0]!.id;
}
