// GET /metrics (Prometheus text format). Open by default, as scrapers usually sit on the private network next to
// the service; with METRICS_TOKEN set it needs "Authorization: Bearer <METRICS_TOKEN>" (401 otherwise).
import { timingSafeEqual } from 'node:crypto';
import { bearerToken } from '../http/auth';
import type { FastifyTypeBox } from '../http/types';
import { UnauthorizedError } from '../infra/errors';
import type { Metrics } from './metrics';

export function metricsRoutes(fastify: FastifyTypeBox, metrics: Metrics, token: string | null): void {
  const expected = token ? Buffer.from(token) : null;
  fastify.get(
    '/metrics',
    {
      config: { access: { secret: 'METRICS_TOKEN bearer (open only when unset outside production)' } },
      onRequest: async (req) => {
        if (!expected) return;
        const got = Buffer.from(bearerToken(req.headers.authorization) ?? '');
        if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new UnauthorizedError('需要监控令牌(METRICS_TOKEN)', 'unauthorized');
      },
      schema: { tags: ['health'], summary: 'Prometheus 指标（设置 METRICS_TOKEN 时需 Bearer 令牌）' },
    },
    async (_req, reply) => {
      const body = await metrics.registry.metrics();
      reply.header('content-type', metrics.registry.contentType);
      return reply.send(body);
    },
  );
}
