// 并单 done fully: suggestions while a case is written and for the dispatcher's queue, a merge that moves calls (and
// so their notes), residents and the callback (回访) duty to the surviving case, and the merged request's resident
// following the surviving case in the portal lookup.
import { randomUUID } from 'node:crypto';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { categoryId, createDepartment, flushOutbox, staffOf } from '../cases/helpers';

let t: TestApp;
let dispatcher: TestUser;
let agent: TestUser;
let staff: TestUser;
let dept: { id: number; code: string };

beforeAll(async () => {
  t = await build();
  dispatcher = await t.createUser('dispatcher');
  agent = await t.createUser('agent');
  dept = await createDepartment(t, '供热公司');
  staff = await staffOf(t, dept.code);
  await categoryId(t, 'help-heating', '供暖');
});
afterAll(async () => t?.close());

const post = (u: TestUser | null, url: string, payload: object = {}) => t.inject({ method: 'POST', url, headers: u?.headers ?? {}, payload });
const get = (u: TestUser | null, url: string) => t.inject({ method: 'GET', url, headers: u?.headers ?? {} });

async function callWithNote(number: string, content: string): Promise<string> {
  const id = randomUUID();
  await t.app.db.query(`insert into calls (id, node_id, channel_id, caller_number, state, started_at) values ($1, 'n1', $2, $3, 'ended', now())`, [id, `ch-${id}`, number]);
  await t.app.db.query(`insert into call_notes (call_id, author_id, content) values ($1, $2, $3)`, [id, agent.id, content]);
  return id;
}

test('suggest, merge, call back everyone, and the merged resident follows the surviving case', async () => {
  // The surviving case: a phone case about the heating of 幸福小区 3号楼.
  const survivor = (await post(dispatcher, '/api/cases', { title: '幸福小区3号楼供暖不热', description: '幸福小区3号楼暖气不热，室温只有十四度，已经一周了。', contactPhone: '13800000001' })).json() as { id: number; trackingNo: string };
  // A resident of the same building writes on the portal.
  const web = await post(null, '/api/public/requests', { category: 'help-heating', description: '幸福小区3号楼供暖不热，家里很冷。', location: '幸福小区3号楼', phone: '13900000002' });
  expect(web.statusCode).toBe(201);
  const webNo = (web.json() as { trackingNo: string }).trackingNo;
  const webId = (await t.app.db.query<{ id: number }>(`select id from cases where tracking_no = $1`, [webNo])).rows[0]!.id;
  // A third resident calls; the agent notes it.
  const callId = await callWithNote('13700000003', '来电反映幸福小区3号楼暖气不热，要求尽快处理。');
  await t.app.search.indexer.drain();

  // While the agent writes the third case: suggestions from the text, the call's number.
  const check = await post(agent, '/api/cases/duplicates/check?days=30', { description: '幸福小区3号楼暖气不热', callId });
  expect(check.statusCode).toBe(200);
  const suggested = (check.json() as { items: { id: number; similarity: number; sameCaller: boolean }[] }).items;
  expect(suggested.map((i) => i.id).sort()).toEqual([survivor.id, webId].sort());
  expect(suggested.every((i) => i.similarity >= 0.3 && !i.sameCaller)).toBe(true);
  // Same number, unrelated text: still suggested, as the same caller first.
  const byPhone = (await post(agent, '/api/cases/duplicates/check', { description: '路灯不亮', contactPhone: '139-0000-0002' })).json() as { items: { id: number; sameCaller: boolean }[] };
  expect(byPhone.items).toEqual([expect.objectContaining({ id: webId, sameCaller: true })]);
  expect((await post(agent, '/api/cases/duplicates/check', { description: '' })).statusCode).toBe(400);
  expect((await post(staff, '/api/cases/duplicates/check', { description: '供暖' })).statusCode).toBe(403);

  const third = (await post(agent, '/api/cases', { description: '幸福小区3号楼暖气不热（来电）', callIds: [callId], contactPhone: '13700000003', contactName: '王先生' })).json() as { id: number };
  await t.app.search.indexer.drain();

  // The dispatcher's queue: a count and the best suggestion per case.
  const queue = await get(dispatcher, `/api/cases/duplicates?ids=${survivor.id},${webId},${third.id}&days=30`);
  expect(queue.statusCode).toBe(200);
  const counts = Object.fromEntries((queue.json() as { items: { caseId: number; count: number; best: { id: number } | null }[] }).items.map((i) => [i.caseId, i]));
  expect(counts[survivor.id]!.count).toBe(2);
  expect(counts[third.id]!.count).toBe(2);
  expect((await get(dispatcher, '/api/cases/duplicates?ids=abc')).statusCode).toBe(400);

  // Merge the call's case into the web request, then the web request into the survivor: everything moves along.
  expect((await post(dispatcher, `/api/cases/${third.id}/merge`, { intoCaseId: webId })).statusCode).toBe(200);
  const merged = await post(dispatcher, `/api/cases/${webId}/merge`, { intoCaseId: survivor.id, note: '同一楼栋供暖问题' });
  expect(merged.statusCode).toBe(200);
  expect(merged.json()).toMatchObject({ status: 'merged', mergedInto: survivor.id });
  const s = (await get(dispatcher, `/api/cases/${survivor.id}`)).json() as { callIds: string[]; pendingCallbacks: number; events: { action: string; note: string | null; detail: { fromCaseId?: number } }[] };
  expect(s.callIds).toEqual([callId]);
  expect(s.pendingCallbacks).toBe(2);
  const mergeIn = s.events.find((e) => e.action === 'merge_in')!;
  expect(mergeIn.note).toContain('家里很冷');
  expect(mergeIn.note).toContain('同一楼栋供暖问题');
  expect(mergeIn.detail.fromCaseId).toBe(webId);
  const contacts = (await get(agent, `/api/cases/${survivor.id}/contacts`)).json() as { id: number; phone: string; fromCaseId: number; callbackDoneAt: string | null }[];
  expect(contacts.map((c) => [c.phone, c.fromCaseId]).sort()).toEqual([['13700000003', third.id], ['13900000002', webId]].sort());
  // The call's note is searchable under the survivor now? It is the survivor's call: the case lists it.
  expect((await get(staff, `/api/cases/${survivor.id}/contacts`)).statusCode).toBe(403);

  // The department handles the surviving case.
  expect((await post(dispatcher, `/api/cases/${survivor.id}/dispatch`, { departmentCode: dept.code })).statusCode).toBe(200);
  await flushOutbox(t);
  expect((await post(staff, `/api/cases/${survivor.id}/sign`)).statusCode).toBe(200);
  expect((await post(staff, `/api/cases/${survivor.id}/resolve`, { reply: '已对3号楼管道排气，室温恢复到20度。咨询电话 13800001234' })).statusCode).toBe(200);

  // Callback duty: the survivor's own resident and both residents of the merged cases.
  const dialled: string[] = [];
  t.app.workOrders.callbacks.setPlaceCall(async (_endpoint, number) => {
    dialled.push(number);
    return { callId: randomUUID() };
  });
  const viaContact = await post(agent, `/api/cases/${survivor.id}/callback/call?contactId=${contacts[0]!.id}`);
  expect(viaContact.statusCode).toBe(200);
  expect(dialled).toEqual([contacts[0]!.phone]);
  const first = await post(agent, `/api/cases/${survivor.id}/callback`, { solved: true, satisfaction: 'satisfied' });
  expect(first.json()).toMatchObject({ status: 'callback', pendingCallbacks: 2 });
  const second = await post(agent, `/api/cases/${survivor.id}/callback`, { solved: true, satisfaction: 'basically_satisfied', contactId: contacts[0]!.id });
  expect(second.json()).toMatchObject({ status: 'callback', pendingCallbacks: 1 });
  expect((await post(agent, `/api/cases/${survivor.id}/callback`, { solved: true, satisfaction: 'satisfied', contactId: contacts[0]!.id })).statusCode).toBe(409);
  expect((await post(agent, `/api/cases/${survivor.id}/callback`, { solved: true, satisfaction: 'satisfied', contactId: 999999 })).statusCode).toBe(404);
  const last = await post(agent, `/api/cases/${survivor.id}/callback`, { solved: true, satisfaction: 'satisfied', contactId: contacts[1]!.id });
  expect(last.json()).toMatchObject({ status: 'closed', pendingCallbacks: 0 });
  const rows = await t.app.db.query<{ contact_id: number | null }>(`select contact_id from case_callbacks where case_id = $1 order by id`, [survivor.id]);
  expect(rows.rows.map((r) => r.contact_id)).toEqual([null, contacts[0]!.id, contacts[1]!.id]);

  // The web resident looks up their own tracking number and sees the surviving case's progress (digits masked).
  const lookup = await get(null, `/api/public/requests/${encodeURIComponent(webNo)}?phoneLast4=0002`);
  expect(lookup.statusCode).toBe(200);
  const l = lookup.json() as { status: string; mergedInto: string; mergedCase: { trackingNo: string; status: string; reply: string; history: { status: string }[] } };
  expect(l.status).toBe('merged');
  expect(l.mergedInto).toBe(survivor.trackingNo);
  expect(l.mergedCase).toMatchObject({ trackingNo: survivor.trackingNo, status: 'closed' });
  expect(l.mergedCase.reply).toContain('室温恢复到20度');
  expect(l.mergedCase.reply).not.toContain('13800001234');
  expect(l.mergedCase.history.map((h) => h.status)).toEqual(expect.arrayContaining(['dispatched', 'signed', 'resolved', 'closed']));
});

test('an unsatisfied merged resident reopens the surviving case', async () => {
  const a = (await post(dispatcher, '/api/cases', { description: '滨河路路灯不亮', contactPhone: '13800000011' })).json() as { id: number };
  const b = (await post(dispatcher, '/api/cases', { description: '滨河路路灯晚上不亮', contactPhone: '13800000022' })).json() as { id: number };
  expect((await post(dispatcher, `/api/cases/${b.id}/merge`, { intoCaseId: a.id })).statusCode).toBe(200);
  await post(dispatcher, `/api/cases/${a.id}/dispatch`, { departmentCode: dept.code });
  await flushOutbox(t);
  await post(staff, `/api/cases/${a.id}/sign`);
  await post(staff, `/api/cases/${a.id}/resolve`, { reply: '已修复' });
  const contact = ((await get(agent, `/api/cases/${a.id}/contacts`)).json() as { id: number }[])[0]!;
  const r = await post(agent, `/api/cases/${a.id}/callback`, { solved: false, satisfaction: 'unsatisfied', contactId: contact.id, note: '还是不亮' });
  expect(r.json()).toMatchObject({ status: 'reopened', dispatchNo: 2 });
  // Merging into itself or into a merged case is refused.
  expect((await post(dispatcher, `/api/cases/${a.id}/merge`, { intoCaseId: a.id })).statusCode).toBe(400);
});
