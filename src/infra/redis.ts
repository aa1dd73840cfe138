// ioredis connections. Commands fail fast while Redis is down (no offline queue) so callers can fall back
// (outbox, retry) instead of hanging; the client itself keeps reconnecting with capped backoff.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger';

export type { Redis };

export function createRedis(url: string, logger?: Logger, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 5000),
    lazyConnect: false,
    ...extra,
  });
  let downLogged = false;
  client.on('error', (err) => {
    if (!downLogged) logger?.warn({ err: err.message }, 'redis connection error');
    downLogged = true;
  });
  client.on('ready', () => {
    if (downLogged) logger?.info('redis connection restored');
    downLogged = false;
  });
  return client;
}

/** A connection that may block (subscriber, BullMQ worker): it must queue while reconnecting. */
export function createBlockingRedis(url: string, logger?: Logger): Redis {
  return createRedis(url, logger, { enableOfflineQueue: true, maxRetriesPerRequest: null });
}

export async function redisUp(client: Redis): Promise<boolean> {
  // Just started (or reconnecting): give the connection a moment rather than report a blip as an outage.
  if (client.status === 'connecting' || client.status === 'connect' || client.status === 'wait') {
    await redisReady(client, 1000).catch(() => undefined);
  }
  if (client.status !== 'ready') return false;
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/** Resolves once the client is ready (or rejects after timeoutMs). */
export function redisReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(t);
      resolve();
    };
    client.once('ready', onReady);
  });
}
