// Applies migrations/*.sql with node-pg-migrate (SQL files with "-- Up Migration" / "-- Down Migration").
import path from 'node:path';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from './logger';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

export async function migrate(databaseUrl: string, schema: string | null, logger?: Logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    if (schema) await client.query(`create schema if not exists "${schema}"`);
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      schema: schema ?? 'public',
      createSchema: true,
      checkOrder: true,
      singleTransaction: true,
      // Several processes may start at once: they wait on an advisory lock per schema, then find nothing to do.
      noLock: false,
      advisoryLockMode: 'wait',
      lockValue: lockIdFor(schema ?? 'public'),
      log: (msg: string) => logger?.debug({ msg }, 'migrate'),
      verbose: false,
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}

function lockIdFor(schema: string): number {
  let h = 7_114_114;
  for (const ch of schema) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}
