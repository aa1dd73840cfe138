// Rate limits of the public routes (no account): @fastify/rate-limit, counters in Redis (shared by all processes;
// requests pass when Redis is down rather than fail), keyed by client IP. Only routes that opt in through
// config.rateLimit are limited.
import rateLimit from '@fastify/rate-limit';
import type { FastifyTypeBox } from '../http/types';
import { AppError } from '../infra/errors';
import type { Redis } from '../infra/redis';

export interface PublicLimits {
  /** POST /api/public/requests per IP. */
  submit: { max: number; timeWindow: number };
  /** Public reads (status lookup, knowledge, Open311 GET) per IP. */
  read: { max: number; timeWindow: number };
  /** Open311 POST per IP. */
  write: { max: number; timeWindow: number };
}

export const DEFAULT_PUBLIC_LIMITS: PublicLimits = {
  submit: { max: 10, timeWindow: 60_000 },
  read: { max: 120, timeWindow: 60_000 },
  write: { max: 60, timeWindow: 60_000 },
};

export async function registerPublicRateLimit(fastify: FastifyTypeBox, redis: Redis | null): Promise<void> {
  await fastify.register(rateLimit, {
    global: false,
    ...(redis ? { redis, nameSpace: 'public-rl:', skipOnError: true } : {}),
    errorResponseBuilder: (_req, ctx) =>
      new AppError(ctx.statusCode, 'rate_limited', `请求过于频繁，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`),
  });
}
