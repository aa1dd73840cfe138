// Each test file gets its own PostgreSQL schema and Redis key prefix, and removes both afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from '../../src/infra/db';
import { migrate } from '../../src/infra/migrate';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function createTestSchema(): Promise<{ schema: string; db: Db; drop: () => Promise<void> }> {
  const schema = uniqueName('t');
  await migrate(TEST_DATABASE_URL, schema);
  const db = createDb({ url: TEST_DATABASE_URL, schema, max: 5 });
  return {
    schema,
    db,
    drop: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await c.end();
      }
    },
  };
}
