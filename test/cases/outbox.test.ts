// Dispatch without loss: the app's Redis goes through a TCP proxy we cut (the shared Redis keeps running).
// While it is down a dispatch commits in PostgreSQL and the outbox row waits; when it is back the relay sends it,
// and the ticket is claimed exactly once. Several relays over the same outbox send each row once.
import { Redis } from 'ioredis';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { TEST_REDIS_URL } from '../helpers/db';
import { OutboxRelay } from '../../src/cases/outbox';
import { createDepartment, flushOutbox, queueOf, staffOf } from './helpers';
import { TcpProxy } from './proxy';

let t: TestApp;
let proxy: TcpProxy;
let dispatcher: TestUser;
let staff: TestUser;
let dept: { id: number; code: string };

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  proxy = new TcpProxy();
  await proxy.up();
  t = await build({ env: { REDIS_URL: proxy.url } });
  dispatcher = await t.createUser('dispatcher');
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
});
afterAll(async () => {
  await proxy.up().catch(() => undefined);
  await t?.close();
  await proxy.down();
});

const pending = async () =>
  (await t.app.db.query<{ n: number }>(`select count(*)::int as n from outbox where sent_at is null`)).rows[0]!.n;

it('Redis down during dispatch: the case waits in the outbox and arrives exactly once when Redis is back', async () => {
  await proxy.down();
  await until(() => t.app.redis.status !== 'ready');

  const res = await t.inject({
    method: 'POST',
    url: '/api/cases',
    headers: dispatcher.headers,
    payload: { description: 'Redis 停机期间派单', departmentCode: dept.code },
  });
  expect(res.statusCode).toBe(201);
  const c = res.json();
  expect(c.status).toBe('dispatched');
  await t.app.workOrders.relay.idle();
  expect(await pending()).toBe(5); // transfer job + 4 SLA timers
  expect(await t.app.workOrders.relay.relayOnce()).toBe(0);

  // Claims fail fast and readable while the queue is unreachable.
  const claimDown = await t.inject({ method: 'POST', url: `/api/departments/${dept.code}/tickets/claim`, headers: staff.headers });
  expect(claimDown.statusCode).toBe(503);
  expect(claimDown.json().error).toBe('queue_unavailable');

  const q = queueOf(t, `transfer-${dept.code}`); // straight to the shared Redis, not through the proxy
  try {
    expect(await q.queue.getJob(`case-${c.id}-d1`)).toBeUndefined();

    await proxy.up(); // the relay is woken by the reconnect, not by the 5 s poll
    await until(async () => (await pending()) === 0, 4000);
    expect((await q.queue.getJobCounts('prioritized', 'wait', 'active', 'completed')).prioritized).toBe(1);

    // A repeated send (a relay that crashed between add and commit) is a no-op thanks to the jobId.
    await t.app.db.query(`update outbox set sent_at = null`);
    t.app.workOrders.relay.wake();
    await flushOutbox(t);
    expect((await q.queue.getJobCounts('prioritized', 'wait')).prioritized).toBe(1);

    await until(() => t.app.workOrders.claimWorkers.ready);
    const claimed = await t.inject({ method: 'POST', url: `/api/departments/${dept.code}/tickets/claim`, headers: staff.headers });
    expect(claimed.statusCode).toBe(200);
    expect(claimed.json()).toMatchObject({ id: c.id, status: 'signed' });
    // A retried claim (same person, within the retry window) answers the ticket already signed, never a second one.
    const again = await t.inject({ method: 'POST', url: `/api/departments/${dept.code}/tickets/claim`, headers: staff.headers });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: c.id, status: 'signed' });
    expect((await q.queue.getJobCounts('prioritized', 'wait')).prioritized).toBe(0);
    const attempts = await t.app.db.query<{ attempts: number }>(`select attempts from outbox order by id limit 1`);
    expect(attempts.rows[0]!.attempts).toBeGreaterThanOrEqual(1);
  } finally {
    await q.close();
  }
});

it('three relays over the same outbox send every row exactly once (FOR UPDATE SKIP LOCKED)', async () => {
  await t.app.workOrders.relay.stop(); // only the relays of this test
  const n = 150;
  await t.app.db.query(
    `insert into outbox (queue, job_name, job_id, data, priority)
     select 'relay-test', 'x', 'r-' || g, jsonb_build_object('n', g), 5 from generate_series(1, $1) g`,
    [n],
  );
  const conns = [0, 1, 2].map(() => new Redis(TEST_REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }));
  await Promise.all(conns.map((r) => until(() => r.status === 'ready')));
  const relays = conns.map(
    (connection) => new OutboxRelay({ db: t.app.db, connection, prefix: t.app.workOrders.bullPrefix, logger: t.app.logger, batchSize: 10 }),
  );
  const added: string[] = [];
  for (const r of relays) {
    const q = r.queueFor('relay-test');
    const orig = q.add.bind(q);
    q.add = (async (name: string, data: unknown, opts: { jobId: string }) => {
      added.push(opts.jobId);
      return orig(name, data, opts as never);
    }) as typeof q.add;
  }
  try {
    await Promise.all(relays.map(async (r) => {
      while ((await r.relayOnce()) > 0);
    }));
    expect(relays.reduce((s, r) => s + r.sent, 0)).toBe(n);
    expect(added.length).toBe(n);
    expect(new Set(added).size).toBe(n);
    expect(relays.filter((r) => r.sent > 0).length).toBeGreaterThan(1);
    expect(await pending()).toBe(0);
    const q = queueOf(t, 'relay-test');
    try {
      expect((await q.queue.getJobCounts('prioritized')).prioritized).toBe(n);
    } finally {
      await q.close();
    }
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    conns.forEach((c) => c.disconnect());
  }
});
