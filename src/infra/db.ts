// The only module that imports pg. Everything else goes through query() / withTransaction().
import pg from 'pg';
import type { Logger } from './logger';

export type Queryable = Pick<pg.PoolClient, 'query'>;
export type Db = ReturnType<typeof createDb>;

// bigint (count(*), bigserial) as JS number: our ids and counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric (averages, rates) as number.
pg.types.setTypeParser(1700, (v) => Number(v));

export interface DbOptions {
  url: string;
  schema?: string | null;
  max?: number;
  /**
   * Idle connections are kept this long (pg's default is 10 s). A new backend costs PostgreSQL a fork and, for
   * its first call record, ~15 ms compiling the trigger functions and planning the prepared statements again:
   * with 10 s, a quiet minute between calls paid that on the next call's writes and screen-pop lookup.
   */
  idleTimeoutMs?: number;
  logger?: Logger;
  /** Bounded waiting per connection (ms; 0 or absent = PostgreSQL's default, i.e. none). */
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** How long a caller waits for a free pooled connection before failing. */
  connectTimeoutMs?: number;
}

export function createDb(opts: DbOptions) {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 10_000,
    // Each test file (or tenant) lives in its own schema; public stays reachable for extensions.
    options: opts.schema ? `-c search_path=${opts.schema},public` : undefined,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    // Set at connection start-up: a locked row or a runaway query fails (→ 503) instead of holding the pool.
    statement_timeout: opts.statementTimeoutMs || undefined,
    lock_timeout: opts.lockTimeoutMs || undefined,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs || undefined,
  });
  // An idle client losing its server (PostgreSQL restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => opts.logger?.warn({ err }, 'postgres idle client error'));
  // A checked-out client losing its server between statements emits 'error' too; without a listener that would
  // crash the process. The statement in flight (or the next one) fails and the request answers 503.
  pool.on('connect', (client) => client.on('error', (err) => opts.logger?.warn({ err: err.message }, 'postgres connection lost')));

  /** A `{ name, text }` statement is prepared once per connection: hot lookups skip re-planning. */
  async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string | { name: string; text: string },
    params: unknown[] = [],
    client?: Queryable,
  ): Promise<pg.QueryResult<R>> {
    if (typeof text === 'string') return (client ?? pool).query<R>(text, params);
    return (client ?? pool).query<R>({ name: text.name, text: text.text, values: params });
  }

  async function withTransaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined); // connection may be gone; the original error matters
      throw err;
    } finally {
      client.release();
    }
  }

  async function ping(): Promise<boolean> {
    try {
      await pool.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  return { pool, query, withTransaction, ping, close: () => pool.end(), schema: opts.schema ?? null };
}
