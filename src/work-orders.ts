// Wires work orders (src/cases, src/departments, src/sla, src/callbacks) for app.ts: Redis connections for
// BullMQ, the outbox relay, the SLA timer worker, the claim workers, the services and their routes.
// It stands above all four (callbacks build on cases, cases on departments), so none of them imports another upward.
import type { Config } from './config';
import type { Db } from './infra/db';
import type { Logger } from './infra/logger';
import { createBlockingRedis, createRedis, type Redis } from './infra/redis';
import { settledWithin } from './infra/wait';
import type { FastifyTypeBox } from './http/types';
import { OutboxRelay } from './cases/outbox';
import { createCaseRebuild, type CaseRebuildStats } from './cases/rebuild';
import { createCasesService, toCaseDto, type CasesService } from './cases/service';
import { caseRoutes } from './cases/routes';
import { bullPrefix, ClaimWorkers } from './departments/queue';
import { createDepartmentsService, type DepartmentsService } from './departments/service';
import { departmentRoutes } from './departments/routes';
import { createSlaPolicy, type SlaPolicy } from './sla/policy';
import { createSlaTimers, startTimerWorker, type SlaTimers } from './sla/timers';
import { createCallbacksService, type CallbacksService, type PlaceCall } from './callbacks/service';
import { callbackRoutes } from './callbacks/routes';
import type { SmsGateway } from './notify/sms';

export interface WorkOrders {
  cases: CasesService;
  departments: DepartmentsService;
  callbacks: CallbacksService;
  sla: SlaPolicy;
  timers: SlaTimers;
  relay: OutboxRelay;
  claimWorkers: ClaimWorkers;
  /** BullMQ key prefix of this app (REDIS_PREFIX + ':bull'). */
  bullPrefix: string;
  /** Re-creates missing transfer jobs and SLA timers from PostgreSQL (run by the app's Rebuilder). */
  rebuild(): Promise<CaseRebuildStats>;
  close(): Promise<void>;
}

export function createWorkOrders(o: {
  config: Config;
  db: Db;
  logger: Logger;
  placeCall?: PlaceCall | null;
  relayPollMs?: number;
  timerWorker?: boolean;
  sms?: SmsGateway | null;
}): WorkOrders {
  const { config, db } = o;
  const logger = o.logger.child({ component: 'work-orders' });
  const prefix = bullPrefix(config.redisPrefix);
  // Producer: fails fast while Redis is down (the outbox keeps the rows). Workers: maxRetriesPerRequest null.
  const producer = createRedis(config.redisUrl, logger);
  const workerConn = createBlockingRedis(config.redisUrl, logger);

  const relay = new OutboxRelay({ db, connection: producer, prefix, logger, pollMs: o.relayPollMs ?? 5000 });
  const sla = createSlaPolicy({ db });
  const timers = createSlaTimers({ db, logger });
  const claimWorkers = new ClaimWorkers(workerConn, prefix, logger);

  const cases = createCasesService({
    db,
    sla,
    logger,
    wake: () => relay.wake(),
    sms: o.sms ?? null,
    removeJob: async (queue, jobId) => {
      if (producer.status === 'ready') await relay.queueFor(queue).remove(jobId);
    },
  });
  const departments = createDepartmentsService({
    db,
    cases: {
      find: async (caseId) => {
        const row = await cases.repo.find(caseId);
        return row && toCaseDto(row);
      },
      list: async (filter) => (await cases.repo.list(filter)).map(toCaseDto),
      signFromQueue: cases.signFromQueue,
    },
    workers: claimWorkers,
    logger,
    claimRetryWindowSec: config.resilience.claimRetryWindowSec,
    queueDepth: async (queue) => {
      if (producer.status !== 'ready') return null;
      const counts = await relay.queueFor(queue).getJobCounts('wait', 'prioritized');
      return (counts.wait ?? 0) + (counts.prioritized ?? 0);
    },
  });
  const callbacks = createCallbacksService({
    db,
    cases,
    logger,
    agentEndpointTemplate: config.calls.agentEndpointTemplate,
    placeCall: o.placeCall ?? null,
  });

  let closing: Promise<void> | null = null;
  relay.start();
  // The timer worker starts once Redis is reachable (a Worker created against a dead Redis cannot be closed cleanly).
  let timerWorker: ReturnType<typeof startTimerWorker> | null = null;
  const startTimers = () => {
    if (!timerWorker && !closing) timerWorker = startTimerWorker({ connection: workerConn, prefix, timers, logger });
  };
  if (o.timerWorker !== false) workerConn.once('ready', startTimers);

  const close = () =>
    (closing ??= (async () => {
      workerConn.off('ready', startTimers);
      await relay.stop();
      // With Redis unreachable a Worker's close() waits for a connection that never comes: cut it first and bound
      // the wait (nothing is lost: jobs stay in Redis, the outbox in PostgreSQL).
      const redisUp = workerConn.status === 'ready';
      if (!redisUp) workerConn.disconnect();
      const w = timerWorker as ReturnType<typeof startTimerWorker> | null;
      await bounded(
        Promise.all([w?.close(!redisUp).catch(() => undefined), claimWorkers.close()]),
        redisUp ? 10_000 : 1000,
      );
      await Promise.all([quit(producer), quit(workerConn)]);
    })());

  const rebuild = createCaseRebuild({ db, relay, connection: producer, prefix, logger });

  return { cases, departments, callbacks, sla, timers, relay, claimWorkers, bullPrefix: prefix, rebuild, close };
}

export function workOrderRoutes(fastify: FastifyTypeBox, w: WorkOrders): void {
  caseRoutes(fastify, w.cases);
  departmentRoutes(fastify, w.departments);
  callbackRoutes(fastify, w.callbacks);
}

/** Waits for `p` at most `ms`; a rejection within that time still throws. */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  if (await settledWithin(p, ms)) await p;
}

async function quit(r: Redis): Promise<void> {
  if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
  else r.disconnect();
}
