// An app on a fresh PostgreSQL schema and a unique Redis prefix, driven through fastify.inject; cleans up after.
import { buildApp, type App } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger, type Logger } from '../../src/infra/logger';
import type { Role } from '../../src/auth/types';
import { hashPassword } from '../../src/auth/password';
import { createTestSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from './db';

export interface TestUser {
  id: number;
  username: string;
  role: Role;
  agentId: number | null;
  token: string;
  headers: { authorization: string };
  /** Password for the sign-in page (no forced change). */
  password: string;
}

export interface TestApp {
  app: App;
  schema: string;
  inject: App['fastify']['inject'];
  /** A user of that role with a fresh token; agents get an agents row (extension) unless agent: false. */
  createUser(role: Role, opts?: { username?: string; departmentCode?: string; agent?: boolean; displayName?: string }): Promise<TestUser>;
  close(): Promise<void>;
}

let seq = 0;

/** The password of every user createUser() makes (the sign-in page tests type it). */
export const TEST_PASSWORD = 'pw-test-114';
let testPasswordHash: Promise<string> | null = null;

export function testConfig(schema: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: TEST_DATABASE_URL,
    DB_SCHEMA: schema,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: uniqueName('h114t'),
    ARI_ENABLED: 'false',
    AMI_ENABLED: 'false',
    MIGRATE_ON_START: 'false',
    // Jest compiles modules synchronously on first use, which stalls the event loop for longer than any sensible
    // shedding threshold: load shedding is off in tests except where a test turns it on (test/resilience).
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
}

export async function build(
  opts: { env?: Record<string, string>; telephony?: boolean; schema?: string; logger?: Logger } = {},
): Promise<TestApp> {
  const t = opts.schema ? { schema: opts.schema, drop: async () => undefined } : await createTestSchema();
  const config = testConfig(t.schema, opts.env);
  let app: App;
  try {
    app = await buildApp({ config, logger: opts.logger ?? createLogger(config.logLevel), telephony: opts.telephony ?? false });
  } catch (err) {
    await t.drop();
    throw err;
  }

  async function createUser(
    role: Role,
    o: { username?: string; departmentCode?: string; agent?: boolean; displayName?: string } = {},
  ): Promise<TestUser> {
    seq += 1;
    const username = o.username ?? `${role.replace('_', '-')}-${seq}`;
    let departmentCode = o.departmentCode;
    if (role === 'department_staff' && !departmentCode) {
      departmentCode = `dept-${seq}`;
      await app.db.query(`insert into departments (code, name) values ($1, $2) on conflict (code) do nothing`, [
        departmentCode,
        `测试部门${seq}`,
      ]);
    }
    const withAgent = o.agent ?? role === 'agent';
    const user = await app.auth.createUser({
      username,
      displayName: o.displayName ?? `测试${seq}`,
      role,
      departmentCode,
      extension: withAgent ? String(7000 + seq) : undefined,
    });
    const issued = await app.auth.issueToken(user.id, { label: 'test' });
    // One argon2id hash per test process (hashing costs ~25 ms and 19 MiB): every test user shares this password.
    testPasswordHash ??= hashPassword(TEST_PASSWORD);
    await app.db.query(`update users set password_hash = $2 where id = $1`, [user.id, await testPasswordHash]);
    const password = TEST_PASSWORD;
    return {
      password,
      id: user.id,
      username,
      role,
      agentId: user.agentId,
      token: issued.token,
      headers: { authorization: `Bearer ${issued.token}` },
    };
  }

  return {
    app,
    schema: t.schema,
    inject: app.fastify.inject.bind(app.fastify) as App['fastify']['inject'],
    createUser,
    close: async () => {
      await cleanRedis(app).catch(() => undefined);
      await app.close();
      await t.drop();
    },
  };
}

async function cleanRedis(app: App): Promise<void> {
  if (app.redis.status !== 'ready') return;
  const prefix = `${app.config.redisPrefix}:`;
  let cursor = '0';
  do {
    // keyPrefix is not applied to SCAN's MATCH: match the full key, delete without the prefix.
    const [next, keys] = await app.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await app.redis.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
}
