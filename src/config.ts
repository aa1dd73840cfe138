import { randomBytes } from 'node:crypto';
import { parseOpeningHours } from './infra/opening-hours';

// Environment → typed, frozen Config. Fails fast with one readable message listing every bad variable.

export interface Config {
  readonly env: 'production' | 'development' | 'test';
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  /** auto: pino-pretty when stdout is a terminal, JSON otherwise (files, pipes, log collectors). */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  readonly databaseUrl: string;
  readonly dbSchema: string | null;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly ari: {
    readonly url: string;
    readonly username: string;
    readonly password: string;
    readonly app: string;
    readonly enabled: boolean;
    readonly maxSockets: number;
  };
  readonly ami: {
    readonly host: string;
    readonly port: number;
    readonly username: string;
    readonly secret: string;
    readonly enabled: boolean;
    readonly actionTimeoutMs: number;
  };
  readonly calls: {
    /** Sound played to the caller after answer; empty = none (caller hears ringback until an agent answers). */
    readonly greeting: string;
    readonly mohClass: string;
    readonly ringTimeoutSec: number;
    /** A caller no agent can take keeps hearing ringback this long before being answered into music on hold. */
    readonly holdAfterMs: number;
    readonly wrapUpSec: number;
    readonly maxMissedOffers: number;
    readonly announceEverySec: number;
    readonly agentEndpointTemplate: string;
    readonly callerIdName: string;
    readonly callerIdNumber: string;
    readonly nodeId: string;
    /** Record every connected call (a snoop channel on the caller, recorded over ARI). */
    readonly recordCalls: boolean;
    /** When the agent hangs up first, the caller is asked to rate the service (1 满意, 2 基本满意, 3 不满意). */
    readonly survey: boolean;
    readonly surveyPrompt: string;
    readonly surveyThanks: string;
    readonly surveyTimeoutSec: number;
    /** Dial string for numbers outside (departments without a SIP endpoint, 110, callbacks): {number} is replaced. */
    readonly outboundDialTemplate: string;
    readonly policeNumber: string;
    readonly transferRingSec: number;
    /** "24/7" or e.g. "08:30-12:00,13:30-17:30" on working days ("daily …" for every day), China time. */
    readonly businessHours: string;
    /** Optional IVR menu (off by default: the national norm says phone intake should reach a person). */
    readonly ivrEnabled: boolean;
    readonly ivrTimeoutSec: number;
    /** A caller who chose a skill nobody serves is offered to any agent after this long. */
    readonly ivrSkillFallbackSec: number;
    /** Waiting callers may press 1 to hang up and be called back in their turn (keep-my-place). */
    readonly callbackOffer: boolean;
  };
  readonly migrateOnStart: boolean;
  /** Bounded waiting, overload shedding, trusted proxies, rebuilding Redis from PostgreSQL (issue 10). */
  readonly resilience: Resilience;
  /** Password sign-in, sessions and optional OpenID Connect (issue 12). */
  readonly auth: AuthConfig;
  /** Supervision, reports, metrics and callbacks (issue 5). */
  readonly supervision: SupervisionSettings;
  /** The SMS gateway texts go through (SMS_WEBHOOK_URL): null = none, the agent reads the numbers to the caller. */
  readonly sms: SmsSettings | null;
  /** Public requests: wrong-guess limits of the status lookup, what a public view shows of a location. */
  readonly intake: { readonly lookupLimits: LookupLimits; readonly publicLocation: PublicLocationSettings };
}

export interface SupervisionSettings {
  /** CALLBACK_RING_TIMEOUT_SEC: ring time of each callback leg. */
  readonly callbackRingTimeoutSec: number;
  /** CALLBACK_RECORD: record connected callbacks. */
  readonly callbackRecord: boolean;
  /** METRICS_TOKEN: GET /metrics needs "Authorization: Bearer <token>"; null = open (scrapers on a private network). */
  readonly metricsToken: string | null;
  /** REPORT_TIMEZONE: IANA zone the KPI periods (hour/day/month) are cut in. */
  readonly reportTimezone: string;
  /** KPI_SERVICE_LEVEL_SEC: default service-level threshold, answered within N seconds. */
  readonly serviceLevelSec: number;
  /** SUPERVISION_PUBLISH_MS: how often each process publishes its live calls for the board. */
  readonly publishMs: number;
}

/** SMS_WEBHOOK_URL receives {"to", "text"} as JSON, with "Authorization: Bearer SMS_WEBHOOK_TOKEN" when that is set. */
export interface SmsSettings {
  readonly webhookUrl: string;
  readonly webhookToken: string | null;
}

export interface LookupLimits {
  /** Wrong guesses per tracking number within the window before it locks. */
  readonly perTrackingNo: number;
  /** Wrong guesses per client address within the window before it locks. */
  readonly perAddress: number;
  readonly windowMs: number;
}

export const DEFAULT_LOOKUP_LIMITS: LookupLimits = { perTrackingNo: 10, perAddress: 30, windowMs: 3_600_000 };

/** PUBLIC_LOCATION (street | grid) and PUBLIC_GRID_METERS: see intake/public-view.ts. */
export interface PublicLocationSettings {
  readonly mode: 'street' | 'grid';
  readonly gridMeters: number;
}

export const DEFAULT_PUBLIC_LOCATION: PublicLocationSettings = { mode: 'street', gridMeters: 500 };

export interface Resilience {
  readonly dbPoolMax: number;
  /** How long a pooled connection may sit idle before it is closed (ms). */
  readonly dbPoolIdleMs: number;
  readonly dbStatementTimeoutMs: number;
  readonly dbLockTimeoutMs: number;
  readonly dbIdleInTransactionTimeoutMs: number;
  /** How long a request waits for a free pooled connection. */
  readonly dbConnectTimeoutMs: number;
  /** Mean event-loop delay above which HTTP requests are shed with 503 (0 = off). */
  readonly maxEventLoopDelayMs: number;
  /** Event-loop utilisation (0–1) above which requests are shed (0 = off). */
  readonly maxEventLoopUtilization: number;
  /** Retry-After of every 503 the service answers. */
  readonly retryAfterSec: number;
  /** Fastify trustProxy: false, true, a hop count, or a comma list of addresses/CIDRs. */
  readonly trustProxy: boolean | number | string[];
  /** Periodic sweep that re-creates Redis state from PostgreSQL (0 = only when Redis becomes ready). */
  readonly rebuildSweepSec: number;
  /** Agents whose last recorded state is older than this are not restored as signed in. */
  readonly agentRestoreMaxAgeH: number;
  /** A claim without Idempotency-Key within this window returns the ticket the user just signed. */
  readonly claimRetryWindowSec: number;
  /** Promised callbacks older than this are counted as late on the supervisor's summary. */
  readonly callbackPromiseMaxAgeMin: number;
}

export interface AuthConfig {
  /** Signs the session cookie (>= 32 characters). Unset outside production: random per process start. */
  readonly sessionSecret: string;
  /** Absolute session lifetime from sign-in. */
  readonly sessionTtlMin: number;
  /** Consecutive wrong passwords before the account is locked; each further failure doubles the lock. */
  readonly lockAfter: number;
  readonly lockBaseSec: number;
  readonly lockMaxSec: number;
  /** Sign-in attempts per client IP per minute (all usernames together). */
  readonly signinPerMin: number;
  /** OpenID Connect sign-in (the city's unified identity platform): null = off. */
  readonly oidc: {
    readonly issuer: string;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly redirectUri: string;
    readonly usernameClaim: string;
    readonly label: string;
  } | null;
}

type Env = Record<string, string | undefined>;

class ConfigReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v === '' ? fallback : v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const v = this.str(name, fallback);
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
    } catch {
      this.problems.push(`${name} must be a ${protocols.join(' or ')} URL (got "${v}")`);
    }
    return v;
  }

  hours(name: string, fallback: string): string {
    const v = this.str(name, fallback);
    try {
      parseOpeningHours(v);
    } catch (err) {
      this.problems.push(`${(err as Error).message} (e.g. "24/7" or "08:30-12:00,13:30-17:30")`);
      return fallback;
    }
    return v;
  }

  num(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problems.push(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  }

  timeZone(name: string, fallback: string): string {
    const v = this.str(name, fallback);
    try {
      new Intl.DateTimeFormat('en', { timeZone: v });
    } catch {
      this.problems.push(`${name} must be an IANA time zone such as ${fallback} (got "${v}")`);
    }
    return v;
  }

  trustProxy(name: string): boolean | number | string[] {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '' || /^(0|false|no|off)$/i.test(raw)) return false;
    if (/^(true|yes|on)$/i.test(raw)) return true;
    if (/^[1-9][0-9]?$/.test(raw)) return Number(raw);
    const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
    if (!list.every((x) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(x) || ['loopback', 'linklocal', 'uniquelocal'].includes(x))) {
      this.problems.push(`${name} must be false, true, a hop count or a comma list of addresses/CIDRs (got "${raw}")`);
      return false;
    }
    return list;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[], say = `one of ${allowed.join(', ')}`): T {
    const v = this.str(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be ${say} (got "${v}")`);
      return fallback;
    }
    return v as T;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new ConfigReader(env);
  const schema = r.str('DB_SCHEMA', '');
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    r.problems.push(`DB_SCHEMA must be a lower-case SQL identifier (got "${schema}")`);
  }
  const template = r.str('AGENT_ENDPOINT_TEMPLATE', 'PJSIP/agent{extension}');
  if (!template.includes('{extension}')) {
    r.problems.push(`AGENT_ENDPOINT_TEMPLATE must contain {extension} (got "${template}")`);
  }
  const dialTemplate = r.str('OUTBOUND_DIAL_TEMPLATE', 'PJSIP/{number}@trunk');
  if (!dialTemplate.includes('{number}')) r.problems.push(`OUTBOUND_DIAL_TEMPLATE must contain {number} (got "${dialTemplate}")`);
  const cfg: Config = {
    env: r.oneOf('NODE_ENV', 'development', ['production', 'development', 'test'] as const),
    http: { host: r.str('HOST', '0.0.0.0'), port: r.int('PORT', 3000, 0, 65535) },
    logLevel: r.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    logFormat: r.oneOf('LOG_FORMAT', 'auto', ['auto', 'json', 'pretty'] as const),
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres', ['postgres:', 'postgresql:']),
    dbSchema: schema || null,
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisPrefix: r.str('REDIS_PREFIX', 'h114'),
    ari: {
      url: r.url('ARI_URL', 'http://127.0.0.1:8088', ['http:', 'https:']),
      username: r.str('ARI_USERNAME', 'hotline114'),
      password: r.str('ARI_PASSWORD', 'hotline114'),
      app: r.str('ARI_APP', 'hotline114'),
      enabled: r.bool('ARI_ENABLED', true),
      // Below Asterisk's accept backlog of 10 (see AriRest).
      maxSockets: r.int('ARI_MAX_SOCKETS', 8, 1, 64),
    },
    ami: {
      host: r.str('AMI_HOST', '127.0.0.1'),
      port: r.int('AMI_PORT', 5038, 1, 65535),
      username: r.str('AMI_USERNAME', 'hotline114'),
      secret: r.str('AMI_SECRET', 'hotline114'),
      enabled: r.bool('AMI_ENABLED', true),
      actionTimeoutMs: r.int('AMI_ACTION_TIMEOUT_MS', 5000, 100, 600000),
    },
    calls: {
      greeting: r.str('CALL_GREETING', ''),
      mohClass: r.str('CALL_MOH_CLASS', 'default'),
      ringTimeoutSec: r.int('CALL_RING_TIMEOUT_SEC', 20, 1, 300),
      holdAfterMs: r.int('CALL_HOLD_AFTER_MS', 2000, 0, 60000),
      wrapUpSec: r.int('CALL_WRAPUP_SEC', 15, 0, 3600),
      maxMissedOffers: r.int('CALL_MAX_MISSED_OFFERS', 3, 1, 100),
      announceEverySec: r.int('CALL_ANNOUNCE_EVERY_SEC', 30, 0, 3600),
      agentEndpointTemplate: template,
      callerIdName: r.str('CALL_CALLERID_NAME', '114热线'),
      callerIdNumber: r.str('CALL_CALLERID_NUMBER', '114'),
      // Identifies the Asterisk this process controls: open call records are reconciled (adopted after a restart)
      // per node, so the default is stable across restarts and distinct per Asterisk.
      nodeId: r.str('NODE_ID', defaultNodeId(env.ARI_URL)),
      recordCalls: r.bool('CALL_RECORD', true),
      survey: r.bool('CALL_SURVEY', true),
      surveyPrompt: r.str('CALL_SURVEY_PROMPT', 'hotline114/survey'),
      surveyThanks: r.str('CALL_SURVEY_THANKS', 'hotline114/thanks'),
      surveyTimeoutSec: r.int('CALL_SURVEY_TIMEOUT_SEC', 8, 1, 60),
      outboundDialTemplate: dialTemplate,
      policeNumber: r.str('POLICE_NUMBER', '110'),
      transferRingSec: r.int('CALL_TRANSFER_RING_SEC', 30, 5, 300),
      businessHours: r.hours('BUSINESS_HOURS', '24/7'),
      ivrEnabled: r.bool('IVR_ENABLED', false),
      ivrTimeoutSec: r.int('IVR_TIMEOUT_SEC', 6, 1, 60),
      ivrSkillFallbackSec: r.int('IVR_SKILL_FALLBACK_SEC', 60, 0, 3600),
      callbackOffer: r.bool('CALL_CALLBACK_OFFER', true),
    },
    migrateOnStart: r.bool('MIGRATE_ON_START', true),
    resilience: {
      dbPoolMax: r.int('DB_POOL_MAX', 10, 1, 1000),
      dbPoolIdleMs: r.int('DB_POOL_IDLE_SEC', 600, 1, 86_400) * 1000,
      dbStatementTimeoutMs: r.int('DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 3_600_000),
      dbLockTimeoutMs: r.int('DB_LOCK_TIMEOUT_MS', 2000, 10, 600_000),
      dbIdleInTransactionTimeoutMs: r.int('DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 30_000, 100, 3_600_000),
      dbConnectTimeoutMs: r.int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
      maxEventLoopDelayMs: r.int('OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 1000, 0, 60_000),
      maxEventLoopUtilization: r.num('OVERLOAD_MAX_EVENT_LOOP_UTILIZATION', 0, 0, 1),
      retryAfterSec: r.int('RETRY_AFTER_SEC', 5, 1, 3600),
      trustProxy: r.trustProxy('TRUST_PROXY'),
      rebuildSweepSec: r.int('REBUILD_SWEEP_SEC', 300, 0, 86_400),
      agentRestoreMaxAgeH: r.int('AGENT_RESTORE_MAX_AGE_H', 12, 1, 24 * 30),
      claimRetryWindowSec: r.int('CLAIM_RETRY_WINDOW_SEC', 15, 0, 3600),
      callbackPromiseMaxAgeMin: r.int('CALLBACK_PROMISE_MAX_AGE_MIN', 24 * 60, 1, 30 * 24 * 60),
    },
    auth: authConfig(r, env),
    supervision: {
      callbackRingTimeoutSec: r.int('CALLBACK_RING_TIMEOUT_SEC', 30, 5, 300),
      callbackRecord: r.bool('CALLBACK_RECORD', true),
      metricsToken: env.METRICS_TOKEN ? env.METRICS_TOKEN : null,
      reportTimezone: r.timeZone('REPORT_TIMEZONE', 'Asia/Shanghai'),
      serviceLevelSec: r.int('KPI_SERVICE_LEVEL_SEC', 15, 1, 600),
      publishMs: r.int('SUPERVISION_PUBLISH_MS', 1000, 100, 60000),
    },
    sms: smsSettings(r, env),
    intake: {
      lookupLimits: {
        perTrackingNo: r.int('LOOKUP_MAX_FAILURES_PER_TRACKING_NO', DEFAULT_LOOKUP_LIMITS.perTrackingNo, 1, 1000),
        perAddress: r.int('LOOKUP_MAX_FAILURES_PER_ADDRESS', DEFAULT_LOOKUP_LIMITS.perAddress, 1, 100000),
        windowMs: r.int('LOOKUP_LOCK_WINDOW_SEC', DEFAULT_LOOKUP_LIMITS.windowMs / 1000, 60, 7 * 86400) * 1000,
      },
      publicLocation: {
        mode: r.oneOf('PUBLIC_LOCATION', DEFAULT_PUBLIC_LOCATION.mode, ['street', 'grid'] as const, 'street or grid'),
        gridMeters: r.int('PUBLIC_GRID_METERS', DEFAULT_PUBLIC_LOCATION.gridMeters, 100, 10000),
      },
    },
  };
  if (cfg.env === 'production') r.problems.push(...productionSecretProblems(env, cfg));
  if (r.problems.length) throw new ConfigError(r.problems);
  return deepFreeze(cfg);
}

function authConfig(r: ConfigReader, env: Env): AuthConfig {
  let sessionSecret = r.str('SESSION_SECRET', '');
  if (sessionSecret && sessionSecret.length < 32) r.problems.push('SESSION_SECRET must be at least 32 characters');
  if (!sessionSecret) {
    if (env.NODE_ENV === 'production') r.problems.push('SESSION_SECRET must be set in production (at least 32 characters)');
    sessionSecret = randomBytes(32).toString('base64url');
  }
  const issuer = r.str('OIDC_ISSUER', '');
  let oidc: AuthConfig['oidc'] = null;
  if (issuer) {
    r.url('OIDC_ISSUER', issuer, ['https:', 'http:']);
    const clientId = r.str('OIDC_CLIENT_ID', '');
    const redirectUri = r.str('OIDC_REDIRECT_URI', '');
    if (!clientId) r.problems.push('OIDC_CLIENT_ID must be set when OIDC_ISSUER is set');
    if (!redirectUri) r.problems.push('OIDC_REDIRECT_URI must be set when OIDC_ISSUER is set (…/api/auth/oidc/callback)');
    else r.url('OIDC_REDIRECT_URI', redirectUri, ['https:', 'http:']);
    oidc = {
      issuer,
      clientId,
      clientSecret: r.str('OIDC_CLIENT_SECRET', ''),
      redirectUri,
      usernameClaim: r.str('OIDC_USERNAME_CLAIM', 'preferred_username'),
      label: r.str('OIDC_LABEL', '统一身份认证登录'),
    };
  }
  return {
    sessionSecret,
    sessionTtlMin: r.int('SESSION_TTL_MIN', 720, 5, 10080),
    lockAfter: r.int('SIGNIN_LOCK_AFTER', 5, 1, 100),
    lockBaseSec: r.int('SIGNIN_LOCK_BASE_SEC', 60, 1, 86400),
    lockMaxSec: r.int('SIGNIN_LOCK_MAX_SEC', 3600, 1, 604800),
    signinPerMin: r.int('SIGNIN_RATE_PER_MIN', 30, 1, 100000),
    oidc,
  };
}

function smsSettings(r: ConfigReader, env: Env): SmsSettings | null {
  const url = env.SMS_WEBHOOK_URL?.trim();
  if (!url) return null;
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    // reported below
  }
  if (!ok) r.problems.push(`SMS_WEBHOOK_URL must be an http(s) URL (got "${url}")`);
  return { webhookUrl: url, webhookToken: env.SMS_WEBHOOK_TOKEN?.trim() || null };
}

/** The lab secrets README, docker-compose.yml and asterisk-config/ document: anybody may know them. */
export const DOCUMENTED_SECRETS = ['hotline114', 'postgres', 'password', 'secret', 'changeme', 'agentpass', 'callerpass'];

/**
 * Production (NODE_ENV=production) refuses to start with a documented default secret or without a metrics token:
 * a service on the lab secrets lets anyone on the network drive calls (ARI/AMI) or read the record.
 */
export function productionSecretProblems(env: Env, cfg: Pick<Config, 'databaseUrl' | 'ari' | 'ami'>): string[] {
  const problems: string[] = [];
  const documented = (v: string) => DOCUMENTED_SECRETS.includes(v.trim().toLowerCase());
  if (cfg.ari.enabled && (documented(cfg.ari.password) || cfg.ari.password.length < 12)) {
    problems.push('ARI_PASSWORD is a documented default or shorter than 12 characters: set your own (and the same in ari.conf) for production');
  }
  if (cfg.ami.enabled && (documented(cfg.ami.secret) || cfg.ami.secret.length < 12)) {
    problems.push('AMI_SECRET is a documented default or shorter than 12 characters: set your own (and the same in manager.conf) for production');
  }
  if (!env.DATABASE_URL) {
    problems.push('DATABASE_URL is not set: production needs its own database URL (the default is the local superuser without a password)');
  } else {
    let password = '';
    try {
      password = decodeURIComponent(new URL(cfg.databaseUrl).password);
    } catch {
      // an unparsable URL is already reported by the URL check
    }
    if (password && documented(password)) problems.push('DATABASE_URL uses a documented default password: set your own for production');
  }
  const metricsToken = env.METRICS_TOKEN ?? '';
  if (metricsToken.length < 16 || documented(metricsToken)) {
    problems.push('METRICS_TOKEN must be set (at least 16 characters) in production: /metrics is open without it');
  }
  return problems;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function defaultNodeId(ariUrl: string | undefined): string {
  try {
    return `ari@${new URL(ariUrl || 'http://127.0.0.1:8088').host}`;
  } catch {
    return 'ari@default';
  }
}
