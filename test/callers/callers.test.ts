import { randomUUID } from 'node:crypto';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { insertCall, insertCase } from '../helpers/calls';

let t: TestApp;
let agent: TestUser;

beforeAll(async () => {
  t = await build();
  agent = await t.createUser('agent', { displayName: '刘晓燕' });
});
afterAll(async () => {
  await t?.close();
});

describe('caller records', () => {
  it('creates, finds by (normalised) number, reads, updates; a second record for a number is 409', async () => {
    const created = await t.inject({
      method: 'POST',
      url: '/api/callers',
      headers: agent.headers,
      payload: { number: '138 0013-8000', name: '张建国', gender: 'male', address: '幸福小区3号楼', district: '城关区', tags: ['老年人'] },
    });
    expect(created.statusCode).toBe(201);
    const c = created.json();
    expect(c).toMatchObject({ number: '13800138000', name: '张建国', gender: 'male', tags: ['老年人'], vip: false });

    const dup = await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number: '13800138000' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ error: 'caller_exists', details: { id: c.id } });
    expect(dup.json().message).toMatch(/已存在/);

    const found = await t.inject({ method: 'GET', url: '/api/callers?number=138-0013-8000', headers: agent.headers });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual([c]);
    const none = await t.inject({ method: 'GET', url: '/api/callers?number=13999999999', headers: agent.headers });
    expect(none.json()).toEqual([]);

    expect((await t.inject({ method: 'GET', url: `/api/callers/${c.id}`, headers: agent.headers })).json()).toEqual(c);

    const patched = await t.inject({
      method: 'PATCH',
      url: `/api/callers/${c.id}`,
      headers: agent.headers,
      payload: { note: '耳背，请大声说话', vip: true, address: null, gender: null },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: c.id, name: '张建国', note: '耳背，请大声说话', vip: true, address: null, gender: null });
    expect(Date.parse(patched.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(c.updatedAt));
  });

  it('keeps a leading + of international numbers', async () => {
    const res = await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number: '+86 138-0013-8999' } });
    expect(res.statusCode).toBe(201);
    expect(res.json().number).toBe('+8613800138999');
  });

  it('lists a caller\'s calls newest first with keyset pagination', async () => {
    const c = (
      await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number: '13700000001', name: '王建华' } })
    ).json();
    const base = Date.parse('2025-03-01T08:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(await insertCall(t.app.db, { callerNumber: '13700000001', agentId: agent.agentId, startedAt: new Date(base + i * 60_000) }));
    }
    // two calls in the very same microsecond: the id breaks the tie, nothing is skipped or repeated
    const same = new Date(base + 10 * 60_000);
    ids.push(await insertCall(t.app.db, { callerNumber: '13700000001', startedAt: same }));
    ids.push(await insertCall(t.app.db, { callerNumber: '13700000001', startedAt: same }));
    await insertCall(t.app.db, { callerNumber: '13700000002', startedAt: new Date(base) }); // someone else

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/callers/${c.id}/calls?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.inject({ method: 'GET', url, headers: agent.headers });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((x: { id: string }) => x.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(9);
    expect(seen.sort()).toEqual([...ids].sort());

    const first = (await t.inject({ method: 'GET', url: `/api/callers/${c.id}/calls?limit=9`, headers: agent.headers })).json();
    const starts = first.items.map((x: { startedAt: string }) => Date.parse(x.startedAt));
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    expect(first.items[first.items.length - 1]).toMatchObject({ agentName: '刘晓燕', outcome: 'answered', callerNumber: '13700000001' });
    expect(first.nextCursor).toBeNull();
  });

  it('404 for an unknown caller', async () => {
    expect((await t.inject({ method: 'GET', url: '/api/callers/99999', headers: agent.headers })).statusCode).toBe(404);
    expect((await t.inject({ method: 'GET', url: '/api/callers/99999/calls', headers: agent.headers })).statusCode).toBe(404);
  });
});

describe('lookupForScreenPop', () => {
  const number = '15800158004';
  let callerId: number;
  let deptId: number;
  let catId: number;

  beforeAll(async () => {
    callerId = (
      await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number, name: '刘芳', vip: true } })
    ).json().id;
    deptId = (await t.app.db.query<{ id: number }>(`insert into departments (code, name) values ('heating', '供热公司') returning id`)).rows[0]!.id;
    catId = (await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ('help-heating', '供暖') returning id`)).rows[0]!.id;
  });

  it('returns the caller, the last 5 calls with agent, category and note excerpt, and open cases', async () => {
    const base = Date.parse('2025-01-10T09:00:00Z');
    const calls: string[] = [];
    for (let i = 0; i < 7; i++) {
      calls.push(await insertCall(t.app.db, { callerNumber: number, agentId: agent.agentId, startedAt: new Date(base + i * 3600_000), outcome: i === 6 ? 'abandoned' : 'answered' }));
    }
    const newestAnswered = calls[5]!;
    await t.app.db.query(`update calls set category_id = $2 where id = $1`, [newestAnswered, catId]);
    await t.app.db.query(
      `insert into call_notes (call_id, agent_id, author_id, content) values ($1, $2, $3, '暖气不热，已登记'), ($1, $2, $3, $4)`,
      [newestAnswered, agent.agentId, agent.id, `家中暖气不热，室温只有14度，${'请尽快处理。'.repeat(20)}`],
    );
    await insertCase(t.app.db, { trackingNo: 'T1', status: 'dispatched', callerId, title: '暖气不热', departmentId: deptId });
    await insertCase(t.app.db, { trackingNo: 'T2', status: 'in_progress', contactPhone: number, title: '楼道漏水' });
    await insertCase(t.app.db, { trackingNo: 'T3', status: 'resolved', callerId, title: '已办结' });
    await insertCase(t.app.db, { trackingNo: 'T4', status: 'closed', contactPhone: number, title: '已关闭' });
    await insertCase(t.app.db, { trackingNo: 'T5', status: 'merged', callerId, title: '已并单' });
    await insertCase(t.app.db, { trackingNo: 'T6', status: 'dispatched', contactPhone: '13000000000', title: '别人的' });

    const pop = await t.app.callers.lookupForScreenPop('158-0015-8004');
    expect(pop.caller).toMatchObject({ id: callerId, number, name: '刘芳', vip: true });
    expect(pop.recentCalls.map((c) => c.id)).toEqual([calls[6], calls[5], calls[4], calls[3], calls[2]]);
    expect(pop.recentCalls[0]).toMatchObject({ outcome: 'abandoned', agentName: '刘晓燕', category: null, noteExcerpt: null });
    expect(pop.recentCalls[0]!.startedAt).toBe(new Date(base + 6 * 3600_000).toISOString());
    const r = pop.recentCalls[1]!;
    expect(r.category).toBe('供暖');
    expect(r.noteExcerpt).toMatch(/^家中暖气不热/); // the latest note
    expect(r.noteExcerpt!.length).toBeLessThanOrEqual(81);
    expect(pop.openCases.map((c) => c.trackingNo).sort()).toEqual(['T1', 'T2']);
    expect(pop.openCases.find((c) => c.trackingNo === 'T1')).toMatchObject({ status: 'dispatched', title: '暖气不热', departmentName: '供热公司' });

    const withoutCurrent = await t.app.callers.lookupForScreenPop(number, { excludeCallId: calls[6] });
    expect(withoutCurrent.recentCalls[0]!.id).toBe(calls[5]);
  });

  it('an unknown number: no caller, but calls and cases found by number', async () => {
    const other = '13111112222';
    await insertCall(t.app.db, { callerNumber: other, startedAt: new Date(), outcome: 'abandoned' });
    await insertCase(t.app.db, { trackingNo: 'T9', status: 'draft', contactPhone: other, title: '网上求助' });
    const pop = await t.app.callers.lookupForScreenPop(other);
    expect(pop.caller).toBeNull();
    expect(pop.recentCalls).toHaveLength(1);
    expect(pop.openCases.map((c) => c.trackingNo)).toEqual(['T9']);
    expect(await t.app.callers.lookupForScreenPop('')).toEqual({ caller: null, recentCalls: [], openCases: [] });
    expect(await t.app.callers.lookupForScreenPop('anonymous')).toEqual({ caller: null, recentCalls: [], openCases: [] });
  });

  it('is fast: one round trip (latency printed)', async () => {
    // Some volume: 2,000 callers, 20,000 calls, 2,000 cases.
    await t.app.db.query(
      `insert into callers (number, name) select '139' || lpad(g::text, 8, '0'), '居民' || g from generate_series(1, 2000) g`,
    );
    await t.app.db.query(
      `insert into calls (id, node_id, channel_id, caller_number, state, outcome, agent_id, started_at)
       select gen_random_uuid(), 'n', 'c' || g, '139' || lpad((g % 2000 + 1)::text, 8, '0'), 'ended', 'answered', $1,
              now() - (g || ' minutes')::interval
         from generate_series(1, 20000) g`,
      [agent.agentId],
    );
    await t.app.db.query(
      `insert into cases (tracking_no, channel, status, contact_phone, title, description)
       select 'B' || g, 'phone', 'dispatched', '139' || lpad(g::text, 8, '0'), '测试', '测试' from generate_series(1, 2000) g`,
    );
    await t.app.db.query('analyze callers, calls, cases'); // this schema's tables only, never the whole shared database
    const runs = 300;
    const times: number[] = [];
    for (let i = 0; i < runs + 20; i++) {
      const n = `139${String((i * 7) % 2000 + 1).padStart(8, '0')}`;
      const s = process.hrtime.bigint();
      const pop = await t.app.callers.lookupForScreenPop(n, { excludeCallId: randomUUID() });
      const ms = Number(process.hrtime.bigint() - s) / 1e6;
      if (i >= 20) times.push(ms);
      expect(pop.caller?.number).toBe(n);
      expect(pop.recentCalls).toHaveLength(5);
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    console.log(`lookupForScreenPop over ${runs} lookups: p50 ${p(0.5).toFixed(2)} ms, p95 ${p(0.95).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms`);
    expect(p(0.5)).toBeLessThan(10);
  });
});
