// The callback list (回访) and recording outcomes: roles, ordering, 满意/基本满意 close, 不满意 reopens.
import { build, type TestApp, type TestUser } from '../helpers/build';
import { createDepartment, flushOutbox, staffOf } from '../cases/helpers';

let t: TestApp;
let agent: TestUser;
let agentNoSeat: TestUser;
let dispatcher: TestUser;
let staff: TestUser;
let dept: { id: number; code: string };

beforeAll(async () => {
  t = await build();
  agent = await t.createUser('agent');
  agentNoSeat = await t.createUser('supervisor');
  dispatcher = await t.createUser('dispatcher');
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
});
afterAll(async () => {
  await t?.close();
});

const post = (u: TestUser, url: string, payload: object = {}) => t.inject({ method: 'POST', url, headers: u.headers, payload });

async function resolvedCase(phone: string | null = '13500000000'): Promise<number> {
  const c = (await post(dispatcher, '/api/cases', { description: '回访测试', departmentCode: dept.code, ...(phone ? { contactPhone: phone } : {}) })).json();
  await flushOutbox(t);
  expect((await post(staff, `/api/cases/${c.id}/sign`)).json().status).toBe('signed');
  await post(staff, `/api/cases/${c.id}/resolve`, { reply: '已处理完毕' });
  return c.id;
}

it('lists resolved cases oldest first; department staff may not see or record callbacks', async () => {
  const a = await resolvedCase();
  const b = await resolvedCase();
  const list = (await t.inject({ method: 'GET', url: '/api/callbacks', headers: agent.headers })).json();
  const ids = list.map((c: { id: number }) => c.id);
  expect(ids.indexOf(a)).toBeLessThan(ids.indexOf(b));
  expect((await t.inject({ method: 'GET', url: '/api/callbacks', headers: staff.headers })).statusCode).toBe(403);
  expect((await post(staff, `/api/cases/${a}/callback`, { solved: true, satisfaction: 'satisfied' })).statusCode).toBe(403);
  expect((await post(dispatcher, `/api/cases/${a}/callback`, { solved: true, satisfaction: 'satisfied' })).statusCode).toBe(403);
});

it('records each outcome in case_callbacks; closed cases leave the list; 不满意 reopens', async () => {
  const a = await resolvedCase();
  const b = await resolvedCase();
  expect((await post(agent, `/api/cases/${a}/callback`, { solved: true, satisfaction: 'basically_satisfied', note: '基本解决' })).json()).toMatchObject({
    status: 'closed',
  });
  expect((await post(agent, `/api/cases/${a}/callback`, { solved: true, satisfaction: 'satisfied' })).statusCode).toBe(409);
  const reopened = (await post(agent, `/api/cases/${b}/callback`, { solved: false, satisfaction: 'unsatisfied', note: '没人来修' })).json();
  expect(reopened).toMatchObject({ status: 'reopened', departmentCode: dept.code, dispatchNo: 2 });
  const rows = await t.app.db.query(`select case_id, solved, satisfaction, note from case_callbacks where case_id = any($1) order by id`, [[a, b]]);
  expect(rows.rows).toEqual([
    { case_id: a, solved: true, satisfaction: 'basically_satisfied', note: '基本解决' },
    { case_id: b, solved: false, satisfaction: 'unsatisfied', note: '没人来修' },
  ]);
  const ids = (await t.inject({ method: 'GET', url: '/api/callbacks', headers: agent.headers })).json().map((c: { id: number }) => c.id);
  expect(ids).not.toContain(a);
  expect(ids).not.toContain(b);
  const history = (await t.inject({ method: 'GET', url: `/api/cases/${b}`, headers: agent.headers })).json().events;
  expect(history.at(-1)).toMatchObject({ action: 'callback_reopen', fromStatus: 'resolved', toStatus: 'reopened', note: '回访结果：未解决，不满意。没人来修' });
});

it('click-to-call: 503 ari_unavailable while telephony is absent or failing; needs an agent seat and a phone number', async () => {
  const id = await resolvedCase();
  expect((await post(agent, `/api/cases/${id}/callback/call`)).json()).toMatchObject({ error: 'ari_unavailable' });
  t.app.workOrders.callbacks.setPlaceCall(async () => {
    throw new Error('ARI down');
  });
  try {
    const res = await post(agent, `/api/cases/${id}/callback/call`);
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toBe('ari_unavailable');
    const noSeat = await post(agentNoSeat, `/api/cases/${id}/callback/call`);
    expect(noSeat.statusCode).toBe(403);
    const noPhone = await resolvedCase(null);
    expect((await post(agent, `/api/cases/${noPhone}/callback/call`)).json().error).toBe('no_contact_phone');
  } finally {
    t.app.workOrders.callbacks.setPlaceCall(null);
  }
  // A failed originate leaves the case resolved.
  expect((await t.inject({ method: 'GET', url: `/api/cases/${id}`, headers: agent.headers })).json().status).toBe('resolved');
});
