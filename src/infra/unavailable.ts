// Which failures mean "a backing service is unreachable or too slow right now" (answered 503 + Retry-After, the
// client may retry) rather than "this request or our code is wrong" (4xx / 500). PostgreSQL timeouts and lock
// waits count: they are set on purpose (DB_*_TIMEOUT_MS) so one slow row cannot hold the whole pool.
import { AppError, ServiceUnavailableError } from './errors';

export type Dependency = 'database' | 'redis';

// SQLSTATEs: 57014 statement timeout / cancel, 55P03 lock_not_available (lock_timeout, NOWAIT), 25P03 idle in
// transaction timeout, 40001/40P01 serialization failure / deadlock (retry), 53xxx out of resources, 57P0x
// shutdown / cannot connect now, 08xxx connection exceptions.
const PG_CODES = new Set(['57014', '55P03', '25P03', '40001', '40P01', '57P01', '57P02', '57P03']);
const PG_PREFIXES = ['08', '53'];
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// pg-pool and pg report these without a SQLSTATE.
const PG_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];
// ioredis (enableOfflineQueue: false, retries exhausted, closed) and BullMQ on a closed connection.
const REDIS_MESSAGES = ["Stream isn't writeable", 'Connection is closed', 'Reached the max retries per request limit'];

interface ErrLike {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  severity?: unknown;
  errors?: unknown;
}

export function unavailableDependency(err: unknown): Dependency | 'busy' | null {
  if (!err || typeof err !== 'object' || err instanceof AppError) return null;
  const e = err as ErrLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (typeof e.severity === 'string' && code === '55P03') return 'busy';
  if (typeof e.severity === 'string' && (PG_CODES.has(code) || PG_PREFIXES.some((p) => code.startsWith(p)))) return 'database';
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((m) => message.includes(m))) return 'redis';
  if (PG_MESSAGES.some((m) => message.includes(m))) return 'database';
  if (NET_CODES.has(code)) return 'database'; // the only plain-socket client whose errors reach a request
  if (Array.isArray(e.errors) && e.errors.some((x) => unavailableDependency(x) !== null)) return 'database'; // AggregateError
  return null;
}

const MESSAGES: Record<Dependency | 'busy', [string, string]> = {
  busy: ['resource_busy', '该记录正在被其他操作处理，请稍后再试'],
  database: ['database_unavailable', '系统繁忙或数据库暂时不可用，请稍后再试'],
  redis: ['redis_unavailable', '系统队列服务暂时不可用，请稍后再试'],
};

/** The 503 a request answers when a dependency failed this way (null for any other error). */
export function asUnavailable(err: unknown): ServiceUnavailableError | null {
  const dep = unavailableDependency(err);
  if (!dep) return null;
  const [code, message] = MESSAGES[dep];
  return new ServiceUnavailableError(message, code);
}
