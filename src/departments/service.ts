// The department side of work orders: queue summary, claim next (签收 through BullMQ manual fetching), ticket
// lists and notices. department_staff are bound to one department; supervisors, admins (and dispatchers, read
// only) may look at any department.
import { randomUUID } from 'node:crypto';
import type { AuthUser } from '../auth/types';
import type { Logger } from '../infra/logger';
import { BadRequestError, ForbiddenError, NotFoundError, ServiceUnavailableError } from '../infra/errors';
import type { CaseDto } from '../case-model/dto';
import { isStatus, OPEN_STATUSES, STATUSES } from '../case-model/status';
import { createDepartmentsRepo } from './repo';
import type { Db } from '../infra/db';
import { transferQueueName, type ClaimWorkers, type TransferJob, type TransferJobData } from './queue';

/**
 * The work orders a department pulls and works on. Direction rule: cases sit above departments (a dispatch enqueues
 * into a department's transfer queue), so departments reach cases only through this port; the wiring fills it in.
 */
export interface DepartmentCases {
  find(caseId: number): Promise<CaseDto | null>;
  list(filter: {
    statuses: string[];
    departmentId: number;
    signedBy?: number;
    byDeadline: boolean;
    pinSignedBy: number;
    limit: number;
    offset: number;
  }): Promise<CaseDto[]>;
  /** 签收 the case of a queued job; null when it was recalled, returned, signed or re-dispatched meanwhile. */
  signFromQueue(user: AuthUser, departmentId: number, job: TransferJobData): Promise<CaseDto | null>;
}

export interface SummaryDto {
  departmentCode: string;
  departmentName: string;
  waiting: number;
  signed: number;
  inProgress: number;
  extensionRequested: number;
  overdue: number;
  signOverdue: number;
  yellow: number;
  red: number;
  /** Jobs waiting in the BullMQ transfer queue (null while Redis is unreachable). */
  queued: number | null;
}

export interface NoticeDto {
  id: number;
  caseId: number;
  trackingNo: string;
  kind: string;
  deadlineVersion: number;
  message: string;
  createdAt: string;
  readAt: string | null;
}

const READERS = new Set(['supervisor', 'admin', 'dispatcher']);
const MAX_SKIPS = 100;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new ServiceUnavailableError(`${what}超时，请稍后再试`, 'queue_unavailable')), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

export function createDepartmentsService(deps: {
  db: Db;
  cases: DepartmentCases;
  workers: ClaimWorkers;
  /** Waiting-job count of a queue (null when Redis is unreachable). */
  queueDepth: (queue: string) => Promise<number | null>;
  logger: Logger;
  /** Without an Idempotency-Key, a claim this soon after the last one returns that ticket while it is untouched. */
  claimRetryWindowSec: number;
}) {
  const repo = createDepartmentsRepo(deps.db);

  // Departments change rarely: a short cache saves a round trip on every claim.
  const cache = new Map<string, { at: number; d: Awaited<ReturnType<typeof repo.department>> }>();
  async function lookup(code: string) {
    const hit = cache.get(code);
    if (hit && Date.now() - hit.at < 10_000) return hit.d;
    const d = await repo.department(code);
    if (cache.size > 1000) cache.clear();
    cache.set(code, { at: Date.now(), d });
    return d;
  }

  async function department(user: AuthUser, code: string, write: boolean) {
    const d = await lookup(code);
    if (!d) throw new NotFoundError(`部门 ${code} 不存在`, 'department_not_found');
    if (user.role === 'department_staff') {
      if (user.departmentId !== d.id) throw new ForbiddenError('只能查看和处理本部门的工单');
    } else if (write || !READERS.has(user.role)) {
      throw new ForbiddenError(write ? '只有本部门工作人员可以签收工单' : '无权查看该部门的工单');
    }
    return d;
  }

  async function summary(user: AuthUser, code: string): Promise<SummaryDto> {
    const d = await department(user, code, false);
    const [s, queued] = await Promise.all([repo.summary(d.id), deps.queueDepth(transferQueueName(d.code)).catch(() => null)]);
    return {
      departmentCode: d.code,
      departmentName: d.name,
      waiting: s.waiting,
      signed: s.signed,
      inProgress: s.in_progress,
      extensionRequested: s.extension_requested,
      overdue: s.overdue,
      signOverdue: s.sign_overdue,
      yellow: s.yellow,
      red: s.red,
      queued,
    };
  }

  // A user's claims run one at a time in this process, so a retry racing its original sees the original's result.
  const claiming = new Map<number, Promise<unknown>>();

  /** The ticket a retried claim already signed (same Idempotency-Key, or none and still untouched in the window). */
  async function previousClaim(user: AuthUser, departmentId: number, key: string | null): Promise<CaseDto | null> {
    const caseId = key
      ? await repo.claimedWithKey(user.id, key)
      : deps.claimRetryWindowSec > 0
        ? await repo.recentUntouchedClaim(user.id, departmentId, deps.claimRetryWindowSec)
        : null;
    if (caseId === null) return null;
    const c = await deps.cases.find(caseId);
    return c && c.departmentId === departmentId ? c : null;
  }

  /**
   * 签收 the next ticket: fetch the next job without blocking, record the signature in PostgreSQL, complete the
   * job. A job whose case was recalled, returned, signed directly or re-dispatched meanwhile is completed and
   * skipped. null = the queue is empty. If the signature fails the job goes back to the queue.
   * Idempotent: a claim whose answer was lost and is sent again (same Idempotency-Key; or without a key, by the
   * same person within CLAIM_RETRY_WINDOW_SEC while that ticket is still untouched) gets the ticket already signed.
   */
  async function claim(user: AuthUser, code: string, opts: { idempotencyKey?: string } = {}): Promise<{ ticket: CaseDto; replayed: boolean } | null> {
    const d = await department(user, code, true);
    const key = opts.idempotencyKey ?? null;
    const before = claiming.get(user.id) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(async () => {
      const previous = await previousClaim(user, d.id, key);
      if (previous) return { ticket: previous, replayed: true };
      const ticket = await claimNext(user, d);
      if (!ticket) return null;
      await repo.recordClaim(user.id, key, ticket.id).catch((err: unknown) => {
        // Signed already; only a later retry of this claim would sign a second ticket.
        deps.logger.warn({ err, caseId: ticket.id }, 'claim not recorded for retries');
      });
      return { ticket, replayed: false };
    });
    claiming.set(user.id, run);
    try {
      return await run;
    } finally {
      if (claiming.get(user.id) === run) claiming.delete(user.id);
    }
  }

  async function claimNext(user: AuthUser, d: { id: number; code: string }): Promise<CaseDto | null> {
    if (!deps.workers.ready) throw new ServiceUnavailableError('工单队列暂时不可用，请稍后再试', 'queue_unavailable');
    const worker = deps.workers.get(d.code);
    for (let i = 0; i < MAX_SKIPS; i++) {
      const token = randomUUID();
      const job = (await withTimeout(worker.getNextJob(token, { block: false }), 3000, '读取工单队列')) as TransferJob | undefined;
      if (!job) return null;
      if (job.deferredFailure) deps.logger.warn({ jobId: job.id }, 'transfer job stalled repeatedly; signing it anyway');
      let signed: CaseDto | null;
      try {
        signed = await deps.cases.signFromQueue(user, d.id, job.data);
      } catch (err) {
        await job.moveToWait(token).catch(() => undefined); // else the stalled check returns it
        throw err;
      }
      try {
        await job.moveToCompleted({ signed: !!signed, by: user.id }, token, false);
      } catch (err) {
        // Signed in PostgreSQL already: if the job comes back (stalled check) the next claim skips it.
        deps.logger.warn({ err, jobId: job.id }, 'could not complete transfer job');
      }
      if (signed) return signed;
    }
    return null;
  }

  function parseStatuses(raw: string[] | undefined): string[] {
    const list = (raw ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    for (const s of list) {
      if (!isStatus(s)) throw new BadRequestError(`未知的工单状态 ${s}，可选值：${STATUSES.join('、')}`, 'validation_failed');
    }
    return list.length ? list : [...OPEN_STATUSES];
  }

  async function tickets(
    user: AuthUser,
    code: string,
    input: { status?: string[]; mine?: boolean; limit: number; offset: number },
  ): Promise<CaseDto[]> {
    const d = await department(user, code, false);
    const statuses = parseStatuses(input.status);
    return deps.cases.list({
      statuses,
      departmentId: d.id,
      signedBy: input.mine ? user.id : undefined,
      byDeadline: true,
      // "Signed to me, not yet worked" first: a claim whose answer was lost shows up at the top.
      pinSignedBy: user.id,
      limit: input.limit,
      offset: input.offset,
    });
  }

  async function notices(user: AuthUser, code: string, input: { unreadOnly?: boolean; limit: number; offset: number }): Promise<NoticeDto[]> {
    const d = await department(user, code, false);
    const rows = await repo.notices(d.id, input.unreadOnly ?? false, input.limit, input.offset);
    return rows.map((n) => ({
      id: n.id,
      caseId: n.case_id,
      trackingNo: n.tracking_no,
      kind: n.kind,
      deadlineVersion: n.deadline_version,
      message: n.message,
      createdAt: n.created_at.toISOString(),
      readAt: n.read_at ? n.read_at.toISOString() : null,
    }));
  }

  async function markRead(user: AuthUser, code: string, noticeId: number): Promise<void> {
    const d = await department(user, code, true);
    if (!(await repo.markNoticeRead(d.id, noticeId))) throw new NotFoundError('通知不存在', 'notice_not_found');
  }

  return { summary, claim, tickets, notices, markRead };
}

export type DepartmentsService = ReturnType<typeof createDepartmentsService>;
