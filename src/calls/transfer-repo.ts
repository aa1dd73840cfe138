// One-key transfer (一键转接) and 110 linkage: where a transfer goes, and its record in call_transfers.
import type { Db } from '../infra/db';
import { DepartmentNoPhoneError, DepartmentNotFoundError } from './errors';

export type TransferMode = 'blind' | 'three_way';
export type TransferTarget = { departmentCode: string } | { number: string } | { police: true };

export interface ResolvedTarget {
  type: 'department' | 'number' | 'police';
  departmentId: number | null;
  /** What people read: the department's name, the number, or 110. */
  label: string;
  dialString: string;
}

export interface Transfer {
  id: number | null;
  mode: TransferMode;
  target: ResolvedTarget;
  channelId: string;
  startedAt: number;
  answered: boolean;
  /** Agent who asked: a failed blind transfer is offered back to them first. */
  agentId: number;
  timer: NodeJS.Timeout | null;
}

export class TransferRepo {
  constructor(private readonly db: Db) {}

  /** `dial` turns a number outside into a dial string (the outbound dialler's rule). */
  async resolve(target: TransferTarget, settings: { dial: (number: string) => string; policeNumber: string }): Promise<ResolvedTarget> {
    const { dial } = settings;
    if ('police' in target) {
      return { type: 'police', departmentId: null, label: settings.policeNumber, dialString: dial(settings.policeNumber) };
    }
    if ('number' in target) return { type: 'number', departmentId: null, label: target.number, dialString: dial(target.number) };
    const { rows } = await this.db.query<{ id: number; name: string; phone: string | null; sip_endpoint: string | null; active: boolean }>(
      'select id, name, phone, sip_endpoint, active from departments where code = $1',
      [target.departmentCode],
    );
    const d = rows[0];
    if (!d || !d.active) throw new DepartmentNotFoundError();
    const dialString = d.sip_endpoint || (d.phone ? dial(d.phone.replace(/[\s-]/g, '')) : null);
    if (!dialString) throw new DepartmentNoPhoneError(d.name);
    return { type: 'department', departmentId: d.id, label: d.name, dialString };
  }

  async start(callId: string, t: Transfer, requestedBy: number | null): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `insert into call_transfers (call_id, mode, target_type, department_id, target, dial_string, channel_id, requested_by, started_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
      [callId, t.mode, t.target.type, t.target.departmentId, t.target.label, t.target.dialString, t.channelId, requestedBy, new Date(t.startedAt)],
    );
    if (t.target.type === 'police') await this.db.query('update calls set emergency = true where id = $1', [callId]);
    return rows[0]!.id;
  }

  async answered(id: number): Promise<void> {
    await this.db.query('update call_transfers set answered_at = now() where id = $1', [id]);
  }

  async ended(id: number, result: 'answered' | 'no_answer' | 'busy' | 'failed' | 'cancelled'): Promise<void> {
    await this.db.query('update call_transfers set ended_at = now(), result = coalesce(result, $2) where id = $1 and ended_at is null', [id, result]);
  }

  /** After a restart: the live, answered transfer leg of a call, rebuilt from its record. */
  async adopt(channelId: string, agentId: number): Promise<Transfer> {
    const { rows } = await this.db.query<{ id: number; mode: TransferMode; target_type: ResolvedTarget['type']; department_id: number | null; target: string; dial_string: string; started_at: Date }>(
      'select id, mode, target_type, department_id, target, dial_string, started_at from call_transfers where channel_id = $1',
      [channelId],
    );
    const r = rows[0];
    return {
      id: r?.id ?? null,
      mode: r?.mode ?? 'blind',
      target: { type: r?.target_type ?? 'number', departmentId: r?.department_id ?? null, label: r?.target ?? '', dialString: r?.dial_string ?? '' },
      channelId,
      startedAt: r?.started_at.getTime() ?? Date.now(),
      answered: true,
      agentId,
      timer: null,
    };
  }

  async endForChannel(channelId: string, result: 'answered' | 'no_answer' | 'busy' | 'failed' | 'cancelled'): Promise<void> {
    await this.db.query('update call_transfers set ended_at = now(), result = coalesce(result, $2) where channel_id = $1 and ended_at is null', [channelId, result]);
  }

  async forCall(callId: string): Promise<Record<string, unknown>[]> {
    const { rows } = await this.db.query(
      `select t.id, t.mode, t.target_type as "targetType", t.target, d.code as "departmentCode", t.started_at as "startedAt",
              t.answered_at as "answeredAt", t.ended_at as "endedAt", t.result
       from call_transfers t left join departments d on d.id = t.department_id where t.call_id = $1 order by t.id`,
      [callId],
    );
    return rows;
  }
}
