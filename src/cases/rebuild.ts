// Work-order state in Redis rebuilt from PostgreSQL (DESIGN §2: Redis is derived). Run whenever Redis becomes
// ready and by a periodic sweep; safe to run in several processes at once:
//  - every case waiting in a department queue (dispatched / reopened) has its transfer job, under the same
//    deterministic jobId (a job that still exists — waiting, being claimed, or completed — is left alone);
//  - a job in a department queue for a case that no longer waits there (recalled, signed directly, re-dispatched
//    elsewhere) is removed, so a case is never in two queues and the queue length matches PostgreSQL;
//  - every open case has its SLA timers of its current deadline version at their original due times; a timer
//    already due that has not fired (no notice yet) is added with no delay and fires once (notices are unique
//    per case, kind and version); a due timer whose job failed (PostgreSQL was down for all its attempts) is retried.
import type { Job } from 'bullmq';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { redisReady, type Redis } from '../infra/redis';
import { jobOptions, type OutboxMessage, type OutboxRelay } from './outbox';
import { QUEUED_STATUSES, OPEN_STATUSES } from '../case-model/status';
import { TRANSFER_JOB, deadlinePriority, transferJobId, transferQueueName, type TransferJobData } from '../departments/queue';
import { SLA_QUEUE, timerJobId, type TimerData, type TimerKind } from '../sla/timers';

interface OpenCase {
  id: number;
  tracking_no: string;
  status: string;
  urgency: 'normal' | 'urgent';
  dispatch_no: number;
  deadline_version: number;
  department_id: number;
  department_code: string;
  sla_started_at: Date | null;
  sign_deadline: Date | null;
  resolve_deadline: Date | null;
  supervise_after: number;
  fired: string[];
}

export interface CaseRebuildStats {
  openCases: number;
  waitingCases: number;
  transferJobsAdded: number;
  staleJobsRemoved: number;
  timersAdded: number;
  timersRetried: number;
}

const NOTICE_OF: Record<TimerKind, string> = { sign: 'sign_overdue', yellow: 'yellow', red: 'red', supervise: 'supervise' };
const BATCH = 500;

/** The timers an open case should have now, at their original due times (what planTimers made, plus overdue ones). */
function wantedTimers(c: OpenCase): { kind: TimerKind; at: Date }[] {
  if (!c.resolve_deadline || !c.sla_started_at) return [];
  const start = c.sla_started_at.getTime();
  const deadline = c.resolve_deadline.getTime();
  const out: { kind: TimerKind; at: Date }[] = [];
  if (c.sign_deadline && QUEUED_STATUSES.includes(c.status as never)) out.push({ kind: 'sign', at: c.sign_deadline });
  if (!c.fired.includes('red')) out.push({ kind: 'yellow', at: new Date(start + 0.75 * (deadline - start)) });
  out.push({ kind: 'red', at: c.resolve_deadline }, { kind: 'supervise', at: new Date(deadline + Number(c.supervise_after) * (deadline - start)) });
  return out.filter((t) => !c.fired.includes(NOTICE_OF[t.kind]));
}

export function createCaseRebuild(deps: {
  db: Db;
  relay: OutboxRelay;
  /** The relay's producer connection (no keyPrefix). */
  connection: Redis;
  /** BullMQ prefix (REDIS_PREFIX + ':bull'). */
  prefix: string;
  logger: Logger;
}) {
  const { db, relay, connection, prefix } = deps;
  const log = deps.logger.child({ component: 'case-rebuild' });
  const jobKey = (queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`;

  async function existing(msgs: OutboxMessage[]): Promise<boolean[]> {
    if (!msgs.length) return [];
    const pipe = connection.pipeline();
    for (const m of msgs) pipe.exists(jobKey(m.queue, m.jobId));
    const res = (await pipe.exec()) ?? [];
    return msgs.map((_, i) => {
      const [err, n] = res[i] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return n === 1;
    });
  }

  async function addMissing(msgs: OutboxMessage[]): Promise<void> {
    const byQueue = new Map<string, OutboxMessage[]>();
    for (const m of msgs) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m]);
    const now = Date.now();
    for (const [queue, list] of byQueue) {
      await relay.queueFor(queue).addBulk(list.map((m) => ({ name: m.jobName, data: m.data, opts: jobOptions(m, undefined, now) })));
    }
  }

  /** Missing transfer jobs and SLA timers of open cases, in id order, a batch at a time. */
  async function restoreJobs(stats: CaseRebuildStats): Promise<void> {
    let after = 0;
    for (;;) {
      const { rows } = await db.query<OpenCase>(
        `select s.id, s.tracking_no, s.status, s.urgency, s.dispatch_no, s.deadline_version, s.department_id,
                d.code as department_code, s.sla_started_at, s.sign_deadline, s.resolve_deadline,
                coalesce(p.supervise_after, 0) as supervise_after,
                array(select n.kind from case_notices n where n.case_id = s.id and n.deadline_version = s.deadline_version) as fired
           from cases s
           join departments d on d.id = s.department_id
           left join sla_policies p on p.id = s.sla_policy_id
          where s.status = any($1::text[]) and s.id > $2
          order by s.id limit $3`,
        [OPEN_STATUSES, after, BATCH],
      );
      if (!rows.length) return;
      after = rows[rows.length - 1]!.id;
      stats.openCases += rows.length;
      const wanted: (OutboxMessage & { due?: number })[] = [];
      for (const c of rows) {
        if (QUEUED_STATUSES.includes(c.status as never)) {
          stats.waitingCases += 1;
          const data: TransferJobData = { caseId: c.id, dispatchNo: c.dispatch_no, trackingNo: c.tracking_no, urgency: c.urgency, departmentCode: c.department_code };
          wanted.push({ queue: transferQueueName(c.department_code), jobName: TRANSFER_JOB, jobId: transferJobId(c.id, c.dispatch_no), data, priority: deadlinePriority(c.resolve_deadline) });
        }
        for (const t of wantedTimers(c)) {
          wanted.push({
            queue: SLA_QUEUE,
            jobName: t.kind,
            jobId: timerJobId(c.id, c.deadline_version, t.kind),
            data: { caseId: c.id, kind: t.kind, version: c.deadline_version } satisfies TimerData,
            priority: c.urgency === 'urgent' ? 1 : 5,
            runAt: t.at,
            due: t.at.getTime(),
          });
        }
      }
      const present = await existing(wanted);
      const missing = wanted.filter((_, i) => !present[i]);
      await addMissing(missing);
      for (const m of missing) {
        if (m.queue === SLA_QUEUE) stats.timersAdded += 1;
        else stats.transferJobsAdded += 1;
      }
      // A due, unfired timer whose job exists but failed for good: try it again.
      const now = Date.now();
      const stuck = wanted.filter((m, i) => present[i] && m.queue === SLA_QUEUE && m.due !== undefined && m.due <= now);
      for (const m of stuck) {
        const job = (await relay.queueFor(SLA_QUEUE).getJob(m.jobId)) as Job | undefined;
        if (job && (await job.isFailed())) {
          await job.retry('failed');
          stats.timersRetried += 1;
        }
      }
    }
  }

  /** Jobs in department queues for cases that no longer wait there. */
  async function removeStale(stats: CaseRebuildStats): Promise<void> {
    const { rows: depts } = await db.query<{ id: number; code: string }>(`select id, code from departments`);
    for (const d of depts) {
      const q = relay.queueFor(transferQueueName(d.code));
      for (let start = 0; ; start += BATCH) {
        const jobs = (await q.getJobs(['prioritized', 'wait', 'delayed'], start, start + BATCH - 1, true)) as Job<TransferJobData>[];
        const valid = jobs.filter((j) => j && Number.isInteger(j.data?.caseId));
        if (!valid.length) break;
        const { rows } = await db.query<{ id: number; dispatch_no: number }>(
          `select id, dispatch_no from cases where id = any($1::bigint[]) and department_id = $2 and status = any($3::text[])`,
          [valid.map((j) => j.data.caseId), d.id, QUEUED_STATUSES],
        );
        const current = new Set(rows.map((r) => `${r.id}-${r.dispatch_no}`));
        const stale = valid.filter((j) => !current.has(`${j.data.caseId}-${j.data.dispatchNo}`));
        for (const j of stale) {
          // A job being claimed this instant is locked and cannot be removed: the claim skips it anyway.
          await j.remove().then(() => (stats.staleJobsRemoved += 1), () => undefined);
        }
        if (jobs.length < BATCH) break;
        start -= stale.length; // removed jobs shift the next page
      }
    }
  }

  return async function rebuildCases(): Promise<CaseRebuildStats> {
    await redisReady(connection, 5000);
    const stats: CaseRebuildStats = { openCases: 0, waitingCases: 0, transferJobsAdded: 0, staleJobsRemoved: 0, timersAdded: 0, timersRetried: 0 };
    await restoreJobs(stats);
    await removeStale(stats);
    if (stats.transferJobsAdded || stats.timersAdded || stats.staleJobsRemoved || stats.timersRetried) log.info(stats, 'work-order jobs rebuilt from PostgreSQL');
    return stats;
  };
}
