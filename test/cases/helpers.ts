// Fixtures for work-order tests: departments, staff, cases in a given status, waiting for the outbox relay.
import type { TestApp, TestUser } from '../helpers/build';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../helpers/db';

let seq = 0;

export async function createDepartment(t: TestApp, name?: string): Promise<{ id: number; code: string }> {
  seq += 1;
  const code = `d${seq}-${Math.random().toString(36).slice(2, 7)}`;
  const { rows } = await t.app.db.query<{ id: number }>(`insert into departments (code, name) values ($1, $2) returning id`, [
    code,
    name ?? `测试部门${seq}`,
  ]);
  return { id: rows[0]!.id, code };
}

export async function staffOf(t: TestApp, code: string, displayName?: string): Promise<TestUser> {
  return t.createUser('department_staff', { departmentCode: code, displayName });
}

export async function categoryId(t: TestApp, code: string, name: string, parentCode?: string): Promise<number> {
  const { rows } = await t.app.db.query<{ id: number }>(
    `insert into categories (code, name, parent_id) values ($1, $2, (select id from categories where code = $3))
     on conflict (code) do update set name = excluded.name returning id`,
    [code, name, parentCode ?? null],
  );
  return rows[0]!.id;
}

/** Waits until the outbox is empty (the relay was woken by the commit). */
export async function flushOutbox(t: TestApp, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await t.app.workOrders.relay.idle();
    const { rows } = await t.app.db.query<{ n: number }>(`select count(*)::int as n from outbox where sent_at is null`);
    if (rows[0]!.n === 0) return;
    if (Date.now() > until) throw new Error(`outbox still has ${rows[0]!.n} pending rows`);
    t.app.workOrders.relay.wake();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A BullMQ Queue handle on the test app's prefix (a separate connection: inspection only). */
export function queueOf(t: TestApp, name: string): { queue: Queue; close: () => Promise<void> } {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix: t.app.workOrders.bullPrefix });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}
