// BullMQ naming and the manual-fetch workers department staff claim tickets through.
// Queue `transfer-<department code>`, jobId `case-<id>-d<dispatchNo>` (no ':' and not integer-like, so BullMQ
// accepts it and a repeated add is a no-op), priority from the resolve deadline (every job gets one: a job without a
// priority would be fetched before priority 1).
import { Worker, type Job } from 'bullmq';
import type { Redis } from '../infra/redis';
import type { Logger } from '../infra/logger';

export interface TransferJobData {
  caseId: number;
  dispatchNo: number;
  trackingNo: string;
  urgency: 'normal' | 'urgent';
  departmentCode: string;
}

export const TRANSFER_JOB = 'transfer';

export function transferQueueName(departmentCode: string): string {
  return `transfer-${departmentCode}`;
}

export function transferJobId(caseId: number, dispatchNo: number): string {
  return `case-${caseId}-d${dispatchNo}`;
}

export function urgencyPriority(urgency: string): number {
  return urgency === 'urgent' ? 1 : 5;
}

const PRIORITY_EPOCH = Date.UTC(2026, 0, 1);
const PRIORITY_STEP_MS = 5 * 60_000;
const PRIORITY_MAX = 2_097_152; // BullMQ's largest priority

/**
 * The job priority of a ticket: its resolve deadline in 5-minute steps since 2026-01-01 (lower = sooner), so
 * 签收下一件 takes the ticket due first — an overdue one before one due next week, urgent ones (2 h) before
 * 3-working-day ones — and tickets due in the same 5 minutes in dispatch order. Lasts until about 2045.
 */
export function deadlinePriority(resolveDeadline: Date | null): number {
  if (!resolveDeadline) return PRIORITY_MAX;
  const step = Math.floor((resolveDeadline.getTime() - PRIORITY_EPOCH) / PRIORITY_STEP_MS) + 1;
  return Math.min(PRIORITY_MAX, Math.max(1, step));
}

/** The BullMQ key prefix of an app: its Redis prefix + ':bull' (each test app gets its own). */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}:bull`;
}

/**
 * One manual-fetch Worker per department queue, created on first use and shared by every claim of this process.
 * The connection is ours (maxRetriesPerRequest: null, as Workers require); callers check it is ready first, so
 * a request never waits for a reconnect. Manual fetching has no lock renewal: jobs are completed within
 * milliseconds of the fetch, and the stalled-check timer puts a job back if this process dies in between.
 */
export class ClaimWorkers {
  private readonly workers = new Map<string, Worker<TransferJobData>>();
  private closed = false;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  get ready(): boolean {
    return this.connection.status === 'ready' && !this.closed;
  }

  get(departmentCode: string): Worker<TransferJobData> {
    let w = this.workers.get(departmentCode);
    if (!w) {
      w = new Worker<TransferJobData>(transferQueueName(departmentCode), null, {
        connection: this.connection,
        prefix: this.prefix,
        autorun: false,
        lockDuration: 30_000,
        stalledInterval: 30_000,
        // A ticket must never be dropped: a job that stalled often is still signed for (PostgreSQL decides).
        maxStalledCount: 1_000_000,
      });
      w.on('error', (err) => this.logger.warn({ err: err.message, queue: transferQueueName(departmentCode) }, 'claim worker error'));
      void w.startStalledCheckTimer().catch((err: unknown) => this.logger.warn({ err }, 'stalled check timer failed'));
      this.workers.set(departmentCode, w);
    }
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(all.map((w) => w.close(true).catch(() => undefined)));
  }
}

export type TransferJob = Job<TransferJobData>;
