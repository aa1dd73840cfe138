// Transactional outbox → BullMQ. Rows are written in the transaction that causes them (dispatch, reopen,
// extension); the relay adds them to their queue and marks them sent. Several processes may relay at once:
// rows are claimed with FOR UPDATE SKIP LOCKED, and jobIds make a repeated add (crash between add and commit)
// a no-op. Redis down → the rows wait; they go out on the next attempt after the connection is ready again.
import { Queue } from 'bullmq';
import type pg from 'pg';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { OutboxMessage } from '../infra/jobs';

export type { OutboxMessage } from '../infra/jobs';


interface OutboxRow {
  id: number;
  queue: string;
  job_name: string;
  job_id: string;
  data: unknown;
  priority: number;
  run_at: Date | null;
}

/** BullMQ options of an outbox job (the relay and the rebuild add jobs the same way). */
export function jobOptions(m: { jobId: string; priority: number; runAt?: Date | null }, keepCompletedSec = 14 * 86_400, now = Date.now()) {
  return {
    jobId: m.jobId,
    priority: m.priority,
    delay: m.runAt ? Math.max(0, m.runAt.getTime() - now) : undefined,
    // Timers retry when PostgreSQL is briefly down; transfer jobs are completed by hand and never fail.
    attempts: 5,
    backoff: { type: 'exponential' as const, delay: 5000 },
    removeOnComplete: { age: keepCompletedSec },
    removeOnFail: { age: keepCompletedSec * 2 },
  };
}

export async function enqueue(db: Db, tx: pg.PoolClient, msgs: OutboxMessage[]): Promise<void> {
  if (!msgs.length) return;
  await db.query(
    `insert into outbox (queue, job_name, job_id, data, priority, run_at)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::timestamptz[])`,
    [
      msgs.map((m) => m.queue),
      msgs.map((m) => m.jobName),
      msgs.map((m) => m.jobId),
      msgs.map((m) => JSON.stringify(m.data)),
      msgs.map((m) => m.priority),
      msgs.map((m) => m.runAt ?? null),
    ],
    tx,
  );
}

export interface RelayOptions {
  db: Db;
  /** Producer connection: fail fast (no offline queue), no keyPrefix (BullMQ has its own prefix). */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Safety-net poll; the happy path is woken right after commit. */
  pollMs?: number;
  batchSize?: number;
  addTimeoutMs?: number;
  /** Keep completed jobs this long: a repeated add of the same jobId stays a no-op meanwhile. */
  keepCompletedSec?: number;
}

export class OutboxRelay {
  private readonly queues = new Map<string, Queue>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private wanted = false;
  private stopped = false;
  private readonly onReady = () => this.wake();
  /** Rows sent by this relay (tests and metrics). */
  sent = 0;
  failures = 0;

  constructor(private readonly o: RelayOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs ?? 5000);
    this.timer.unref();
    this.o.connection.on('ready', this.onReady);
    this.wake();
  }

  /** Run the relay now (or again right after the current run). Never throws. */
  wake(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no run is in progress (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      let n: number;
      try {
        n = await this.relayOnce();
      } catch (err) {
        this.failures += 1;
        this.o.logger.warn({ err }, 'outbox relay failed; rows stay pending');
        return; // retried on the next poll or when Redis is ready again
      }
      if (n === (this.o.batchSize ?? 200)) this.wanted = true;
    }
  }

  /** One batch: returns how many rows were sent; 0 when Redis is not ready or nothing is pending. */
  async relayOnce(): Promise<number> {
    if (this.o.connection.status !== 'ready') return 0;
    const { db } = this.o;
    const result = await db.withTransaction(async (tx) => {
      const { rows } = await db.query<OutboxRow>(
        `select id, queue, job_name, job_id, data, priority, run_at from outbox
          where sent_at is null order by id limit $1 for update skip locked`,
        [this.o.batchSize ?? 200],
        tx,
      );
      if (!rows.length) return { sent: 0, error: null };
      const ids = rows.map((r) => r.id);
      try {
        await this.addAll(rows);
      } catch (err) {
        // Committed with the attempt count; the rows stay pending for the next run.
        const message = err instanceof Error ? err.message : String(err);
        await db.query(`update outbox set attempts = attempts + 1, last_error = $2 where id = any($1)`, [ids, message.slice(0, 500)], tx);
        return { sent: 0, error: err };
      }
      await db.query(`update outbox set sent_at = now(), attempts = attempts + 1, last_error = null where id = any($1)`, [ids], tx);
      return { sent: rows.length, error: null };
    });
    if (result.error) throw result.error;
    this.sent += result.sent;
    return result.sent;
  }

  private async addAll(rows: OutboxRow[]): Promise<void> {
    const now = Date.now();
    const keep = this.o.keepCompletedSec ?? 14 * 86_400;
    const adds = rows.map((r) =>
      this.queue(r.queue).add(r.job_name, r.data, jobOptions({ jobId: r.job_id, priority: r.priority, runAt: r.run_at }, keep, now)),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis add timed out')), this.o.addTimeoutMs ?? 5000);
    });
    try {
      await Promise.race([Promise.all(adds), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.o.connection, prefix: this.o.prefix });
      q.on('error', (err) => this.o.logger.warn({ err: err.message, queue: name }, 'outbox queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /** A Queue handle on the same connection (summaries, tests). */
  queueFor(name: string): Queue {
    return this.queue(name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.o.connection.off('ready', this.onReady);
    await this.running?.catch(() => undefined);
    const qs = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(qs.map((q) => q.close().catch(() => undefined)));
  }
}
