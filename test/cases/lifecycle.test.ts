import { build, type TestApp, type TestUser } from '../helpers/build';
import { insertCall } from '../helpers/calls';
import { categoryId, createDepartment, flushOutbox, queueOf, staffOf } from './helpers';

let t: TestApp;
let agent: TestUser;
let dispatcher: TestUser;
let supervisor: TestUser;
let staff: TestUser;
let otherStaff: TestUser;
let dept: { id: number; code: string };
let other: { id: number; code: string };
let catHeating: number;

beforeAll(async () => {
  // Claims here are separate 签收下一件 clicks: no retry window (its own test: test/resilience/claim-retry.test.ts).
  t = await build({ env: { CLAIM_RETRY_WINDOW_SEC: '0' } });
  agent = await t.createUser('agent', { displayName: '刘晓燕' });
  dispatcher = await t.createUser('dispatcher', { displayName: '派单员王芳' });
  supervisor = await t.createUser('supervisor');
  dept = await createDepartment(t, '供热公司');
  other = await createDepartment(t, '自来水公司');
  staff = await staffOf(t, dept.code, '张志刚');
  otherStaff = await staffOf(t, other.code);
  await categoryId(t, 'help', '求助');
  catHeating = await categoryId(t, 'help-heating', '供暖', 'help');
});
afterAll(async () => {
  await t?.close();
});

const post = (u: TestUser, url: string, payload?: object) => t.inject({ method: 'POST', url, headers: u.headers, payload: payload ?? {} });
const get = (u: TestUser, url: string) => t.inject({ method: 'GET', url, headers: u.headers });

describe('the whole lifecycle: call → case → dispatch → claim → progress → resolve → callback → closed', () => {
  let callId: string;
  let caseId: number;
  let trackingNo: string;

  it('an agent creates a case from a call: caller becomes the contact, notes the description', async () => {
    const caller = await t.app.db.query<{ id: number }>(`insert into callers (number, name) values ('13800138000', '李女士') returning id`);
    callId = await insertCall(t.app.db, { callerNumber: '13800138000', agentId: agent.agentId, startedAt: new Date(), callerId: caller.rows[0]!.id });
    expect((await post(agent, `/api/calls/${callId}/notes`, { content: '小区暖气不热，室温 15 度', categoryId: catHeating })).statusCode).toBe(201);
    const res = await post(agent, `/api/calls/${callId}/case`, { urgency: 'normal' });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    caseId = c.id;
    trackingNo = c.trackingNo;
    expect(c.trackingNo).toMatch(/^114-\d{8}-\d{6}$/);
    expect(c).toMatchObject({
      status: 'draft',
      statusLabel: '待派单',
      channel: 'phone',
      contactName: '李女士',
      contactPhone: '13800138000',
      callerId: caller.rows[0]!.id,
      categoryId: catHeating,
      callIds: [callId],
      description: '小区暖气不热，室温 15 度',
    });
    const detail = (await get(agent, `/api/cases/${caseId}`)).json();
    expect(detail.events).toHaveLength(1);
    expect(detail.events[0]).toMatchObject({ action: 'create', fromStatus: null, toStatus: 'draft', actorName: '刘晓燕' });
    expect(detail.events[0].detail.callNotes[0].content).toBe('小区暖气不热，室温 15 度');
  });

  it('a draft shows in the dispatcher inbox; the dispatcher dispatches; the job lands in transfer-<code>', async () => {
    const inbox = (await get(dispatcher, '/api/cases?status=draft')).json();
    expect(inbox.map((c: { id: number }) => c.id)).toContain(caseId);
    const res = await post(dispatcher, `/api/cases/${caseId}/dispatch`, { departmentCode: dept.code, note: '请尽快处理' });
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c).toMatchObject({ status: 'dispatched', departmentCode: dept.code, departmentName: '供热公司', dispatchNo: 1, deadlineVersion: 1 });
    expect(Date.parse(c.resolveDeadline)).toBeGreaterThan(Date.now());
    await flushOutbox(t);
    const q = queueOf(t, `transfer-${dept.code}`);
    try {
      const job = await q.queue.getJob(`case-${caseId}-d1`);
      expect(job?.data).toMatchObject({ caseId, dispatchNo: 1, trackingNo });
      // Priority = the resolve deadline in 5-minute steps since 2026-01-01: the ticket due first is claimed first.
      expect(job?.opts.priority).toBe(Math.floor((Date.parse(c.resolveDeadline) - Date.UTC(2026, 0, 1)) / 300_000) + 1);
    } finally {
      await q.close();
    }
    const timers = queueOf(t, 'sla-timers');
    try {
      expect((await timers.queue.getDelayed()).map((j) => j.id).sort()).toEqual(
        [`sla-${caseId}-v1-red`, `sla-${caseId}-v1-sign`, `sla-${caseId}-v1-supervise`, `sla-${caseId}-v1-yellow`].sort(),
      );
    } finally {
      await timers.close();
    }
  });

  it('the department sees it in its summary; staff claim it (签收)', async () => {
    const s = (await get(staff, `/api/departments/${dept.code}/tickets/summary`)).json();
    expect(s).toMatchObject({ departmentName: '供热公司', waiting: 1, signed: 0, queued: 1 });
    const res = await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: caseId, status: 'signed', signedBy: staff.id, signedByName: '张志刚' });
    const empty = await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    expect(empty.statusCode).toBe(404);
    expect(empty.json()).toEqual({ error: 'queue_empty', message: '当前没有待签收的工单' });
    const mine = (await get(staff, `/api/departments/${dept.code}/tickets?mine=true`)).json();
    expect(mine.map((c: { id: number }) => c.id)).toEqual([caseId]);
  });

  it('progress notes, then resolve with a reply', async () => {
    expect((await post(staff, `/api/cases/${caseId}/progress`, { note: '已派维修人员上门' })).json().status).toBe('in_progress');
    expect((await post(staff, `/api/cases/${caseId}/progress`, { note: '更换阀门' })).json().status).toBe('in_progress');
    const res = await post(staff, `/api/cases/${caseId}/resolve`, { reply: '已更换阀门，室温恢复到 20 度' });
    expect(res.json()).toMatchObject({ status: 'resolved', reply: '已更换阀门，室温恢复到 20 度' });
  });

  it('resolved cases are in the callback list; 满意 closes the case', async () => {
    const list = (await get(agent, '/api/callbacks')).json();
    expect(list.map((c: { id: number }) => c.id)).toContain(caseId);
    const res = await post(agent, `/api/cases/${caseId}/callback`, { solved: true, satisfaction: 'satisfied', note: '市民表示感谢' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'closed', satisfaction: 'satisfied' });
    const detail = (await get(supervisor, `/api/cases/${caseId}`)).json();
    expect(detail.events.map((e: { action: string; toStatus: string }) => `${e.action}:${e.toStatus}`)).toEqual([
      'create:draft',
      'dispatch:dispatched',
      'sign:signed',
      'progress:in_progress',
      'progress:in_progress',
      'resolve:resolved',
      'callback_close:closed',
    ]);
    for (const e of detail.events) expect(e.actorId).not.toBeNull();
  });

  it('another department\'s staff get 403 on the case, its tickets and its queue', async () => {
    expect((await get(otherStaff, `/api/cases/${caseId}`)).statusCode).toBe(403);
    expect((await get(otherStaff, `/api/departments/${dept.code}/tickets`)).statusCode).toBe(403);
    expect((await get(otherStaff, `/api/departments/${dept.code}/tickets/summary`)).statusCode).toBe(403);
    expect((await post(otherStaff, `/api/departments/${dept.code}/tickets/claim`)).statusCode).toBe(403);
    expect((await get(otherStaff, `/api/departments/${dept.code}/notices`)).statusCode).toBe(403);
    const res = await post(otherStaff, `/api/cases/${caseId}/progress`, { note: 'x' });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/本部门/);
    // Supervisors read any department; they cannot claim.
    expect((await get(supervisor, `/api/departments/${dept.code}/tickets/summary`)).statusCode).toBe(200);
    expect((await post(supervisor, `/api/departments/${dept.code}/tickets/claim`)).statusCode).toBe(403);
  });
});

describe('return, redispatch, extension, unsatisfied callback', () => {
  it('退单 goes back to the dispatcher, who reassigns (new dispatch number, new job)', async () => {
    const c = (await post(agent, '/api/cases', { description: '路灯不亮', urgency: 'urgent', departmentCode: other.code, contactPhone: '139-0000-1111' })).json();
    expect(c).toMatchObject({ status: 'dispatched', urgency: 'urgent', contactPhone: '13900001111', dispatchNo: 1 });
    // urgent: 30 minutes to sign, 2 hours to resolve
    expect(Date.parse(c.signDeadline) - Date.parse(c.dispatchedAt)).toBeCloseTo(30 * 60_000, -4);
    expect(Date.parse(c.resolveDeadline) - Date.parse(c.dispatchedAt)).toBeCloseTo(120 * 60_000, -4);
    await flushOutbox(t);
    const signed = (await post(otherStaff, `/api/departments/${other.code}/tickets/claim`)).json();
    expect(signed.id).toBe(c.id);
    const ret = await post(otherStaff, `/api/cases/${c.id}/return`, { reason: '非本单位职责，应由供热公司处理' });
    expect(ret.json()).toMatchObject({ status: 'returned', returnReason: '非本单位职责，应由供热公司处理' });
    expect((await get(dispatcher, '/api/cases?status=returned')).json().map((x: { id: number }) => x.id)).toContain(c.id);
    const re = (await post(dispatcher, `/api/cases/${c.id}/dispatch`, { departmentCode: dept.code })).json();
    expect(re).toMatchObject({ status: 'dispatched', dispatchNo: 2, departmentCode: dept.code });
    await flushOutbox(t);
    const claimed = await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    expect(claimed.json()).toMatchObject({ id: c.id, dispatchNo: 2, status: 'signed' });
  });

  it('extension: request (days) → approve moves the deadline; refuse keeps it', async () => {
    const c = (await post(dispatcher, '/api/cases', { description: '楼道积水', departmentCode: dept.code })).json();
    await flushOutbox(t);
    await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    const before = Date.parse(c.resolveDeadline);
    const req = await post(staff, `/api/cases/${c.id}/extension`, { days: 2, reason: '需协调物业' });
    expect(req.statusCode).toBe(200);
    expect(req.json()).toMatchObject({ status: 'extension_requested', extensionReason: '需协调物业' });
    expect(Date.parse(req.json().extensionUntil)).toBeGreaterThan(before);
    expect((await get(dispatcher, '/api/cases?status=extension_requested')).json().map((x: { id: number }) => x.id)).toContain(c.id);
    const ok = (await post(supervisor, `/api/cases/${c.id}/extension/decision`, { approve: true, note: '同意' })).json();
    expect(ok).toMatchObject({ status: 'in_progress', deadlineVersion: 2, extensionCount: 1 });
    expect(ok.resolveDeadline).toBe(req.json().extensionUntil);

    await post(staff, `/api/cases/${c.id}/extension`, { until: new Date(Date.parse(ok.resolveDeadline) + 86_400_000).toISOString(), reason: '再延一天' });
    const no = (await post(dispatcher, `/api/cases/${c.id}/extension/decision`, { approve: false, note: '不同意' })).json();
    expect(no).toMatchObject({ status: 'in_progress', deadlineVersion: 2, resolveDeadline: ok.resolveDeadline, extensionUntil: null });
  });

  it('不满意 reopens the case to the same department with a new dispatch number and job', async () => {
    const c = (await post(dispatcher, '/api/cases', { description: '噪音扰民', departmentCode: dept.code, contactPhone: '13700000000' })).json();
    await flushOutbox(t);
    await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    await post(staff, `/api/cases/${c.id}/resolve`, { reply: '已劝导' });
    const res = await post(agent, `/api/cases/${c.id}/callback`, { solved: false, satisfaction: 'unsatisfied', note: '仍有噪音' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'reopened', statusLabel: '重办（待签收）', dispatchNo: 2, reopenCount: 1, departmentCode: dept.code, satisfaction: 'unsatisfied' });
    await flushOutbox(t);
    const again = (await post(staff, `/api/departments/${dept.code}/tickets/claim`)).json();
    expect(again).toMatchObject({ id: c.id, status: 'signed', dispatchNo: 2 });
  });

  it('click-to-call without telephony answers 503 ari_unavailable; with placeCall it rings and marks 回访中', async () => {
    const c = (await post(dispatcher, '/api/cases', { description: '咨询社保', departmentCode: dept.code, contactPhone: '13600000000' })).json();
    await flushOutbox(t);
    await post(staff, `/api/departments/${dept.code}/tickets/claim`);
    await post(staff, `/api/cases/${c.id}/resolve`, { reply: '已答复' });
    const down = await post(agent, `/api/cases/${c.id}/callback/call`);
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toBe('ari_unavailable');
    const calls: [string, string][] = [];
    t.app.workOrders.callbacks.setPlaceCall(async (endpoint, number) => {
      calls.push([endpoint, number]);
      return { callId: 'cb-1' };
    });
    try {
      const res = await post(agent, `/api/cases/${c.id}/callback/call`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ caseId: c.id, status: 'callback', callId: 'cb-1' });
      expect(calls).toEqual([[expect.stringMatching(/^PJSIP\//), '13600000000']]);
      const closed = await post(agent, `/api/cases/${c.id}/callback`, { solved: true, satisfaction: 'basically_satisfied' });
      expect(closed.json()).toMatchObject({ status: 'closed', satisfaction: 'basically_satisfied' });
    } finally {
      t.app.workOrders.callbacks.setPlaceCall(null);
    }
  });

  it('tracking numbers are unique and sequential under concurrency', async () => {
    const res = await Promise.all(Array.from({ length: 20 }, () => post(agent, '/api/cases', { description: '并发创建' })));
    const nos = res.map((r) => r.json().trackingNo as string);
    expect(new Set(nos).size).toBe(20);
    const seqs = nos.map((n) => Number(n.slice(-6))).sort((a, b) => a - b);
    expect(seqs[19]! - seqs[0]!).toBe(19);
  });
});
