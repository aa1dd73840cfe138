// Load shedding: when the event loop lags (or is saturated), every request is answered 503 + Retry-After at once,
// before any work, so latency stays bounded for the requests that are served instead of growing for all of them.
import underPressure from '@fastify/under-pressure';
import type { FastifyTypeBox } from './types';
import type { ErrorBody } from './errors';

export interface OverloadOptions {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  retryAfterSec: number;
  /** How often the event loop is sampled (tests use a short interval). */
  sampleIntervalMs?: number;
}

/** Requests shed since start (metrics, tests). */
export const shed = { count: 0 };

export async function registerOverloadShedding(fastify: FastifyTypeBox, o: OverloadOptions): Promise<void> {
  // Every 503 (dependency down or too slow, shed, closing) tells the client when to try again.
  fastify.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(o.retryAfterSec));
    return payload;
  });
  if (!o.maxEventLoopDelayMs && !o.maxEventLoopUtilization) return;
  await fastify.register(underPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxEventLoopUtilization: o.maxEventLoopUtilization,
    eventLoopUtilizationMode: 'interval',
    sampleInterval: o.sampleIntervalMs ?? 500,
    retryAfter: o.retryAfterSec,
    pressureHandler: (_req, reply, type, value) => {
      shed.count += 1;
      reply.log.warn({ type, value }, 'overloaded: request shed');
      // Returning the body makes the plugin send it and stop the request here (returning nothing would go on).
      void reply.code(503).header('retry-after', String(o.retryAfterSec));
      return { error: 'overloaded', message: '系统繁忙，请稍后再试' } satisfies ErrorBody as unknown as void;
    },
  });
}
