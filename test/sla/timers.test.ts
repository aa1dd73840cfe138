// SLA timers as delayed BullMQ jobs: they fire (yellow, red, 督办, sign overdue) on open cases, do nothing on a
// resolved case or for an old deadline version, and an extension schedules new ones.
import { build, type TestApp, type TestUser } from '../helpers/build';
import { categoryId, createDepartment, flushOutbox, queueOf, staffOf } from '../cases/helpers';

let t: TestApp;
let dispatcher: TestUser;
let supervisor: TestUser;
let staff: TestUser;
let dept: { id: number; code: string };
let fastCategory: number;

beforeAll(async () => {
  t = await build();
  dispatcher = await t.createUser('dispatcher');
  supervisor = await t.createUser('supervisor');
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
  fastCategory = await categoryId(t, 'sla-fast', '测试用快速时限');
  // 0.6 s to sign, 1.8 s to resolve (yellow at 1.35 s), 督办 at the deadline.
  await t.app.db.query(
    `insert into sla_policies (name, urgency, category_code, priority, sign_minutes, resolve_minutes)
     values ('测试：秒级时限', null, 'sla-fast', 1, 0.01, 0.03)`,
  );
});
afterAll(async () => {
  await t?.close();
});

const post = (u: TestUser, url: string, payload: object = {}) => t.inject({ method: 'POST', url, headers: u.headers, payload });

async function dispatchFast(): Promise<{ id: number; deadlineVersion: number }> {
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
  const res = await post(dispatcher, '/api/cases', { description: '时限测试', categoryId: fastCategory, departmentCode: dept.code });
  expect(res.statusCode).toBe(201);
  await flushOutbox(t);
  return res.json();
}

const notices = async (caseId: number) =>
  (await t.app.db.query<{ kind: string }>(`select kind from case_notices where case_id = $1 order by kind`, [caseId])).rows.map((r) => r.kind);

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('on an open case the timers fire: sign overdue, yellow, red, 督办; supervisors see it overdue', async () => {
  const c = await dispatchFast();
  await waitFor(async () => (await notices(c.id)).length === 4, 6000);
  expect(await notices(c.id)).toEqual(['red', 'sign_overdue', 'supervise', 'yellow']);
  const row = (await t.inject({ method: 'GET', url: `/api/cases/${c.id}`, headers: supervisor.headers })).json();
  expect(row).toMatchObject({ warningLevel: 'red', overdue: true });
  expect(row.events.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['overdue', 'supervise']));
  const overdue = (await t.inject({ method: 'GET', url: '/api/cases/overdue', headers: supervisor.headers })).json();
  expect(overdue.map((x: { id: number }) => x.id)).toContain(c.id);
  const inbox = (await t.inject({ method: 'GET', url: `/api/departments/${dept.code}/notices`, headers: staff.headers })).json();
  const mine = inbox.filter((n: { caseId: number }) => n.caseId === c.id);
  expect(mine).toHaveLength(4);
  expect(mine.find((n: { kind: string }) => n.kind === 'supervise').message).toMatch(/^【督办通知】工单 114-/);
  const summary = (await t.inject({ method: 'GET', url: `/api/departments/${dept.code}/tickets/summary`, headers: staff.headers })).json();
  expect(summary.red).toBeGreaterThanOrEqual(1);
  expect(summary.overdue).toBeGreaterThanOrEqual(1);
  const read = await t.inject({ method: 'POST', url: `/api/departments/${dept.code}/notices/${mine[0].id}/read`, headers: staff.headers });
  expect(read.statusCode).toBe(204);
});

it('a timer firing after resolve does nothing', async () => {
  const c = await dispatchFast();
  const claimed = await post(staff, `/api/departments/${dept.code}/tickets/claim`);
  expect(claimed.json().id).toBe(c.id);
  expect((await post(staff, `/api/cases/${c.id}/resolve`, { reply: '已处理' })).json().status).toBe('resolved');
  const q = queueOf(t, 'sla-timers');
  try {
    // Let every timer of this case fire for real, then look at what they did.
    const ids = ['sign', 'yellow', 'red', 'supervise'].map((k) => `sla-${c.id}-v1-${k}`);
    await waitFor(async () => (await Promise.all(ids.map((id) => q.queue.getJobState(id)))).every((s) => s === 'completed'), 6000);
    const jobs = await Promise.all(ids.map((id) => q.queue.getJob(id)));
    expect(jobs.map((j) => j?.returnvalue)).toEqual(['ignored', 'ignored', 'ignored', 'ignored']);
  } finally {
    await q.close();
  }
  expect(await notices(c.id)).toEqual([]);
  const row = (await t.inject({ method: 'GET', url: `/api/cases/${c.id}`, headers: supervisor.headers })).json();
  expect(row).toMatchObject({ status: 'resolved', warningLevel: null, overdue: false });
  // The handler itself, called late again: still nothing.
  expect(await t.app.workOrders.timers.handle({ caseId: c.id, kind: 'red', version: 1 })).toBe('ignored');
});

it('an extension moves the deadline and the timers: new version scheduled, old version ignored', async () => {
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
  const res = await post(dispatcher, '/api/cases', { description: '延期测试', departmentCode: dept.code });
  const c = res.json();
  await flushOutbox(t);
  await post(staff, `/api/departments/${dept.code}/tickets/claim`);
  const req = await post(staff, `/api/cases/${c.id}/extension`, { days: 5, reason: '需要采购配件' });
  expect(req.statusCode).toBe(200);
  const ok = (await post(supervisor, `/api/cases/${c.id}/extension/decision`, { approve: true })).json();
  expect(ok.deadlineVersion).toBe(2);
  expect(Date.parse(ok.resolveDeadline)).toBeGreaterThan(Date.parse(c.resolveDeadline));
  await flushOutbox(t);
  const q = queueOf(t, 'sla-timers');
  try {
    const red2 = await q.queue.getJob(`sla-${c.id}-v2-red`);
    expect(red2).toBeDefined();
    const due = red2!.timestamp + (red2!.opts.delay ?? 0);
    expect(Math.abs(due - Date.parse(ok.resolveDeadline))).toBeLessThan(2000);
    expect(await q.queue.getJob(`sla-${c.id}-v2-supervise`)).toBeDefined();
    expect(await q.queue.getJob(`sla-${c.id}-v2-sign`)).toBeUndefined();
    // The v1 red timer is still queued (it was never removed) but is stale.
    expect(await q.queue.getJob(`sla-${c.id}-v1-red`)).toBeDefined();
  } finally {
    await q.close();
  }
  expect(await t.app.workOrders.timers.handle({ caseId: c.id, kind: 'red', version: 1 })).toBe('ignored');
  expect(await notices(c.id)).toEqual([]);
  // The current version fires (called early here) and is idempotent.
  expect(await t.app.workOrders.timers.handle({ caseId: c.id, kind: 'yellow', version: 2 })).toBe('fired');
  expect(await t.app.workOrders.timers.handle({ caseId: c.id, kind: 'yellow', version: 2 })).toBe('ignored');
  expect(await notices(c.id)).toEqual(['yellow']);
});
