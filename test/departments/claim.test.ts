// Claiming (签收) through the department's BullMQ queue: concurrent staff get different tickets, urgent first,
// stale jobs (recalled, signed directly) are completed and skipped.
import { build, type TestApp, type TestUser } from '../helpers/build';
import { createDepartment, flushOutbox, queueOf, staffOf } from '../cases/helpers';

let t: TestApp;
let dispatcher: TestUser;
let staffA: TestUser;
let staffB: TestUser;
let staffC: TestUser;

beforeAll(async () => {
  t = await build();
  dispatcher = await t.createUser('dispatcher');
});
afterAll(async () => {
  await t?.close();
});

async function newDept() {
  const d = await createDepartment(t);
  return d;
}

async function dispatchCases(code: string, n: number, urgency: 'normal' | 'urgent' = 'normal'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.inject({
      method: 'POST',
      url: '/api/cases',
      headers: dispatcher.headers,
      payload: { description: `工单 ${i}`, urgency, departmentCode: code },
    });
    expect(res.statusCode).toBe(201);
    ids.push(res.json().id);
  }
  await flushOutbox(t);
  return ids;
}

// Each call is a new 签收下一件 (its own Idempotency-Key): without one, a repeat within the retry window would return
// the ticket just signed (test/resilience/claim-retry.test.ts).
let claimSeq = 0;
const claim = (u: TestUser, code: string) =>
  t.inject({ method: 'POST', url: `/api/departments/${code}/tickets/claim`, headers: { ...u.headers, 'idempotency-key': `c-${(claimSeq += 1)}` } });

it('staff claiming at once get different tickets; every ticket is signed once', async () => {
  const d = await newDept();
  staffA = await staffOf(t, d.code);
  staffB = await staffOf(t, d.code);
  staffC = await staffOf(t, d.code);
  const ids = await dispatchCases(d.code, 12);
  const users = [staffA, staffB, staffC];
  const results = await Promise.all(Array.from({ length: 15 }, (_, i) => claim(users[i % 3]!, d.code)));
  const ok = results.filter((r) => r.statusCode === 200).map((r) => r.json());
  expect(results.filter((r) => r.statusCode === 404)).toHaveLength(3);
  expect(ok.map((c) => c.id).sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
  const events = await t.app.db.query<{ case_id: number; n: number }>(
    `select case_id, count(*)::int as n from case_events where action = 'sign' and case_id = any($1) group by case_id`,
    [ids],
  );
  expect(events.rows.every((r) => r.n === 1)).toBe(true);
  expect(events.rows).toHaveLength(12);
  const summary = (await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets/summary`, headers: staffA.headers })).json();
  expect(summary).toMatchObject({ waiting: 0, signed: 12, queued: 0 });
  const q = queueOf(t, `transfer-${d.code}`);
  try {
    expect(await q.queue.getJobCounts('completed', 'active', 'prioritized')).toEqual({ completed: 12, active: 0, prioritized: 0 });
  } finally {
    await q.close();
  }
});

it('urgent tickets are claimed before normal ones', async () => {
  const d = await newDept();
  const s = await staffOf(t, d.code);
  const normal = await dispatchCases(d.code, 2, 'normal');
  const urgent = await dispatchCases(d.code, 1, 'urgent');
  expect((await claim(s, d.code)).json().id).toBe(urgent[0]);
  expect((await claim(s, d.code)).json().id).toBe(normal[0]);
  expect((await claim(s, d.code)).json().id).toBe(normal[1]);
});

it('签收下一件 takes the ticket due first: an overdue one before earlier-dispatched ones; the list is in the same order', async () => {
  const d = await newDept();
  const s = await staffOf(t, d.code);
  // Categories with their own limits: complaints get 13 working days, a leak 0.1 s (overdue almost at once).
  const cat = async (code: string) =>
    (await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ($1, $1) returning id`, [`${code}-${d.code}`])).rows[0]!.id;
  const complaint = await cat('complaint');
  const leak = await cat('leak');
  await t.app.db.query(
    `insert into sla_policies (name, urgency, category_code, priority, sign_minutes, resolve_minutes, resolve_working_days)
     values ('投诉 13 个工作日', null, $1, 20, 30, null, 13), ('漏水 0.1 秒', null, $2, 20, 0.001, 0.002, null)`,
    [`complaint-${d.code}`, `leak-${d.code}`],
  );
  const make = async (categoryId: number | null, description: string) => {
    const res = await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description, ...(categoryId ? { categoryId } : {}), departmentCode: d.code } });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: number; resolveDeadline: string }>();
  };
  // Dispatched in an order that neither FIFO nor newest-first would get right.
  const late = await make(complaint, '投诉：13 个工作日');
  const overdue = await make(leak, '漏水：0.1 秒');
  const help = await make(null, '求助：3 个工作日');
  await flushOutbox(t);
  const due = (await t.app.db.query<{ overdue: boolean }>(`select resolve_deadline < now() as overdue from cases where id = $1`, [overdue.id]));
  for (const until = Date.now() + 5000; !due.rows[0]!.overdue && Date.now() < until; ) {
    due.rows = (await t.app.db.query<{ overdue: boolean }>(`select resolve_deadline < now() as overdue from cases where id = $1`, [overdue.id])).rows;
  }
  expect(due.rows[0]!.overdue).toBe(true);

  const list = (await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets`, headers: s.headers })).json<{ id: number; overdue: boolean }[]>();
  expect(list.map((k) => k.id)).toEqual([overdue.id, help.id, late.id]);
  expect(list[0]!.overdue).toBe(true);

  expect((await claim(s, d.code)).json().id).toBe(overdue.id);
  expect((await claim(s, d.code)).json().id).toBe(help.id);
  expect((await claim(s, d.code)).json().id).toBe(late.id);
});

it('a recalled case or one signed directly is skipped (its job completed); a re-dispatch gives a new job', async () => {
  const d = await newDept();
  const s = await staffOf(t, d.code);
  const [a, b, c] = await dispatchCases(d.code, 3);
  const recall = await t.inject({ method: 'POST', url: `/api/cases/${a}/recall`, headers: dispatcher.headers, payload: { note: '派错了' } });
  expect(recall.json()).toMatchObject({ status: 'draft' });
  const direct = await t.inject({ method: 'POST', url: `/api/cases/${b}/sign`, headers: s.headers });
  expect(direct.json()).toMatchObject({ status: 'signed', signedBy: s.id });
  expect((await claim(s, d.code)).json().id).toBe(c);
  expect((await claim(s, d.code)).statusCode).toBe(404);
  // The recalled one goes out again with dispatch number 2.
  await t.inject({ method: 'POST', url: `/api/cases/${a}/dispatch`, headers: dispatcher.headers, payload: { departmentCode: d.code } });
  await flushOutbox(t);
  expect((await claim(s, d.code)).json()).toMatchObject({ id: a, dispatchNo: 2 });
});

it('department ticket lists and notices are scoped; supervisors read any department', async () => {
  const d = await newDept();
  const s = await staffOf(t, d.code);
  const sup = await t.createUser('supervisor');
  const [id] = await dispatchCases(d.code, 1);
  const waiting = (await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets?status=dispatched,reopened`, headers: s.headers })).json();
  expect(waiting.map((x: { id: number }) => x.id)).toEqual([id]);
  const bySup = await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets`, headers: sup.headers });
  expect(bySup.statusCode).toBe(200);
  const list = (await t.inject({ method: 'GET', url: '/api/cases?status=dispatched', headers: s.headers })).json();
  expect(list.every((x: { departmentCode: string }) => x.departmentCode === d.code)).toBe(true);
  expect((await t.inject({ method: 'GET', url: `/api/departments/${d.code}/notices`, headers: s.headers })).json()).toEqual([]);
});
