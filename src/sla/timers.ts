// SLA timers: delayed BullMQ jobs on one queue `sla-timers`, added through the outbox with the change that set
// the deadlines. jobId = sla-<case>-v<deadline version>-<kind>: a repeat is a no-op, and a deadline change (new
// version) makes older timers stale. Each handler checks the case in PostgreSQL first: a timer for a resolved
// case, or one of an older deadline version, does nothing.
import { Worker } from 'bullmq';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { OutboxMessage } from '../infra/jobs';
import { formatLocal } from './calendar';

export const SLA_QUEUE = 'sla-timers';
export const TIMER_KINDS = ['sign', 'yellow', 'red', 'supervise'] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

export interface TimerData {
  caseId: number;
  kind: TimerKind;
  version: number;
}

export type TimerOutcome = 'fired' | 'ignored';

const OPEN = ['dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested'];
const QUEUED = ['dispatched', 'reopened'];

export function timerJobId(caseId: number, version: number, kind: TimerKind): string {
  return `sla-${caseId}-v${version}-${kind}`;
}

/**
 * Timers for a deadline version: yellow at 75 % of the limit, red at the deadline, 督办 at superviseAt, and the
 * signing deadline when given. A yellow time already past (an extension late in the limit) is skipped.
 */
export function planTimers(
  c: { caseId: number; version: number; urgency: string },
  d: { startedAt: Date; resolveDeadline: Date; superviseAt: Date; signDeadline?: Date | null },
  now = new Date(),
): OutboxMessage[] {
  const priority = c.urgency === 'urgent' ? 1 : 5;
  const at: [TimerKind, Date][] = [];
  if (d.signDeadline) at.push(['sign', d.signDeadline]);
  const yellow = new Date(d.startedAt.getTime() + 0.75 * (d.resolveDeadline.getTime() - d.startedAt.getTime()));
  if (yellow.getTime() > now.getTime()) at.push(['yellow', yellow]);
  at.push(['red', d.resolveDeadline], ['supervise', d.superviseAt]);
  return at.map(([kind, runAt]) => ({
    queue: SLA_QUEUE,
    jobName: kind,
    jobId: timerJobId(c.caseId, c.version, kind),
    data: { caseId: c.caseId, kind, version: c.version } satisfies TimerData,
    priority,
    runAt,
  }));
}

interface TimerCase {
  id: number;
  tracking_no: string;
  status: string;
  department_id: number | null;
  deadline_version: number;
  sign_deadline: Date | null;
  resolve_deadline: Date | null;
}

export function createSlaTimers(deps: { db: Db; logger: Logger }) {
  const { db } = deps;

  async function handle(data: TimerData): Promise<TimerOutcome> {
    return db.withTransaction(async (tx) => {
      const { rows } = await db.query<TimerCase>(
        `select id, tracking_no, status, department_id, deadline_version, sign_deadline, resolve_deadline
           from cases where id = $1 for update`,
        [data.caseId],
        tx,
      );
      const c = rows[0];
      if (!c || c.deadline_version !== data.version) return 'ignored';
      if (!OPEN.includes(c.status)) return 'ignored';
      if (data.kind === 'sign' && !QUEUED.includes(c.status)) return 'ignored';
      const deadline = formatLocal((data.kind === 'sign' ? c.sign_deadline : c.resolve_deadline) ?? new Date());
      let kind: 'yellow' | 'red' | 'supervise' | 'sign_overdue';
      let message: string;
      switch (data.kind) {
        case 'sign':
          kind = 'sign_overdue';
          message = `【签收超时】工单 ${c.tracking_no} 未在时限（${deadline}）内签收，请立即签收。`;
          break;
        case 'yellow':
          kind = 'yellow';
          message = `【黄牌预警】工单 ${c.tracking_no} 已用去办理时限的 75%，办结时限为 ${deadline}，请抓紧办理。`;
          await db.query(`update cases set warning_level = coalesce(warning_level, 'yellow') where id = $1`, [c.id], tx);
          break;
        case 'red':
          kind = 'red';
          message = `【红牌超期】工单 ${c.tracking_no} 已超过办结时限（${deadline}），请立即办理。`;
          await db.query(`update cases set warning_level = 'red' where id = $1`, [c.id], tx);
          break;
        case 'supervise':
          kind = 'supervise';
          message = `【督办通知】工单 ${c.tracking_no} 超期未办结（办结时限 ${deadline}），请尽快办结并答复市民。`;
          break;
        default:
          return 'ignored';
      }
      const ins = await db.query(
        `insert into case_notices (case_id, department_id, kind, deadline_version, message)
         values ($1, $2, $3, $4, $5) on conflict do nothing`,
        [c.id, c.department_id, kind, c.deadline_version, message],
        tx,
      );
      if (!ins.rowCount) return 'ignored';
      if (kind === 'supervise' || kind === 'red') {
        await db.query(
          `insert into case_events (case_id, actor_id, action, from_status, to_status, note, detail)
           values ($1, null, $2, $3, $3, $4, $5)`,
          [c.id, kind === 'red' ? 'overdue' : 'supervise', c.status, message, JSON.stringify({ deadlineVersion: c.deadline_version })],
          tx,
        );
      }
      return 'fired';
    });
  }

  return { handle };
}

export type SlaTimers = ReturnType<typeof createSlaTimers>;

/** Processes the sla-timers queue in this process (every process may run one: handlers are idempotent). */
export function startTimerWorker(o: {
  connection: Redis;
  prefix: string;
  timers: SlaTimers;
  logger: Logger;
  concurrency?: number;
}): Worker<TimerData, TimerOutcome> {
  const w = new Worker<TimerData, TimerOutcome>(SLA_QUEUE, async (job) => o.timers.handle(job.data), {
    connection: o.connection,
    prefix: o.prefix,
    concurrency: o.concurrency ?? 4,
    removeOnComplete: { age: 7 * 86_400 },
    removeOnFail: { age: 30 * 86_400 },
  });
  w.on('error', (err) => o.logger.warn({ err: err.message }, 'sla timer worker error'));
  w.on('failed', (job, err) => o.logger.warn({ err: err.message, jobId: job?.id }, 'sla timer failed'));
  return w;
}
