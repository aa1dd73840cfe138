// Every action in every status it does not allow → 409 illegal_transition (nothing written); roles → 403;
// malformed input → 400 with a Chinese message.
import { build, type TestApp, type TestUser } from '../helpers/build';
import { TRANSITIONS, type CaseAction } from '../../src/cases/state';
import { STATUSES } from '../../src/case-model/status';
import { createDepartment, staffOf } from './helpers';

let t: TestApp;
let agent: TestUser;
let dispatcher: TestUser;
let staff: TestUser;
let dept: { id: number; code: string };
let caseId: number;
let otherCaseId: number;

beforeAll(async () => {
  t = await build();
  agent = await t.createUser('agent');
  dispatcher = await t.createUser('dispatcher');
  dept = await createDepartment(t);
  staff = await staffOf(t, dept.code);
  caseId = (await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description: '状态机测试' } })).json().id;
  otherCaseId = (await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description: '并单目标' } })).json().id;
  await t.app.db.query(`update cases set department_id = $2, contact_phone = '13800000000' where id = $1`, [caseId, dept.id]);
});
afterAll(async () => {
  await t?.close();
});

type Call = { user: () => TestUser; path: string; body: object };
const CALLS: Record<CaseAction, Call> = {
  dispatch: { user: () => dispatcher, path: 'dispatch', body: { departmentCode: 'x' } },
  recall: { user: () => dispatcher, path: 'recall', body: {} },
  sign: { user: () => staff, path: 'sign', body: {} },
  progress: { user: () => staff, path: 'progress', body: { note: '进展' } },
  resolve: { user: () => staff, path: 'resolve', body: { reply: '答复' } },
  return: { user: () => staff, path: 'return', body: { reason: '理由' } },
  request_extension: { user: () => staff, path: 'extension', body: { days: 1, reason: '理由' } },
  approve_extension: { user: () => dispatcher, path: 'extension/decision', body: { approve: true } },
  refuse_extension: { user: () => dispatcher, path: 'extension/decision', body: { approve: false } },
  start_callback: { user: () => agent, path: 'callback/call', body: {} },
  callback_close: { user: () => agent, path: 'callback', body: { solved: true, satisfaction: 'satisfied' } },
  callback_reopen: { user: () => agent, path: 'callback', body: { solved: false, satisfaction: 'unsatisfied' } },
  callback_partial: { user: () => agent, path: 'callback', body: { solved: true, satisfaction: 'satisfied' } },
  merge: { user: () => dispatcher, path: 'merge', body: { intoCaseId: 0 } },
};

// Click-to-call also works on a case already in callback (a second attempt).
const EXTRA_ALLOWED: Partial<Record<CaseAction, string[]>> = { start_callback: ['callback'] };

const cases: [CaseAction, string][] = [];
for (const action of Object.keys(TRANSITIONS) as CaseAction[]) {
  const allowed = [...TRANSITIONS[action].from, ...(EXTRA_ALLOWED[action] ?? [])] as string[];
  for (const status of STATUSES) if (!allowed.includes(status)) cases.push([action, status]);
}

describe('illegal transitions', () => {
  it('cover every action', () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  it.each(cases)('%s in status %s → 409 illegal_transition, nothing written', async (action, status) => {
    await t.app.db.query(`update cases set status = $2 where id = $1`, [caseId, status]);
    const before = (await t.app.db.query<{ n: number }>(`select count(*)::int as n from case_events where case_id = $1`, [caseId])).rows[0]!.n;
    const c = CALLS[action];
    const body = action === 'merge' ? { intoCaseId: otherCaseId } : c.body;
    const res = await t.inject({ method: 'POST', url: `/api/cases/${caseId}/${c.path}`, headers: c.user().headers, payload: body });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe('illegal_transition');
    expect(res.json().message).toMatch(/^工单当前状态为「.+」，不能.+/);
    const after = await t.app.db.query<{ n: number; status: string }>(
      `select (select count(*)::int from case_events where case_id = $1) as n, status from cases where id = $1`,
      [caseId],
    );
    expect(after.rows[0]).toEqual({ n: before, status });
  });
});

describe('roles and input', () => {
  it('roles that may never do an action get 403 before anything else', async () => {
    await t.app.db.query(`update cases set status = 'dispatched' where id = $1`, [caseId]);
    const tries: [TestUser, string, object][] = [
      [staff, 'dispatch', { departmentCode: dept.code }],
      [agent, 'progress', { note: 'x' }],
      [dispatcher, 'resolve', { reply: 'x' }],
      [agent, 'extension/decision', { approve: true }],
      [staff, 'callback', { solved: true, satisfaction: 'satisfied' }],
      [agent, 'recall', {}],
      [agent, 'merge', { intoCaseId: otherCaseId }],
    ];
    for (const [u, path, body] of tries) {
      const res = await t.inject({ method: 'POST', url: `/api/cases/${caseId}/${path}`, headers: u.headers, payload: body });
      expect([path, res.statusCode]).toEqual([path, 403]);
    }
    expect((await t.inject({ method: 'POST', url: `/api/cases/${caseId}/sign` })).statusCode).toBe(401);
    expect((await t.inject({ method: 'POST', url: '/api/cases', headers: staff.headers, payload: { description: 'x' } })).statusCode).toBe(403);
    expect((await t.inject({ method: 'GET', url: '/api/cases/overdue', headers: agent.headers })).statusCode).toBe(403);
  });

  it('malformed input answers 400 with a Chinese message, unknown things 404/400', async () => {
    const bad: [TestUser, string, string, object | undefined][] = [
      [dispatcher, 'POST', '/api/cases', {}],
      [dispatcher, 'POST', '/api/cases', { description: '   ' }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', urgency: 'very' }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', contactPhone: 'abc' }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', categoryId: 999999 }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', callIds: ['not-a-uuid'] }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', callIds: ['00000000-0000-4000-8000-000000000000'] }],
      [dispatcher, 'POST', '/api/cases', { description: 'x', extra: 1 }],
      [dispatcher, 'POST', `/api/cases/${caseId}/dispatch`, {}],
      [staff, 'POST', `/api/cases/${caseId}/progress`, { note: '' }],
      [staff, 'POST', `/api/cases/${caseId}/extension`, { reason: '没有天数' }],
      [staff, 'POST', `/api/cases/${caseId}/extension`, { days: 0, reason: 'x' }],
      [staff, 'POST', `/api/cases/${caseId}/extension`, { days: 1, until: '2030-01-01T00:00:00Z', reason: 'x' }],
      [dispatcher, 'POST', `/api/cases/${caseId}/extension/decision`, { approve: 'maybe' }],
      [agent, 'POST', `/api/cases/${caseId}/callback`, { solved: true, satisfaction: 'happy' }],
      [dispatcher, 'GET', '/api/cases?status=unknown', undefined],
      [dispatcher, 'GET', '/api/cases/abc', undefined],
      [staff, 'GET', `/api/departments/${dept.code}/tickets?status=nope`, undefined],
      [staff, 'GET', '/api/departments/BAD%20CODE/tickets', undefined],
    ];
    for (const [u, method, url, payload] of bad) {
      if (url.includes('/extension')) await t.app.db.query(`update cases set status = 'in_progress' where id = $1`, [caseId]);
      const res = await t.inject({ method: method as 'GET', url, headers: u.headers, payload });
      expect([url, payload, res.statusCode]).toEqual([url, payload, 400]);
      expect(res.json().message).toMatch(/[\u4e00-\u9fa5]/);
    }
    const missing: [TestUser, string, string, object | undefined][] = [
      [dispatcher, 'GET', '/api/cases/99999999', undefined],
      [dispatcher, 'POST', '/api/cases/99999999/dispatch', { departmentCode: dept.code }],
      [agent, 'POST', '/api/calls/00000000-0000-4000-8000-000000000000/case', { description: 'x' }],
      [staff, 'GET', '/api/departments/no-such-dept/tickets/summary', undefined],
    ];
    for (const [u, method, url, payload] of missing) {
      const res = await t.inject({ method: method as 'GET', url, headers: u.headers, payload });
      expect([url, res.statusCode]).toEqual([url, 404]);
    }
    await t.app.db.query(`update cases set status = 'draft' where id = $1`, [caseId]);
    const unknownDept = await t.inject({ method: 'POST', url: `/api/cases/${caseId}/dispatch`, headers: dispatcher.headers, payload: { departmentCode: 'no-such-dept' } });
    expect(unknownDept.statusCode).toBe(404);
    expect(unknownDept.json().message).toMatch(/部门/);
  });
});
