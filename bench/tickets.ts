// bench/tickets: department staff claiming (签收) and resolving (办结) tickets over REST, against raw BullMQ
// manual fetch + complete, in the same run on the same Redis.
//
//   npm run bench:tickets                    (defaults: 2000 tickets, 8 concurrent staff)
//   TICKETS=5000 STAFF=16 npm run bench:tickets
//
// REST: the service runs in its own process (this file with BENCH_TICKETS_ROLE=server, from src through
// @swc-node/register), listening on loopback; N staff loop over HTTP keep-alive: POST …/tickets/claim, then
// POST /api/cases/:id/resolve, until the queue is empty. Each ticket = 2 requests, each authenticated, with
// PostgreSQL writes (signature, history) and the BullMQ fetch + complete.
// Raw: N loops over one manual-fetch Worker: getNextJob(token, {block: false}) + moveToCompleted, nothing else.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createTestSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../test/helpers/db';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createAuthService } from '../src/auth/service';
import { createLogger } from '../src/infra/logger';
import { bullPrefix, transferJobId, transferQueueName, urgencyPriority } from '../src/departments/queue';
import type { Db } from '../src/infra/db';
import { createCasesService } from '../src/cases/service';
import { createSlaPolicy } from '../src/sla/policy';
import type { AuthUser } from '../src/auth/types';

const TICKETS = Number(process.env.TICKETS ?? 2000);
const STAFF = Number(process.env.STAFF ?? 8);
const ROOT = path.resolve(__dirname, '..');

async function server(): Promise<void> {
  const config = loadConfig({ ...process.env, ARI_ENABLED: 'false', AMI_ENABLED: 'false', MIGRATE_ON_START: 'false' });
  const app = await buildApp({ config, telephony: false });
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.fastify.server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

async function seedTickets(db: Db, deptId: number, code: string, prefix: string, queueName: string, n: number, withCases: boolean): Promise<void> {
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const q = new Queue(queueName, { connection: conn, prefix });
  let ids: number[] = Array.from({ length: n }, (_, i) => i + 1);
  if (withCases) {
    const { rows } = await db.query<{ id: number; tracking_no: string }>(
      `insert into cases (tracking_no, channel, status, department_id, urgency, title, description, dispatch_no, dispatched_at,
                          sla_started_at, resolve_deadline, deadline_version)
       select 'B-' || $1::int || '-' || g, 'phone', 'dispatched', $1::int, 'normal', '压测工单', '压测工单 ' || g, 1, now(), now(), now() + interval '3 days', 1
         from generate_series(1, $2) g returning id, tracking_no`,
      [deptId, n],
    );
    ids = rows.map((r) => r.id);
  }
  for (let i = 0; i < ids.length; i += 1000) {
    await q.addBulk(
      ids.slice(i, i + 1000).map((id) => ({
        name: 'transfer',
        data: { caseId: id, dispatchNo: 1, trackingNo: `B-${id}`, urgency: 'normal', departmentCode: code },
        opts: { jobId: transferJobId(id, 1), priority: urgencyPriority('normal'), removeOnComplete: { age: 3600 } },
      })),
    );
  }
  await q.close();
  conn.disconnect();
}

async function raw(prefix: string, queueName: string): Promise<{ n: number; ms: number }> {
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const w = new Worker(queueName, null, { connection: conn, prefix, autorun: false });
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: STAFF }, async (_, k) => {
      for (let i = 0; ; i++) {
        const token = `raw-${k}-${i}`;
        const job = await w.getNextJob(token, { block: false });
        if (!job) return;
        await job.moveToCompleted({ signed: true }, token, false);
        n += 1;
      }
    }),
  );
  const ms = performance.now() - t0;
  await w.close();
  conn.disconnect();
  return { n, ms };
}

/** The same PostgreSQL work as REST (sign statement, resolve statement) with raw BullMQ, no HTTP: the storage floor. */
async function rawWithPg(db: Db, prefix: string, queueName: string, deptId: number, users: AuthUser[]): Promise<{ n: number; ms: number }> {
  const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const w = new Worker(queueName, null, { connection: conn, prefix, autorun: false });
  const cases = createCasesService({ db, sla: createSlaPolicy({ db }), logger: createLogger('silent'), wake: () => undefined });
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    users.map(async (user, k) => {
      for (let i = 0; ; i++) {
        const token = `pg-${k}-${i}`;
        const job = await w.getNextJob(token, { block: false });
        if (!job) return;
        const signed = await cases.signFromQueue(user, deptId, job.data);
        await job.moveToCompleted({ signed: !!signed }, token, false);
        await cases.resolve(user, signed!.id, { reply: '已办结（压测）' });
        n += 1;
      }
    }),
  );
  const ms = performance.now() - t0;
  await w.close();
  conn.disconnect();
  return { n, ms };
}

function request(agent: http.Agent, port: number, token: string, urlPath: string, body: object): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: urlPath,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function rest(port: number, code: string, tokens: string[]): Promise<{ n: number; ms: number; lat: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STAFF * 2 });
  let n = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    tokens.map(async (token) => {
      for (;;) {
        const s = performance.now();
        const claim = await request(agent, port, token, `/api/departments/${code}/tickets/claim`, {});
        if (claim.status === 404) return;
        if (claim.status !== 200) throw new Error(`claim ${claim.status}: ${claim.body}`);
        const { id } = JSON.parse(claim.body) as { id: number };
        const res = await request(agent, port, token, `/api/cases/${id}/resolve`, { reply: '已办结（压测）' });
        if (res.status !== 200) throw new Error(`resolve ${res.status}: ${res.body}`);
        lat.push(performance.now() - s);
        n += 1;
      }
    }),
  );
  const ms = performance.now() - t0;
  agent.destroy();
  return { n, ms, lat: lat.sort((a, b) => a - b) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  console.log(`bench/tickets: ${TICKETS} tickets, ${STAFF} concurrent staff (REST claim+resolve vs raw BullMQ fetch+complete)`);
  const t = await createTestSchema();
  const redisPrefix = uniqueName('h114b');
  const prefix = bullPrefix(redisPrefix);
  let child: ChildProcess | null = null;
  try {
    const logger = createLogger('silent');
    const auth = createAuthService({ db: t.db, logger });
    const code = 'bench-dept';
    const { rows } = await t.db.query<{ id: number }>(`insert into departments (code, name) values ($1, '压测部门') returning id`, [code]);
    const deptId = rows[0]!.id;
    const tokens: string[] = [];
    for (let i = 0; i < STAFF; i++) {
      const u = await auth.createUser({ username: `bench-staff-${i}`, displayName: `压测${i}`, role: 'department_staff', departmentCode: code });
      tokens.push((await auth.issueToken(u.id, { label: 'bench' })).token);
    }
    const codeB = 'bench-dept-b';
    const deptB = (await t.db.query<{ id: number }>(`insert into departments (code, name) values ($1, '压测部门B') returning id`, [codeB])).rows[0]!.id;
    const usersB: AuthUser[] = [];
    for (let i = 0; i < STAFF; i++) {
      const u = await auth.createUser({ username: `bench-b-${i}`, displayName: `压测B${i}`, role: 'department_staff', departmentCode: codeB });
      usersB.push({ id: u.id, username: u.username, displayName: u.displayName, role: 'department_staff', departmentId: deptB, agentId: null });
    }
    await seedTickets(t.db, deptB, codeB, prefix, transferQueueName(codeB), TICKETS, true);

    await seedTickets(t.db, deptId, code, prefix, 'transfer-bench-raw', TICKETS, false);
    await seedTickets(t.db, deptId, code, prefix, transferQueueName(code), TICKETS, true);

    child = spawn(process.execPath, ['-r', '@swc-node/register', __filename], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_TICKETS_ROLE: 'server',
        NODE_ENV: 'production',
        LOG_LEVEL: process.env.SERVICE_LOG_LEVEL ?? 'warn',
        DATABASE_URL: TEST_DATABASE_URL,
        DB_SCHEMA: t.schema,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: redisPrefix,
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      child!.once('message', (m: { port: number }) => resolve(m.port));
      child!.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
    });

    // Warm-up: a few requests so JIT and connection pools are in place on both sides.
    const warm = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 20; i++) {
      await request(warm, port, tokens[0]!, `/api/departments/${code}/tickets/summary-warm`, {}).catch(() => undefined);
    }
    warm.destroy();

    const r = await raw(prefix, 'transfer-bench-raw');
    const s = await rest(port, code, tokens);
    const p = await rawWithPg(t.db, prefix, transferQueueName(codeB), deptB, usersB);
    const pgRate = (p.n / p.ms) * 1000;
    const rawRate = (r.n / r.ms) * 1000;
    const restRate = (s.n / s.ms) * 1000;
    const signed = await t.db.query<{ n: number }>(`select count(*)::int as n from cases where status = 'resolved'`);
    console.log(`raw BullMQ  fetch+complete : ${r.n} jobs in ${r.ms.toFixed(0)} ms = ${rawRate.toFixed(0)} jobs/s`);
    console.log(
      `REST claim+resolve         : ${s.n} tickets in ${s.ms.toFixed(0)} ms = ${restRate.toFixed(0)} tickets/s ` +
        `(${(restRate * 2).toFixed(0)} req/s; per ticket p50 ${pct(s.lat, 50).toFixed(1)} ms, p95 ${pct(s.lat, 95).toFixed(1)} ms, p99 ${pct(s.lat, 99).toFixed(1)} ms)`,
    );
    console.log(`raw BullMQ + same PG writes: ${p.n} tickets in ${p.ms.toFixed(0)} ms = ${pgRate.toFixed(0)} tickets/s (no HTTP: the storage floor)`);
    console.log(`ratio REST / raw           : ${((restRate / rawRate) * 100).toFixed(1)} % (target ≥ 50 %)`);
    console.log(`ratio REST / raw + PG      : ${((restRate / pgRate) * 100).toFixed(1)} % (what HTTP, auth and JSON cost on top of the writes)`);
    if (signed.rows[0]!.n !== TICKETS * 2 || s.n !== TICKETS || r.n !== TICKETS || p.n !== TICKETS) {
      throw new Error(`lost or duplicated tickets: resolved ${signed.rows[0]!.n}, REST ${s.n}, raw ${r.n}, expected ${TICKETS}`);
    }
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    const redis = new Redis(TEST_REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await t.drop();
  }
}

if (process.env.BENCH_TICKETS_ROLE === 'server') {
  server().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
