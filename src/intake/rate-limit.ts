// Rate limits of the public routes (no account): @fastify/rate-limit keyed by client address (the real client behind
// a trusted proxy: TRUST_PROXY), one bucket per route family (submit / read / write: the .json and .xml forms of a
// route, and every public read, count together). Counters live in Redis, shared by all processes; while Redis is
// unreachable each process counts in memory instead (a limit per process rather than none). Only routes that opt
// in through config.rateLimit are limited.
import rateLimit from '@fastify/rate-limit';
import type { FastifyTypeBox } from '../http/types';
import { AppError } from '../infra/errors';
import type { Redis } from '../infra/redis';

interface Limit {
  max: number;
  timeWindow: number;
  /** The route family: routes with the same groupId share one bucket per client. */
  groupId: string;
}

export interface PublicLimits {
  /** POST /api/public/requests per IP. */
  submit: Limit;
  /** Public reads (status lookup, knowledge, Open311 GET) per IP. */
  read: Limit;
  /** Open311 POST per IP. */
  write: Limit;
}

export const DEFAULT_PUBLIC_LIMITS: PublicLimits = {
  submit: { max: 10, timeWindow: 60_000, groupId: 'submit' },
  read: { max: 120, timeWindow: 60_000, groupId: 'read' },
  write: { max: 60, timeWindow: 60_000, groupId: 'write' },
};

type IncrCallback = (err: Error | null, res: { current: number; ttl: number }) => void;

const LUA_INCR = `
local c = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if c == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {c, ttl}
`;

/** Fixed windows in this process's memory (the fallback while Redis is unreachable), bounded in size. */
class MemoryWindows {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  incr(key: string, windowMs: number, now = Date.now()): { current: number; ttl: number } {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (this.windows.size >= 50_000) this.sweep(now);
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { current: w.count, ttl: w.resetAt - now };
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    if (this.windows.size >= 50_000) this.windows.clear(); // under a flood of addresses: start over rather than grow
  }
}

/** A @fastify/rate-limit store: Redis when it answers, this process's memory otherwise; keyed by route family. */
function familyStore(redis: Redis | null) {
  const memory = new Map<string, MemoryWindows>();
  type R = Redis & { h114RateLimit(key: string, windowMs: number, cb: (err: Error | null, res: [number, number]) => void): void };
  if (redis && !('h114RateLimit' in redis)) redis.defineCommand('h114RateLimit', { numberOfKeys: 1, lua: LUA_INCR });

  class FamilyStore {
    private readonly local: MemoryWindows;

    constructor(private readonly family = 'global') {
      let m = memory.get(family);
      if (!m) memory.set(family, (m = new MemoryWindows()));
      this.local = m;
    }

    incr(key: string, cb: IncrCallback, timeWindow: number): void {
      const fallback = () => cb(null, this.local.incr(key, timeWindow));
      if (!redis || redis.status !== 'ready') return fallback();
      (redis as R).h114RateLimit(`public-rl:${this.family}:${key}`, timeWindow, (err, res) => {
        if (err) return fallback();
        cb(null, { current: Number(res[0]), ttl: Number(res[1]) });
      });
    }

    child(routeOptions: { groupId?: string; routeInfo?: { method?: string; url?: string } }): FamilyStore {
      return new FamilyStore(routeOptions.groupId ?? `${routeOptions.routeInfo?.method ?? ''}${routeOptions.routeInfo?.url ?? ''}`);
    }
  }
  return FamilyStore;
}

export async function registerPublicRateLimit(fastify: FastifyTypeBox, redis: Redis | null): Promise<void> {
  await fastify.register(rateLimit, {
    global: false,
    store: familyStore(redis) as never,
    errorResponseBuilder: (_req, ctx) =>
      new AppError(ctx.statusCode, 'rate_limited', `请求过于频繁，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`),
  });
}
