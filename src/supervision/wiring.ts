// Wires issue 5 for app.ts: the live board and listen/whisper/barge (src/supervision), recordings, the missed-call
// callback list and click-to-call (src/missed), KPIs (src/reports) and Prometheus metrics (src/metrics).
// Routes are registered at once (they answer 503 while telephony is absent); call control is attached later.
import type { Config } from '../config';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';
import type { FastifyTypeBox } from '../http/types';
import type { LiveAuth } from '../http/live-auth';
import type { AgentService } from '../agents/service';
import type { AgentRepo } from '../agents/repo';
import type { Presence } from '../agents/presence';
import type { CallService } from '../calls/service';
import type { OutboundDialler } from '../calls/dialler';
import type { CallRepo } from '../calls/repo';
import type { CallSwitch } from '../telephony/switch';
import type { AmiClient } from '../telephony/ami';
import type { PlaceCall } from '../callbacks/service';
import { SupervisionService, presenceOf } from './service';
import { supervisionRoutes } from './routes';
import { LivePublisher, readLive } from './live';
import { RegistrationWatcher } from './registration';
import { RecordingService } from '../recordings/service';
import { recordingRoutes } from '../recordings/routes';
import { MissedRepo } from '../missed/repo';
import { MissedService } from '../missed/service';
import { missedRoutes } from '../missed/routes';
import { ReportsRepo } from '../reports/repo';
import { ReportsService } from '../reports/service';
import { createTopicAggregator, type TopicAggregator } from '../reports/topics';
import { reportRoutes } from '../reports/routes';
import { Metrics } from '../metrics/metrics';
import { metricsRoutes } from '../metrics/routes';

export interface Supervision {
  metrics: Metrics;
  service: SupervisionService;
  missed: MissedService;
  reports: ReportsService;
  /** Hot topics' daily aggregate (a job in every process; one at a time does the work). */
  topics: TopicAggregator;
  recordings: RecordingService;
  /** The outbound dialler of this process's call control (null while telephony is off). */
  dialer: OutboundDialler | null;
  /** Call control is up on this process: board publisher, spying, recordings, click-to-call. */
  attachCalls(o: { sw: CallSwitch; calls: CallService; callRepo: CallRepo }): { placeCall: PlaceCall };
  attachAmi(o: { ami: AmiClient; presence: Presence }): void;
  close(): Promise<void>;
}

/** Metrics first (its HTTP hook should see every route), before the other routes are registered. */
export function createMetrics(fastify: FastifyTypeBox, logger: Logger): Metrics {
  const metrics = new Metrics(logger);
  metrics.registerHttpHook(fastify);
  return metrics;
}

export function createSupervision(o: {
  config: Config;
  db: Db;
  redis: Redis;
  logger: Logger;
  fastify: FastifyTypeBox;
  auth: LiveAuth;
  agents: AgentService;
  agentRepo: AgentRepo;
  metrics: Metrics;
}): Supervision {
  const { config, db, redis, fastify } = o;
  const logger = o.logger.child({ component: 'supervision' });
  const settings = config.supervision;
  const service = new SupervisionService({
    db,
    redis,
    agents: o.agents,
    agentRepo: o.agentRepo,
    nodeId: config.calls.nodeId,
    timezone: settings.reportTimezone,
    logger,
  });
  const recordings = new RecordingService(db);
  const missed = new MissedService(db, new MissedRepo(db), config.calls.agentEndpointTemplate, config.resilience.callbackPromiseMaxAgeMin);
  const reports = new ReportsService(new ReportsRepo(db), { timezone: settings.reportTimezone, serviceLevelSec: settings.serviceLevelSec });
  const topics = createTopicAggregator({ db, timezone: settings.reportTimezone, logger });
  topics.start();
  const metrics = o.metrics;

  supervisionRoutes(fastify, service, o.auth);
  recordingRoutes(fastify, recordings);
  missedRoutes(fastify, missed);
  reportRoutes(fastify, reports);
  metricsRoutes(fastify, metrics, settings.metricsToken);

  metrics.sources.cluster = async () => {
    const nodes = await readLive(redis);
    const now = Date.now();
    return {
      active: nodes.reduce((a, n) => a + n.active, 0),
      waiting: nodes.reduce((a, n) => a + n.waiting, 0),
      longestWaitMs: nodes.reduce((m, n) => Math.max(m, n.longestWaitMs > 0 ? n.longestWaitMs + (now - n.at) : 0), 0),
    };
  };
  metrics.sources.agents = async () => {
    const board = await o.agents.board();
    const states: Record<string, number> = { offline: 0, ready: 0, paused: 0, reserved: 0, busy: 0, wrap_up: 0 };
    const presence: Record<string, number> = { available: 0, in_use: 0, ringing: 0, unavailable: 0, unknown: 0 };
    for (const a of board) {
      states[a.state] = (states[a.state] ?? 0) + 1;
      if (a.state !== 'offline') presence[presenceOf(a.device)] = (presence[presenceOf(a.device)] ?? 0) + 1;
    }
    return { states, presence };
  };

  let publisher: LivePublisher | null = null;
  let dialer: OutboundDialler | null = null;
  let registration: RegistrationWatcher | null = null;

  const sup: Supervision = {
    metrics,
    service,
    missed,
    reports,
    topics,
    recordings,
    get dialer() {
      return dialer;
    },
    attachCalls({ sw, calls, callRepo }) {
      service.attachCalls(calls, sw);
      recordings.setSwitch(sw);
      metrics.sources.local = () => calls.stats();
      metrics.sources.backlog = () => callRepo.backlog;
      metrics.sources.ari = () => sw.isUp;
      publisher = new LivePublisher(redis, config.calls.nodeId, calls, settings.publishMs, logger);
      publisher.start();
      dialer = calls.dialler;
      missed.setDialer(dialer);
      const d = dialer;
      metrics.sources.callbacks = () => d.active;
      // 回访 click-to-call of issue 3 (callbacks.setPlaceCall): the same agent-first dialler.
      const placeCall: PlaceCall = async (agentEndpoint, residentNumber) => {
        const placed = await d.place({ agentEndpoint, number: residentNumber, kind: 'case' });
        return { callId: placed.callId };
      };
      return { placeCall };
    },
    attachAmi({ ami, presence }) {
      service.attachAmi(ami);
      metrics.sources.ami = () => ami.isUp;
      registration = new RegistrationWatcher(ami, presence, redis, logger);
      registration.start();
    },
    async close() {
      registration?.stop();
      dialer = null;
      missed.setDialer(null);
      await publisher?.stop();
      await topics.stop();
    },
  };
  return sup;
}
