// GET /health (no auth). 200 while PostgreSQL and Redis answer, else 503; telephony down only makes it "degraded".
import type { FastifyTypeBox } from './types';
import { Type } from 'typebox';
import type { Db } from '../infra/db';
import { ErrorSchema } from './schemas';
import { redisUp, type Redis } from '../infra/redis';

export type ComponentStatus = 'up' | 'down' | 'disabled';
/** Returns whether the component is up; may be async; a throw counts as down. */
export type StatusProvider = () => boolean | Promise<boolean>;

const CHECK_TIMEOUT_MS = 1500;

async function check(fn: StatusProvider): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  database: 'up' | 'down';
  redis: 'up' | 'down';
  ari: ComponentStatus;
  ami: ComponentStatus;
}

export function createHealth(deps: { db: Db; redis: Redis; ariEnabled: boolean; amiEnabled: boolean }) {
  const providers: { ari: StatusProvider | null; ami: StatusProvider | null } = { ari: null, ami: null };

  async function telephony(which: 'ari' | 'ami', enabled: boolean): Promise<ComponentStatus> {
    if (!enabled) return 'disabled';
    const p = providers[which];
    if (!p) return 'down';
    return (await check(p)) ? 'up' : 'down';
  }

  async function report(): Promise<HealthReport> {
    const [database, redis, ari, ami] = await Promise.all([
      check(() => deps.db.ping()),
      check(() => redisUp(deps.redis)),
      telephony('ari', deps.ariEnabled),
      telephony('ami', deps.amiEnabled),
    ]);
    const all = [database ? 'up' : 'down', redis ? 'up' : 'down', ari, ami];
    return {
      status: all.includes('down') ? 'degraded' : 'ok',
      database: database ? 'up' : 'down',
      redis: redis ? 'up' : 'down',
      ari,
      ami,
    };
  }

  return {
    /** Plug in a status source, e.g. health.setProvider('ari', () => ariSwitch.isUp). */
    setProvider(which: 'ari' | 'ami', provider: StatusProvider) {
      providers[which] = provider;
    },
    report,
  };
}

export type Health = ReturnType<typeof createHealth>;

const Up = Type.Union([Type.Literal('up'), Type.Literal('down')]);
const Component = Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]);
const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Up,
  redis: Up,
  ari: Component,
  ami: Component,
});

export function healthRoutes(fastify: FastifyTypeBox, health: Health): void {
  fastify.get(
    '/health',
    {
      config: { access: { public: 'health probe (up/down only)' } },
      schema: {
        tags: ['system'],
        summary: '服务健康状态（数据库、Redis、ARI、AMI）',
        // 503 is the report, or the error body when the request failed before it (e.g. shed under overload).
        response: { 200: HealthSchema, 503: Type.Union([HealthSchema, ErrorSchema]) },
      },
    },
    async (_request, reply) => {
      const r = await health.report();
      return reply.code(r.database === 'up' && r.redis === 'up' ? 200 : 503).header('cache-control', 'no-store').send(r);
    },
  );
}
