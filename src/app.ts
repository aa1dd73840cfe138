// Composition root: creates the pools and clients once and wires every module. Only main.ts and the test helper
// import it. Order: migrations → PostgreSQL/Redis → Fastify plugins → routes → call control → ready.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config';
import { createDb, type Db } from './infra/db';
import { createLogger, type Logger } from './infra/logger';
import { migrate } from './infra/migrate';
import { createBlockingRedis, createRedis, type Redis } from './infra/redis';
import { Acd } from './agents/acd';
import { createAgentRebuild } from './agents/rebuild';
import { Rebuilder } from './infra/rebuild';
import { ScreenPopHub } from './agents/hub';
import { AgentRepo } from './agents/repo';
import { AgentService } from './agents/service';
import { agentRoutes } from './agents/routes';
import { Presence } from './agents/presence';
import { CallRepo } from './calls/repo';
import { CallService } from './calls/service';
import { TransferRepo } from './calls/transfer-repo';
import { KeepPlaceRepo } from './calls/keep-place-repo';
import { OutboundDialler } from './calls/dialler';
import { AgentRelease } from './agents/release';
import { createSlaPolicy } from './sla/policy';
import { callControlRoutes } from './calls/routes';
import { AriSwitch } from './telephony/ari';
import { AmiClient } from './telephony/ami';
import { errorHandler, notFoundHandler } from './http/errors';
import { registerAuth } from './http/auth';
import { registerRouteAccess } from './http/access';
import { onClientError, onFrameworkError, registerInputGuard } from './http/input-guard';
import { createHealth, healthRoutes, type Health } from './http/health';
import { registerRequestLogging, registerSecurityHeaders } from './http/hooks';
import { registerOpenApi } from './http/openapi';
import { registerOverloadShedding } from './http/overload';
import type { FastifyTypeBox } from './http/types';
import { createAuthService, type AuthService } from './auth/service';
import { authRoutes } from './auth/routes';
import { createSignIn, type SignInService } from './auth/signin';
import { createTickets } from './auth/tickets';
import { createRevocation } from './auth/revocation';
import { createOidc } from './auth/oidc';
import { sessionRoutes } from './auth/session-routes';
import { registerSessions } from './http/session';
import { createLiveAuth } from './http/live-auth';
import { createCallersService, type CallersService } from './callers/service';
import { callerRoutes } from './callers/routes';
import { createNotesService } from './calls/notes-service';
import { notesRoutes } from './calls/notes-routes';
import { createReferenceService } from './reference/service';
import { referenceRoutes } from './reference/routes';
import { createWorkOrders, workOrderRoutes, type WorkOrders } from './work-orders';
import { createSearchService, type SearchService } from './search/service';
import { searchRoutes } from './search/routes';
import { createKnowledgeService } from './knowledge/service';
import { knowledgeRoutes } from './knowledge/routes';
import { createIntakeService, type IntakeService } from './intake/service';
import { intakeRoutes } from './intake/routes';
import { open311Routes } from './intake/open311-routes';
import { DEFAULT_PUBLIC_LIMITS, registerPublicRateLimit } from './intake/rate-limit';
import { createMetrics, createSupervision, type Supervision } from './supervision/wiring';
import { webRoutes } from './web/routes';
import { dispatchRoutes } from './dispatch/routes';
import { createSmsGateway } from './notify/sms';
import { createDispatchService } from './dispatch/service';

export interface App {
  fastify: FastifyTypeBox;
  db: Db;
  redis: Redis;
  logger: Logger;
  config: Config;
  /** Token authentication (e.g. the agent WebSocket: auth.authenticateToken(query.token)). */
  auth: AuthService;
  /** Password sign-in, sessions, lockout, admin reset/disable (issue 12). */
  signIn: SignInService;
  /** Screen-pop lookup: callers.lookupForScreenPop(number). */
  callers: CallersService;
  health: Health;
  agents: AgentService;
  acd: Acd;
  /** Work orders (issue 3): cases, department queues, SLA timers, callbacks (callbacks.setPlaceCall wires click-to-call). */
  workOrders: WorkOrders;
  /** Keyword search (issue 4). */
  search: SearchService;
  /** Web intake and Open311 (issue 4). */
  intake: IntakeService;
  /** The call flow of this process (null when telephony is off). */
  calls: CallService | null;
  /** Supervision, recordings, missed calls, KPIs and metrics (issue 5). */
  supervision: Supervision;
  /** Rebuilds Redis state from PostgreSQL when Redis becomes ready and periodically (issue 10). */
  rebuilder: Rebuilder;
  /** Closes Fastify (stops accepting, drains requests), then telephony, then Redis, then PostgreSQL. */
  close(): Promise<void>;
}

export interface BuildAppOptions {
  config: Config;
  logger?: Logger;
  /** Start ARI/AMI call control (default true; tests of the HTTP API pass false). */
  telephony?: boolean;
  /** The try-it mode (npm run demo: simulated PBX): every page shows a 演示模式 banner. */
  demo?: boolean;
}

const MIGRATE_RETRY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', '57P03']);

async function migrateWithRetry(config: Config, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await migrate(config.databaseUrl, config.dbSchema, logger);
      if (applied.length) logger.info({ applied }, 'database migrations applied');
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 6 || !code || !MIGRATE_RETRY_CODES.has(code)) throw err;
      const waitMs = 500 * 2 ** (attempt - 1);
      logger.warn({ code, attempt, waitMs }, 'database not reachable yet, retrying migrations');
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

export async function buildApp(opts: BuildAppOptions): Promise<App> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const telephonyOn = opts.telephony ?? true;

  if (config.migrateOnStart) await migrateWithRetry(config, logger);

  const rz = config.resilience;
  const db = createDb({
    url: config.databaseUrl,
    schema: config.dbSchema,
    logger,
    max: rz.dbPoolMax,
    idleTimeoutMs: rz.dbPoolIdleMs,
    statementTimeoutMs: rz.dbStatementTimeoutMs,
    lockTimeoutMs: rz.dbLockTimeoutMs,
    idleInTransactionTimeoutMs: rz.dbIdleInTransactionTimeoutMs,
    connectTimeoutMs: rz.dbConnectTimeoutMs,
  });
  // /health pings on its own connection: a pool full of slow requests must not read as a dead database.
  const healthDb = createDb({ url: config.databaseUrl, schema: config.dbSchema, logger, max: 1, connectTimeoutMs: 1000, statementTimeoutMs: 1000 });
  const redis = createRedis(config.redisUrl, logger, { keyPrefix: `${config.redisPrefix}:` });

  // Closed in reverse order of registration, after Fastify and before Redis/PostgreSQL (telephony goes here).
  const closers: { name: string; close: () => Promise<void> | void }[] = [];

  const fastify = Fastify({
    loggerInstance: logger,
    // hooks.ts logs route patterns only (no query strings: phone numbers, tokens)
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[\w.-]{1,64}$/.test(h) ? h : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    // TRUST_PROXY: client address (rate limits, logs) from X-Forwarded-For, only from trusted hops.
    trustProxy: typeof rz.trustProxy === 'number' ? ((_addr: string, hop: number) => hop < (rz.trustProxy as number)) : rz.trustProxy,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    frameworkErrors: onFrameworkError, // router refusals (bad URL, 414) in Chinese, without echoing the URL
    clientErrorHandler: onClientError, // 431 / 400 / 408 from Node's HTTP parser, in Chinese
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  try {
    fastify.setErrorHandler((err, request, reply) => errorHandler(err, request, reply));
    await registerOverloadShedding(fastify, rz);
    fastify.setNotFoundHandler(notFoundHandler);
    registerRouteAccess(fastify); // before any route: collects who may call each one
    registerInputGuard(fastify); // NUL / invalid UTF-8 → 400 before any route runs
    await registerSecurityHeaders(fastify); // helmet: before any route, /docs included
    await registerOpenApi(fastify);
    await fastify.register(websocket, { options: { maxPayload: 64 * 1024 } });
    registerRequestLogging(fastify);
    const metrics = createMetrics(fastify, logger); // Prometheus; its HTTP timing hook sees every route

    // --- services ---
    const auth = createAuthService({ db, logger });
    const callers = createCallersService({ db });
    const notes = createNotesService({ db });
    const reference = createReferenceService({ db });
    const health = createHealth({ db: healthDb, redis, ariEnabled: config.ari.enabled, amiEnabled: config.ami.enabled });
    const workOrders = createWorkOrders({ config, db, logger, sms: createSmsGateway(config.sms) }); // outbox relay + SLA timer worker start here
    closers.push({ name: 'work-orders', close: () => workOrders.close() });

    // --- HTTP routes (registered on the root instance; each module's routes.ts takes its service) ---
    registerAuth(fastify, auth); // sets request.user for every route registered below
    // Password sign-in and cookie sessions (+ CSRF); disabling a user closes their live connections in every process.
    const authSub = createBlockingRedis(config.redisUrl, logger);
    closers.push({ name: 'redis-auth', close: () => closeRedis(authSub) });
    const revocation = createRevocation({
      pub: redis,
      sub: authSub,
      channel: `${config.redisPrefix}:auth:revoked`,
      logger,
      onRevoked: () => auth.clearCache(),
    });
    const onDisabled = { handlers: [] as ((user: { id: number; agentId: number | null }) => Promise<void>)[] };
    const signIn = createSignIn({ db, logger, config: config.auth, onRevoked: (userId) => revocation.revoke(userId), onDisabled });
    const tickets = createTickets(redis);
    const liveAuth = createLiveAuth({ signIn, tickets, revocation });
    await registerSessions(fastify, { config: config.auth, redis, signIn });
    healthRoutes(fastify, health);
    authRoutes(fastify, auth);
    referenceRoutes(fastify, reference);
    callerRoutes(fastify, callers);
    notesRoutes(fastify, notes);
    workOrderRoutes(fastify, workOrders);
    dispatchRoutes(fastify, createDispatchService({ db })); // 待派单 queue (issue 12)

    // --- search, knowledge base, public intake and Open311 (issue 4) ---
    await registerPublicRateLimit(fastify, redis);
    const search = createSearchService({ db, logger });
    search.indexer.start(); // jieba words of new documents, off the writers' path (issue 13)
    void search.warm().catch((err: unknown) => logger.warn({ err }, 'search warm-up failed')); // the first search need not load them
    closers.push({ name: 'search-words', close: () => search.indexer.stop() });
    const intake = createIntakeService({ db, ...config.intake });
    searchRoutes(fastify, search);
    sessionRoutes(fastify, {
      signIn,
      tickets,
      signinPerMin: config.auth.signinPerMin,
      oidc: config.auth.oidc ? createOidc({ config: config.auth.oidc, redis, logger }) : null,
    });
    knowledgeRoutes(fastify, createKnowledgeService({ db }), DEFAULT_PUBLIC_LIMITS.read);
    intakeRoutes(fastify, intake, DEFAULT_PUBLIC_LIMITS);
    open311Routes(fastify, intake, DEFAULT_PUBLIC_LIMITS);

    // --- browser pages (issue 6): /console/, /department/, /admin/, /portal/ (and / → /portal/) ---
    await webRoutes(fastify, { demo: opts.demo });

    // --- call control: telephony, calls, agents (wired by src/calls + src/agents) ---
    // In scope: config, logger, db, redis, fastify (routes, incl. WebSocket routes: { websocket: true }),
    // auth.authenticateToken(token) for the agent socket, callers.lookupForScreenPop(number) for the screen pop,
    // health.setProvider('ari' | 'ami', () => boolean), closers.push({ name, close }) for shutdown.
    const acdRedis = createRedis(config.redisUrl, logger); // no keyPrefix: ACD Lua builds its own keys
    const subRedis = createBlockingRedis(config.redisUrl, logger); // subscriber mode (screen pop, availability)
    closers.push({ name: 'redis-acd', close: () => closeRedis(acdRedis) }, { name: 'redis-sub', close: () => closeRedis(subRedis) });
    const acd = new Acd(acdRedis, config.redisPrefix, config.calls.nodeId);
    const hub = new ScreenPopHub(acdRedis, subRedis, config.redisPrefix, logger);
    closers.push({ name: 'screen-pop', close: () => hub.closeAll() });
    const agentRepo = new AgentRepo(db);
    const agents = new AgentService(agentRepo, acd, hub, config.calls.agentEndpointTemplate, logger);
    agentRoutes(fastify, agents, hub, liveAuth);
    // A disabled agent's seat is signed out, so the ACD offers them no further call.
    onDisabled.handlers.push(async (u) => {
      if (u.agentId !== null && (await acd.get(u.agentId)).state !== 'offline') await agents.setState(u.agentId, 'offline');
    });

    // --- supervision board, listen/whisper/barge, recordings, missed calls, KPIs, /metrics (issue 5) ---
    const supervision = createSupervision({ config, db, redis, logger, fastify, auth: liveAuth, agents, agentRepo, metrics });
    closers.push({ name: 'supervision', close: () => supervision.close() });

    let calls: CallService | null = null;
    if (telephonyOn && config.ari.enabled) {
      const sw = new AriSwitch({ ...config.ari, logger });
      health.setProvider('ari', () => sw.isUp);
      const callRepo = new CallRepo(db, logger);
      const calendarSource = createSlaPolicy({ db }); // opening hours follow the work orders' holiday calendar
      const dialler = new OutboundDialler(
        sw,
        db,
        {
          app: config.ari.app,
          nodeId: config.calls.nodeId,
          dialTemplate: config.calls.outboundDialTemplate,
          ringTimeoutSec: config.supervision.callbackRingTimeoutSec,
          callerIdName: config.calls.callerIdName,
          callerIdNumber: config.calls.callerIdNumber,
          record: config.supervision.callbackRecord && config.calls.recordCalls,
        },
        logger,
      );
      calls = new CallService({
        sw,
        acd,
        release: new AgentRelease(acd, hub, config.calls.wrapUpSec * 1000),
        repo: callRepo,
        transfers: new TransferRepo(db),
        keepPlaces: new KeepPlaceRepo(db),
        dialler,
        calendar: calendarSource.calendar,
        hub,
        sub: subRedis,
        lookup: (number, callId) => callers.lookupForScreenPop(number, { excludeCallId: callId }),
        settings: { ...config.calls, app: config.ari.app },
        logger,
      });
      await calls.start();
      callControlRoutes(fastify, calls, sw);
      // Board publisher, recordings, click-to-call (missed calls, and 回访 of work orders); before sw.start().
      workOrders.callbacks.setPlaceCall(supervision.attachCalls({ sw, calls, callRepo }).placeCall);
      sw.start();
      // Closed before the call service so no event arrives after its writes were flushed.
      const service = calls;
      closers.push({ name: 'calls', close: () => service.stop() }, { name: 'ari', close: () => sw.close() });
    }
    if (telephonyOn && config.ami.enabled) {
      const ami = new AmiClient({ ...config.ami, logger });
      health.setProvider('ami', () => ami.isUp);
      const presence = new Presence(ami, acd, agentRepo, (r) => agents.endpointOf(r), logger);
      presence.start();
      agents.presenceProbe = (endpoint) => (ami.isUp ? presence.probe(endpoint) : Promise.resolve());
      supervision.attachAmi({ ami, presence });
      ami.start();
      closers.push({ name: 'ami', close: async () => { await presence.stop(); await ami.close(); } });
    }
    // --- end call control ---

    // --- Redis is derived: re-create from PostgreSQL what it lost (start-up, reconnect, periodic sweep) ---
    const rebuilder = new Rebuilder({
      trigger: redis,
      sweepMs: rz.rebuildSweepSec * 1000,
      logger,
      tasks: [
        { name: 'work-orders', run: () => workOrders.rebuild() },
        {
          name: 'agents',
          run: createAgentRebuild({
            db, acd, hub, logger, maxAgeHours: rz.agentRestoreMaxAgeH,
            endpointOf: (r) => agents.endpointOf(r),
            presenceProbe: () => agents.presenceProbe,
          }),
        },
      ],
    });
    rebuilder.start();
    closers.push({ name: 'rebuilder', close: () => rebuilder.stop() });

    await fastify.ready();

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        await fastify.close().catch((err: unknown) => logger.error({ err }, 'error closing http server'));
        for (const c of [...closers].reverse()) {
          try {
            await c.close();
          } catch (err) {
            logger.error({ err, component: c.name }, 'error closing component');
          }
        }
        await closeRedis(redis);
        await db.close().catch((err: unknown) => logger.error({ err }, 'error closing database pool'));
        await healthDb.close().catch(() => undefined);
      })();
      return closing;
    };

    return { fastify, db, redis, logger, config, auth, signIn, callers, health, agents, acd, calls, workOrders, search, intake, supervision, rebuilder, close };
  } catch (err) {
    await fastify.close().catch(() => undefined);
    await closeRedis(redis);
    await db.close().catch(() => undefined);
    await healthDb.close().catch(() => undefined);
    throw err;
  }
}

async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
