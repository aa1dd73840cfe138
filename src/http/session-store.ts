// @fastify/session store in Redis. A session holds only (userId, epoch, CSRF secret, cookie options): losing Redis
// signs people out, nothing more — whether they may get in is decided from PostgreSQL on every request.
import type { Session } from 'fastify';
import type { SessionStore } from '@fastify/session';
import { ServiceUnavailableError } from '../infra/errors';
import type { Redis } from '../infra/redis';

type Callback = (err?: unknown) => void;
type GetCallback = (err: unknown, result?: Session | null) => void;

const unavailable = () => new ServiceUnavailableError('登录会话服务暂时不可用，请稍后再试', 'session_store_unavailable');

export class RedisSessionStore implements SessionStore {
  /** @param redis a connection with the service's key prefix; keys are sess:<id> */
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  private key(id: string): string {
    return `sess:${id}`;
  }

  set(sessionId: string, session: unknown, callback: Callback): void {
    const s = session as { cookie?: { expires?: Date | string | null } };
    const expires = s.cookie?.expires ? new Date(s.cookie.expires).getTime() : Date.now() + this.ttlMs;
    const ttl = Math.max(1000, expires - Date.now());
    this.redis.set(this.key(sessionId), JSON.stringify(session), 'PX', ttl).then(
      () => callback(),
      () => callback(unavailable()),
    );
  }

  get(sessionId: string, callback: GetCallback): void {
    this.redis.get(this.key(sessionId)).then(
      (raw) => {
        if (!raw) return callback(null, null);
        try {
          callback(null, JSON.parse(raw) as Session);
        } catch {
          callback(null, null);
        }
      },
      () => callback(unavailable()),
    );
  }

  destroy(sessionId: string, callback: Callback): void {
    this.redis.del(this.key(sessionId)).then(
      () => callback(),
      () => callback(unavailable()),
    );
  }
}
