// A BullMQ job written to the outbox table in the same transaction as the change that causes it (a dispatched case,
// an SLA timer), so nothing is enqueued that PostgreSQL does not have, and nothing is lost.
export interface OutboxMessage {
  queue: string;
  jobName: string;
  jobId: string;
  data: unknown;
  priority: number;
  /** Delayed job: added with delay = runAt - now (0 when already past). */
  runAt?: Date | null;
}
