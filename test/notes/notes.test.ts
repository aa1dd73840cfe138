import { build, type TestApp, type TestUser } from '../helpers/build';
import { insertCall } from '../helpers/calls';

let t: TestApp;
let callAgent: TestUser;
let otherAgent: TestUser;
let supervisor: TestUser;
let dispatcher: TestUser;
let catHeating: number;
let catWater: number;
let callId: string;

beforeAll(async () => {
  t = await build();
  callAgent = await t.createUser('agent', { displayName: '刘晓燕' });
  otherAgent = await t.createUser('agent', { displayName: '陈静' });
  supervisor = await t.createUser('supervisor', { displayName: '王班长' });
  dispatcher = await t.createUser('dispatcher');
  catHeating = (await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ('help-heating', '供暖') returning id`)).rows[0]!.id;
  catWater = (await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ('help-water', '供水') returning id`)).rows[0]!.id;
  callId = await insertCall(t.app.db, { callerNumber: '13800138001', agentId: callAgent.agentId, startedAt: new Date('2025-01-05T10:00:00Z') });
  await t.app.db.query(
    `insert into call_offers (call_id, agent_id, offered_at, ended_at, result) values
       ($1, $2, '2025-01-05T10:00:01Z', '2025-01-05T10:00:21Z', 'no_answer'),
       ($1, $3, '2025-01-05T10:00:21Z', '2025-01-05T10:00:25Z', 'answered')`,
    [callId, otherAgent.agentId, callAgent.agentId],
  );
  await t.app.db.query(
    `insert into call_events (call_id, from_state, to_state, detail) values ($1, null, 'ringing', null), ($1, 'ringing', 'connected', '{"agentId": 1}')`,
    [callId],
  );
});
afterAll(async () => {
  await t?.close();
});

const post = (u: TestUser, payload: object, id = callId) =>
  t.inject({ method: 'POST', url: `/api/calls/${id}/notes`, headers: u.headers, payload });
const callRow = async () =>
  (await t.app.db.query<{ category_id: number | null; resolved_on_phone: boolean | null }>(
    `select category_id, resolved_on_phone from calls where id = $1`,
    [callId],
  )).rows[0]!;

describe('writing notes', () => {
  let noteId: number;

  it('the call\'s agent writes a note; category and resolved go onto the call record', async () => {
    const res = await post(callAgent, { content: '  来电反映暖气不热，已告知供热公司报修电话  ', categoryId: catHeating, resolved: true });
    expect(res.statusCode).toBe(201);
    const note = res.json();
    noteId = note.id;
    expect(note).toMatchObject({
      callId,
      agentId: callAgent.agentId,
      authorId: callAgent.id,
      authorName: '刘晓燕',
      categoryId: catHeating,
      categoryName: '供暖',
      content: '来电反映暖气不热，已告知供热公司报修电话',
      resolved: true,
    });
    expect(await callRow()).toEqual({ category_id: catHeating, resolved_on_phone: true });
  });

  it('another agent may not write on the call (403); a dispatcher may not write notes at all (403)', async () => {
    const res = await post(otherAgent, { content: '不是我的通话' });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/话务员/);
    expect((await post(dispatcher, { content: '派单员' })).statusCode).toBe(403);
  });

  it('a supervisor may write; resolved defaults to false and updates the call', async () => {
    const res = await post(supervisor, { content: '班长补充：已回访' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ authorId: supervisor.id, agentId: callAgent.agentId, resolved: false, categoryId: null });
    expect(await callRow()).toEqual({ category_id: catHeating, resolved_on_phone: false });
  });

  it('an unknown category is 400, an unknown call 404', async () => {
    const res = await post(callAgent, { content: '测试', categoryId: 424242 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('category_not_found');
    const missing = await post(callAgent, { content: '测试' }, '00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toMatch(/通话/);
  });

  it('the author edits the note; others may not; a supervisor may', async () => {
    const url = `/api/calls/${callId}/notes/${noteId}`;
    const own = await t.inject({ method: 'PATCH', url, headers: callAgent.headers, payload: { content: '暖气不热，已派单', categoryId: catWater, resolved: false } });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ content: '暖气不热，已派单', categoryId: catWater, categoryName: '供水', resolved: false });
    expect(await callRow()).toEqual({ category_id: catWater, resolved_on_phone: false });

    const other = await t.inject({ method: 'PATCH', url, headers: otherAgent.headers, payload: { content: '篡改' } });
    expect(other.statusCode).toBe(403);

    const sup = await t.inject({ method: 'PATCH', url, headers: supervisor.headers, payload: { resolved: true } });
    expect(sup.statusCode).toBe(200);
    expect(sup.json()).toMatchObject({ content: '暖气不热，已派单', resolved: true });
    expect(await callRow()).toEqual({ category_id: catWater, resolved_on_phone: true });

    const clear = await t.inject({ method: 'PATCH', url, headers: callAgent.headers, payload: { categoryId: null } });
    expect(clear.json().categoryId).toBeNull();

    const wrongCall = await t.inject({
      method: 'PATCH',
      url: `/api/calls/00000000-0000-4000-8000-000000000000/notes/${noteId}`,
      headers: supervisor.headers,
      payload: { content: 'x' },
    });
    expect(wrongCall.statusCode).toBe(404);
  });
});

describe('reading calls', () => {
  it('GET /api/calls/:callId returns the record with notes, offers and events', async () => {
    const res = await t.inject({ method: 'GET', url: `/api/calls/${callId}`, headers: otherAgent.headers });
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c).toMatchObject({ id: callId, callerNumber: '13800138001', agentId: callAgent.agentId, agentName: '刘晓燕', outcome: 'answered' });
    expect(c.notes.map((n: { authorId: number }) => n.authorId)).toEqual([callAgent.id, supervisor.id]);
    expect(c.offers.map((o: { result: string; agentName: string }) => [o.result, o.agentName])).toEqual([
      ['no_answer', '陈静'],
      ['answered', '刘晓燕'],
    ]);
    expect(c.events.map((e: { toState: string }) => e.toState)).toEqual(['ringing', 'connected']);
    expect(c.events[1].detail).toEqual({ agentId: 1 });
    expect(c.noteCount).toBe(2);
  });

  it('lists calls per agent and per caller, newest first, with keyset pagination and a time range', async () => {
    const base = Date.parse('2025-02-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await insertCall(t.app.db, { callerNumber: '13900139002', agentId: otherAgent.agentId, startedAt: new Date(base + i * 86400_000) });
    }
    const sup = supervisor.headers;
    const page1 = (await t.inject({ method: 'GET', url: `/api/calls?agentId=${otherAgent.agentId}&limit=3`, headers: sup })).json();
    expect(page1.items).toHaveLength(3);
    expect(page1.items[0].startedAt).toBe(new Date(base + 4 * 86400_000).toISOString());
    const page2 = (await t.inject({ method: 'GET', url: `/api/calls?agentId=${otherAgent.agentId}&limit=3&cursor=${page1.nextCursor}`, headers: sup })).json();
    expect(page2.items).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();

    const ranged = (
      await t.inject({
        method: 'GET',
        url: `/api/calls?callerNumber=139-0013-9002&from=${new Date(base + 86400_000).toISOString()}&to=${new Date(base + 3 * 86400_000).toISOString()}`,
        headers: sup,
      })
    ).json();
    expect(ranged.items.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      new Date(base + 2 * 86400_000).toISOString(),
      new Date(base + 86400_000).toISOString(),
    ]);
    const all = (await t.inject({ method: 'GET', url: '/api/calls?limit=200', headers: sup })).json();
    expect(all.items).toHaveLength(6);
  });

  it('an agent sees own calls only; supervisors and dispatchers see all', async () => {
    const mine = await t.inject({ method: 'GET', url: `/api/agents/${callAgent.agentId}/calls`, headers: callAgent.headers });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().items.map((c: { id: string }) => c.id)).toEqual([callId]);

    const others = await t.inject({ method: 'GET', url: `/api/agents/${otherAgent.agentId}/calls`, headers: callAgent.headers });
    expect(others.statusCode).toBe(403);
    expect((await t.inject({ method: 'GET', url: `/api/calls?agentId=${otherAgent.agentId}`, headers: callAgent.headers })).statusCode).toBe(403);

    // without filters an agent gets their own calls
    const defaults = (await t.inject({ method: 'GET', url: '/api/calls', headers: otherAgent.headers })).json();
    expect(defaults.items).toHaveLength(5);
    expect(defaults.items.every((c: { agentId: number }) => c.agentId === otherAgent.agentId)).toBe(true);

    // a caller's history is visible to any agent (screen pop context)
    const byCaller = (await t.inject({ method: 'GET', url: '/api/calls?callerNumber=13800138001', headers: otherAgent.headers })).json();
    expect(byCaller.items.map((c: { id: string }) => c.id)).toEqual([callId]);

    for (const u of [supervisor, dispatcher]) {
      const res = await t.inject({ method: 'GET', url: `/api/agents/${otherAgent.agentId}/calls`, headers: u.headers });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toHaveLength(5);
    }
    const staff = await t.createUser('department_staff');
    expect((await t.inject({ method: 'GET', url: `/api/calls/${callId}`, headers: staff.headers })).statusCode).toBe(403);
  });
});
