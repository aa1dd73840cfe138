// Redis killed (-9) and started again empty (fault suite b and e, issue 10 item 1): PostgreSQL is the record and
// the service rebuilds what Redis lost — every dispatched, unclaimed case is claimable again (exactly once) with
// its SLA timers at their original due times, and signed-in agents are back in their state with their console told.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { OwnRedis } from '../helpers/redis-server';
import { createDepartment, flushOutbox, staffOf } from '../cases/helpers';
import { SLA_QUEUE, timerJobId, type TimerKind } from '../../src/sla/timers';

const CASES = 50;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let redis: OwnRedis;
let t: TestApp;
let inspect: Redis;

beforeAll(async () => {
  redis = await OwnRedis.start();
  // Periodic sweep off: what is measured is the Redis-ready hook alone.
  t = await build({ env: { REDIS_URL: redis.url, REBUILD_SWEEP_SEC: '0' } });
  inspect = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: false });
  inspect.on('error', () => undefined);
}, 30_000);
afterAll(async () => {
  inspect?.disconnect();
  await t?.close();
  await redis?.stop();
});

it('dispatched, unclaimed cases are all claimable again with their SLA timers after Redis restarts empty', async () => {
  const dispatcher = await t.createUser('dispatcher');
  const d = await createDepartment(t);
  const staff: TestUser[] = [];
  for (let i = 0; i < 5; i++) staff.push(await staffOf(t, d.code));
  const ids: number[] = [];
  for (let i = 0; i < CASES; i++) {
    const res = await t.inject({
      method: 'POST',
      url: '/api/cases',
      headers: dispatcher.headers,
      payload: { description: `井盖缺失 ${i}`, urgency: i % 10 === 0 ? 'urgent' : 'normal', departmentCode: d.code },
    });
    expect(res.statusCode).toBe(201);
    ids.push(res.json().id);
  }
  await flushOutbox(t);
  const summary = async () => (await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets/summary`, headers: staff[0]!.headers })).json();
  expect(await summary()).toMatchObject({ waiting: CASES, queued: CASES });

  // The timers each case should have: its current deadline version, every kind still ahead.
  const { rows } = await t.app.db.query<{ id: number; deadline_version: number }>(`select id, deadline_version from cases where id = any($1)`, [ids]);
  const kinds: TimerKind[] = ['sign', 'yellow', 'red', 'supervise'];
  const timerIds = rows.flatMap((r) => kinds.map((k) => timerJobId(r.id, r.deadline_version, k)));
  const slaQueue = new Queue(SLA_QUEUE, { connection: inspect, prefix: t.app.workOrders.bullPrefix });
  const delayedTimers = async () => {
    const states = await Promise.all(timerIds.map((id) => slaQueue.getJobState(id)));
    return states.filter((s) => s === 'delayed').length;
  };
  expect(await delayedTimers()).toBe(timerIds.length);
  const dueBefore = new Map<string, number>();
  for (const id of timerIds.slice(0, 8)) {
    const j = await slaQueue.getJob(id);
    dueBefore.set(id, j!.timestamp + (j!.opts.delay ?? 0));
  }

  await t.app.rebuilder.idle();
  const runsBefore = t.app.rebuilder.runs.length;
  await inspect.set('fault-marker', '1');
  await redis.restart();
  const restartedAt = performance.now();
  // Came back empty (the service may already be re-creating its jobs: only our marker tells).
  expect(await until('inspection reconnected', async () => (await inspect.exists('fault-marker')) === 0 && 'empty')).toBe('empty');

  // Rebuilt: the queue length matches PostgreSQL again and every timer is back.
  await until('transfer jobs rebuilt', async () => (await summary()).queued === CASES, 10_000);
  const queuedAfterMs = performance.now() - restartedAt;
  await until('SLA timers rebuilt', async () => (await delayedTimers()) === timerIds.length, 10_000);
  const timersAfterMs = performance.now() - restartedAt;
  for (const [id, due] of dueBefore) {
    const j = await slaQueue.getJob(id);
    // The same due time (within the time it takes to add the jobs), not "now + the whole limit" (days).
    expect(Math.abs(j!.timestamp + (j!.opts.delay ?? 0) - due)).toBeLessThan(2000);
  }

  // Every case claimed exactly once, by five staff at the same time.
  const claimed: number[] = [];
  let key = 0;
  await Promise.all(
    staff.map(async (s) => {
      const deadline = Date.now() + 10_000;
      while (claimed.length < CASES && Date.now() < deadline) {
        const r = await t.inject({
          method: 'POST',
          url: `/api/departments/${d.code}/tickets/claim`,
          headers: { ...s.headers, 'idempotency-key': `k-${(key += 1)}` },
        });
        if (r.statusCode === 200) claimed.push(r.json().id);
        else if (r.statusCode === 404) break;
        else expect([503]).toContain(r.statusCode);
      }
    }),
  );
  const allClaimedMs = performance.now() - restartedAt;
  expect(new Set(claimed).size).toBe(claimed.length); // no duplicates
  expect([...claimed].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b)); // none missing
  expect(allClaimedMs).toBeLessThan(10_000);
  const signs = await t.app.db.query<{ n: number }>(`select count(*)::int as n from case_events where action = 'sign' and case_id = any($1)`, [ids]);
  expect(signs.rows[0]!.n).toBe(CASES);
  const run = t.app.rebuilder.runs.slice(runsBefore).find((r) => r.reason === 'redis ready');
  expect(run).toBeDefined();
  process.stdout.write(
    `redis restart (b): ${CASES} cases → queue rebuilt after ${Math.round(queuedAfterMs)} ms, ${timerIds.length} SLA timers after ${Math.round(timersAfterMs)} ms, all ${claimed.length} claimed (0 duplicates, 0 missing) after ${Math.round(allClaimedMs)} ms; rebuild run ${run!.ms} ms ${JSON.stringify(run!.results)}\n`,
  );
  await slaQueue.close();
}, 60_000);

it('signed-in agents are back in their state after Redis restarts empty, and their consoles hear it', async () => {
  const ready = await t.createUser('agent');
  const paused = await t.createUser('agent');
  const gone = await t.createUser('agent');
  const post = (u: TestUser, url: string, payload?: object) => t.inject({ method: 'POST', url, headers: u.headers, ...(payload ? { payload } : {}) });
  expect((await post(ready, '/api/agents/me/login')).statusCode).toBe(200);
  expect((await post(paused, '/api/agents/me/login')).statusCode).toBe(200);
  expect((await post(paused, '/api/agents/me/pause', { reason: '培训' })).statusCode).toBe(200);
  expect((await post(gone, '/api/agents/me/login')).statusCode).toBe(200);
  expect((await post(gone, '/api/agents/me/logout')).statusCode).toBe(200);
  // They signed in a minute before the outage (a state younger than a few seconds may still be being written).
  await t.app.db.query(`update agent_state_log set at = at - interval '1 minute' where agent_id = any($1)`, [[ready.agentId, paused.agentId, gone.agentId]]);

  await t.app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const port = (t.app.fastify.server.address() as { port: number }).port;
  const consoles = new Map<number, Record<string, unknown>[]>();
  const sockets: WebSocket[] = [];
  for (const u of [ready, paused]) {
    const msgs: Record<string, unknown>[] = [];
    consoles.set(u.agentId!, msgs);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/agents/ws`, { headers: { authorization: `Bearer ${u.token}` } });
    ws.on('message', (data) => msgs.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    sockets.push(ws);
  }
  // The socket is attached (subscribed) once it answers a ping.
  for (const [i, ws] of sockets.entries()) {
    ws.send('ping');
    const msgs = [...consoles.values()][i]!;
    await until('console attached', async () => msgs.some((m) => m.type === 'pong'));
  }

  await redis.restart();
  const restartedAt = performance.now();
  const restoredMsg = (id: number) => consoles.get(id)!.find((m) => m.type === 'agent.state' && m.restored === true);
  await until('consoles told', async () => restoredMsg(ready.agentId!) && restoredMsg(paused.agentId!), 10_000);
  const toldMs = performance.now() - restartedAt;
  expect(restoredMsg(ready.agentId!)).toMatchObject({ state: 'ready', reason: null });
  expect(restoredMsg(paused.agentId!)).toMatchObject({ state: 'paused', reason: '培训' });

  const me = async (u: TestUser) => (await t.inject({ method: 'GET', url: '/api/agents/me', headers: u.headers })).json();
  expect(await me(ready)).toMatchObject({ state: 'ready' });
  expect(await me(paused)).toMatchObject({ state: 'paused', reason: '培训' });
  expect(await me(gone)).toMatchObject({ state: 'offline' });
  // The ready agent can be reserved for a call again.
  expect(await t.app.acd.reserve('00000000-0000-4000-8000-00000000000a', null)).toMatchObject({ agentId: ready.agentId });
  for (const ws of sockets) ws.close();
  process.stdout.write(`redis restart (e): 2 signed-in agents restored (ready, paused 培训), 1 signed-out left offline; consoles told after ${Math.round(toldMs)} ms\n`);
}, 60_000);

it('the sweep removes a job whose case no longer waits in that queue, so a case is never in two queues', async () => {
  const dispatcher = await t.createUser('dispatcher');
  const a = await createDepartment(t);
  const b = await createDepartment(t);
  const res = await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description: '改派', departmentCode: a.code } });
  const id = res.json().id as number;
  await flushOutbox(t);
  // Recalled and sent to another department: the first queue still holds the old job until something removes it.
  expect((await t.inject({ method: 'POST', url: `/api/cases/${id}/recall`, headers: dispatcher.headers, payload: {} })).statusCode).toBe(200);
  expect((await t.inject({ method: 'POST', url: `/api/cases/${id}/dispatch`, headers: dispatcher.headers, payload: { departmentCode: b.code } })).statusCode).toBe(200);
  await flushOutbox(t);
  const qa = new Queue(`transfer-${a.code}`, { connection: inspect, prefix: t.app.workOrders.bullPrefix });
  const qb = new Queue(`transfer-${b.code}`, { connection: inspect, prefix: t.app.workOrders.bullPrefix });
  const waiting = async (q: Queue) => (await q.getJobs(['prioritized', 'wait'])).map((j) => j.data.caseId as number);
  await t.app.rebuilder.idle();
  t.app.rebuilder.wake('sweep');
  await t.app.rebuilder.idle();
  expect(await waiting(qa)).toEqual([]);
  expect(await waiting(qb)).toEqual([id]);
  expect(t.app.rebuilder.runs.at(-1)!.results['work-orders']).toMatchObject({ staleJobsRemoved: 1, transferJobsAdded: 0 });
  await qa.close();
  await qb.close();
});

it('a timer that fell due while Redis was gone fires once after the rebuild, and a second rebuild does not fire it again', async () => {
  const dispatcher = await t.createUser('dispatcher');
  const d = await createDepartment(t);
  const res = await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description: '路灯倒伏', departmentCode: d.code } });
  const id = res.json().id as number;
  await flushOutbox(t);
  await t.app.rebuilder.idle();
  // Redis goes away, and meanwhile the case's deadline passes (moved into the past instead of waiting days).
  await redis.kill();
  await t.app.db.query(
    `update cases set sla_started_at = now() - interval '2 days', resolve_deadline = now() - interval '1 minute', sign_deadline = now() - interval '1 day' where id = $1`,
    [id],
  );
  await redis.restart();
  const notices = async () =>
    (await t.app.db.query<{ kind: string }>(`select kind from case_notices where case_id = $1 order by kind`, [id])).rows.map((r) => r.kind);
  await until('overdue notices', async () => (await notices()).includes('red') && (await notices()).includes('sign_overdue'), 15_000);
  await t.app.rebuilder.idle();
  t.app.rebuilder.wake('sweep');
  await t.app.rebuilder.idle();
  const sweep = t.app.rebuilder.runs.at(-1)!.results['work-orders'] as { timersAdded: number };
  expect(sweep.timersAdded).toBe(0);
  const kinds = await notices();
  expect(kinds.filter((k) => k === 'red')).toHaveLength(1);
  expect(kinds.filter((k) => k === 'sign_overdue')).toHaveLength(1);
  const { rows } = await t.app.db.query<{ warning_level: string }>(`select warning_level from cases where id = $1`, [id]);
  expect(rows[0]!.warning_level).toBe('red');
}, 60_000);
