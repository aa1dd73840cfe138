// kill -9 of the service in the middle of work (fault suite a, issue 10): a client submits 300 public requests and
// creates + dispatches 100 cases while the service (its own process, src/main.ts) is killed without warning and
// started again. Afterwards: every acknowledged request is stored (0 missing), nothing is stored twice, every
// stored dispatched case is queued exactly once and claimable once.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { build } from '../helpers/build';
import { createTestSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/db';
import { createDb, type Db } from '../../src/infra/db';
import { bullPrefix, transferQueueName } from '../../src/departments/queue';

const PUBLIC = 300;
const CASES = 100;
const ROOT = path.resolve(__dirname, '../..');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let schema: string;
let drop: () => Promise<void>;
let db: Db;
let inspect: Redis;
let service: ChildProcess | null = null;
const redisPrefix = uniqueName('h114k');

function startService(port: number): ChildProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: TEST_DATABASE_URL,
      DB_SCHEMA: schema,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      ARI_ENABLED: 'false',
      AMI_ENABLED: 'false',
      MIGRATE_ON_START: 'false',
      // The client stands for many residents behind one proxy (each with its own X-Forwarded-For).
      TRUST_PROXY: 'true',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function healthy(base: string): Promise<boolean> {
  const r = await fetch(`${base}/health`);
  return r.status === 200;
}

beforeAll(async () => {
  const s = await createTestSchema();
  schema = s.schema;
  drop = s.drop;
  db = createDb({ url: TEST_DATABASE_URL, schema, max: 3 });
  inspect = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
}, 30_000);
afterAll(async () => {
  if (service && service.exitCode === null) service.kill('SIGKILL');
  inspect?.disconnect();
  await db?.close();
  await drop?.();
});

it('kill -9 while 300 public requests and 100 dispatches are in flight: 0 missing, 0 duplicates, all queued and claimable once', async () => {
  // Users, a department and a category, made with an in-process app on the same schema (closed before the service starts).
  const setup = await build({ schema, env: { REDIS_PREFIX: redisPrefix } });
  const dispatcher = await setup.createUser('dispatcher');
  const code = `kill-${Date.now().toString(36)}`;
  await setup.app.db.query(`insert into departments (code, name) values ($1, '市政管理处')`, [code]);
  const staff = await setup.createUser('department_staff', { departmentCode: code });
  await setup.app.db.query(`insert into categories (code, name) values ('kill-cat', '市政设施') on conflict do nothing`);
  await setup.close();

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  service = startService(port);
  await until('service up', () => healthy(base), 60_000);

  const acked = { public: new Set<number>(), cases: new Set<number>() };
  let inDoubt = 0; // cut while in flight: the client cannot know whether it was stored, and does not resend
  let resent = 0; // refused (never reached the service): resent once it is back
  let killedAt = 0;
  let restartT0 = 0;
  let upMs = 0;
  const post = (url: string, body: object, headers: Record<string, string>) =>
    fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const send = async (url: string, body: object, headers: Record<string, string>, done: () => void) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        const r = await post(url, body, headers);
        if (r.status === 201) done();
        else if (r.status === 503) {
          resent += 1; // told to retry (e.g. still starting)
          await new Promise((res) => setTimeout(res, 50));
          continue;
        } else throw new Error(`unexpected ${r.status} ${await r.text()}`);
        return;
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ECONNREFUSED' && Date.now() < deadline) {
          resent += 1;
          await new Promise((res) => setTimeout(res, 50));
          continue;
        }
        if (code === undefined && (err as Error).message.startsWith('unexpected')) throw err;
        inDoubt += 1;
        return;
      }
    }
  };
  const work: (() => Promise<void>)[] = [];
  for (let i = 0; i < Math.max(PUBLIC, CASES * 3); i++) {
    if (i < PUBLIC) {
      const n = i;
      work.push(() =>
        send('/api/public/requests', { category: 'kill-cat', description: `井盖缺失 #pub-${n}`, location: '解放路' }, { 'x-forwarded-for': `10.${(n >> 8) & 255}.${n & 255}.9` }, () =>
          acked.public.add(n),
        ),
      );
    }
    if (i % 3 === 0 && i / 3 < CASES) {
      const n = i / 3;
      work.push(() => send('/api/cases', { description: `路面塌陷 #case-${n}`, departmentCode: code }, dispatcher.headers, () => acked.cases.add(n)));
    }
  }
  let next = 0;
  // The service is killed once about 40 % of the work was acknowledged, and started again at once; the eight client
  // loops go on through the outage.
  const killer = until('40 % acknowledged', async () => acked.public.size + acked.cases.size >= 0.4 * (PUBLIC + CASES), 60_000).then(async () => {
    service!.kill('SIGKILL');
    killedAt = performance.now();
    await until('service gone', async () => service!.exitCode !== null || service!.signalCode !== null, 10_000);
    restartT0 = performance.now();
    service = startService(port);
    await until('service up again', () => healthy(base), 60_000);
    upMs = performance.now() - restartT0;
  });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < work.length) await work[next++]!();
    }),
  );
  await killer;

  // Stored: one row per marker, never two.
  const stored = async (channel: 'web' | 'phone', re: string) =>
    (
      await db.query<{ n: number; copies: number }>(
        `select substring(description from $2)::int as n, count(*)::int as copies from cases where channel = $1 and description ~ $2 group by 1`,
        [channel, re],
      )
    ).rows;
  const pub = await stored('web', '#pub-(\\d+)');
  const cas = await stored('phone', '#case-(\\d+)');
  const pubStored = new Set(pub.map((r) => r.n));
  const casStored = new Set(cas.map((r) => r.n));
  const missingPublic = [...acked.public].filter((i) => !pubStored.has(i));
  const missingCases = [...acked.cases].filter((i) => !casStored.has(i));
  const duplicates = [...pub, ...cas].filter((r) => r.copies > 1);
  expect(missingPublic).toEqual([]);
  expect(missingCases).toEqual([]);
  expect(duplicates).toEqual([]);
  const { rows: dispatched } = await db.query<{ id: number }>(`select id from cases where channel = 'phone' and status = 'dispatched' and description ~ '#case-'`);
  expect(dispatched.length).toBe(cas.length); // created and dispatched in one transaction: never one without the other

  // Queued: every stored dispatched case exactly once in the department's queue.
  const queue = new Queue(transferQueueName(code), { connection: inspect, prefix: bullPrefix(redisPrefix) });
  const queuedIds = async () => (await queue.getJobs(['prioritized', 'wait'])).map((j) => j.data.caseId as number);
  const checkT0 = performance.now();
  await until('all dispatched cases queued', async () => (await queuedIds()).length === dispatched.length, 20_000);
  const queuedMs = performance.now() - checkT0;
  const queued = await queuedIds();
  expect(new Set(queued).size).toBe(queued.length);
  expect([...queued].sort((a, b) => a - b)).toEqual(dispatched.map((r) => r.id).sort((a, b) => a - b));

  // Claimed: each once.
  const claimed: number[] = [];
  for (let k = 0; k <= dispatched.length; k++) {
    const r = await post(`/api/departments/${code}/tickets/claim`, {}, { ...staff.headers, 'idempotency-key': `kill-${k}` });
    if (r.status === 404) break;
    expect(r.status).toBe(200);
    claimed.push(((await r.json()) as { id: number }).id);
  }
  expect(new Set(claimed).size).toBe(claimed.length);
  expect(claimed.length).toBe(dispatched.length);
  await queue.close();
  service.kill('SIGTERM');
  await until('service stopped', async () => service!.exitCode !== null || service!.signalCode !== null, 20_000);

  process.stdout.write(
    `kill -9 (a): public ${acked.public.size} acknowledged / ${pub.length} stored (${pub.length - acked.public.size} stored but unacknowledged), ` +
      `cases ${acked.cases.size} acknowledged / ${cas.length} stored+dispatched; ${inDoubt} cut in flight (not resent), ${resent} refused and resent; ` +
      `0 missing, 0 duplicates; restart to healthy ${Math.round(upMs)} ms, all ${queued.length} queued ${Math.round(queuedMs)} ms after the client finished, ` +
      `${claimed.length} claimed once each (service gone ${Math.round(restartT0 - killedAt)} ms after kill -9)\n`,
  );
}, 180_000);
