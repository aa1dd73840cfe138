// KPIs over a scripted day (2026-03-02, Asia/Shanghai): calls, offers, survey digits, case events and call notes
// inserted with known times and outcomes; every figure is compared with the hand count.
import { randomUUID } from 'node:crypto';
import { build, type TestApp, type TestUser } from '../helpers/build';

const local = (hm: string, day = '2026-03-02') => new Date(`${day}T${hm}:00+08:00`);

describe('KPI report', () => {
  let t: TestApp;
  let sup: TestUser;
  let a: TestUser;
  let b: TestUser;
  let survey = false;
  const ids: Record<string, string> = {};

  async function call(key: string, c: { at: Date; outcome: 'answered' | 'abandoned' | 'failed' | 'after_hours'; waitS: number; talkS?: number; agent?: TestUser; direction?: string; score?: number }) {
    const id = randomUUID();
    ids[key] = id;
    const connected = c.outcome === 'answered' ? new Date(c.at.getTime() + c.waitS * 1000) : null;
    await t.app.db.query(
      `insert into calls (id, node_id, channel_id, direction, caller_number, state, outcome, agent_id, started_at, connected_at, ended_at, wait_ms, talk_ms)
       values ($1, 'kpi', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        id,
        `ch-${key}`,
        c.direction ?? 'inbound',
        `1390000${key.padStart(4, '0')}`,
        c.outcome === 'answered' ? 'ended' : c.outcome,
        c.outcome,
        c.agent?.agentId ?? null,
        c.at,
        connected,
        new Date(c.at.getTime() + (c.waitS + (c.talkS ?? 0)) * 1000),
        c.waitS * 1000,
        c.talkS === undefined ? null : c.talkS * 1000,
      ],
    );
    if (survey && c.score) await t.app.db.query(`update calls set survey_score = $2 where id = $1`, [id, c.score]);
  }

  async function offer(key: string, agent: TestUser, at: Date, result: string) {
    await t.app.db.query(`insert into call_offers (call_id, agent_id, offered_at, ended_at, result) values ($1, $2, $3, $3, $4)`, [ids[key], agent.agentId, at, result]);
  }

  beforeAll(async () => {
    t = await build();
    sup = await t.createUser('supervisor');
    a = await t.createUser('agent', { displayName: '坐席甲' });
    b = await t.createUser('agent', { displayName: '坐席乙' });
    survey = (
      await t.app.db.query(`select 1 from information_schema.columns where table_schema = current_schema() and table_name = 'calls' and column_name = 'survey_score'`)
    ).rowCount === 1;

    // Calls of the day (local times), service level 15 s.
    await call('1', { at: local('08:05'), outcome: 'answered', waitS: 10, talkS: 120, agent: a, score: 1 });
    await call('2', { at: local('08:20'), outcome: 'answered', waitS: 20, talkS: 300, agent: b, score: 3 });
    await call('3', { at: local('08:40'), outcome: 'abandoned', waitS: 30 });
    await call('4', { at: local('09:10'), outcome: 'answered', waitS: 5, talkS: 60, agent: a, score: 2 });
    await call('5', { at: local('09:30'), outcome: 'answered', waitS: 15, talkS: 180, agent: a });
    await call('6', { at: local('09:50'), outcome: 'failed', waitS: 2 });
    await call('7', { at: local('14:00'), outcome: 'abandoned', waitS: 50 });
    await call('8', { at: local('14:30'), outcome: 'answered', waitS: 16, talkS: 240, agent: b });
    await call('12', { at: local('22:30'), outcome: 'after_hours', waitS: 0 }); // counted apart, not offered
    // Not in the day: the evening before, the next midnight, and an outbound call.
    await call('9', { at: local('23:59', '2026-03-01'), outcome: 'answered', waitS: 1, talkS: 10, agent: a });
    await call('10', { at: local('00:00', '2026-03-03'), outcome: 'abandoned', waitS: 3 });
    await call('11', { at: local('10:00'), outcome: 'answered', waitS: 1, talkS: 10, agent: a, direction: 'outbound' });

    await offer('1', a, local('08:05'), 'answered');
    await offer('2', a, local('08:20'), 'no_answer');
    await offer('2', b, local('08:20'), 'answered');
    await offer('3', b, local('08:40'), 'no_answer');
    await offer('4', a, local('09:10'), 'answered');
    await offer('5', a, local('09:30'), 'answered');
    await offer('7', a, local('14:00'), 'busy');
    await offer('8', b, local('14:30'), 'answered');

    // Work orders: two departments, events through the day.
    const dept = async (code: string, name: string) =>
      (await t.app.db.query<{ id: number }>(`insert into departments (code, name) values ($1, $2) returning id`, [code, name])).rows[0]!.id;
    const da = await dept('kpi-a', '城管局');
    const db = await dept('kpi-b', '住建局');
    const kase = async (n: number, deptId: number) =>
      (
        await t.app.db.query<{ id: number }>(
          `insert into cases (tracking_no, channel, status, department_id, description, created_at) values ($1, 'phone', 'resolved', $2, '测试', '2026-02-01T00:00:00Z') returning id`,
          [`KPI-${n}`, deptId],
        )
      ).rows[0]!.id;
    const c1 = await kase(1, da);
    const c2 = await kase(2, da);
    const c3 = await kase(3, da);
    const c4 = await kase(4, db);
    const ev = async (caseId: number, action: string, at: Date, detail: object | null = null) =>
      t.app.db.query(`insert into case_events (case_id, at, action, to_status, detail) values ($1, $2, $3, 'x', $4)`, [caseId, at, action, detail]);
    await ev(c4, 'dispatch', local('10:00', '2026-03-01'), { departmentCode: 'kpi-b', resolveDeadline: local('20:00', '2026-03-01').toISOString() });
    await ev(c4, 'resolve', local('08:30')); // late, kpi-b
    await ev(c1, 'dispatch', local('09:00'), { departmentCode: 'kpi-a', resolveDeadline: local('09:00', '2026-03-03').toISOString() });
    await ev(c3, 'dispatch', local('09:30'), { departmentCode: 'kpi-b', resolveDeadline: local('09:30', '2026-03-05').toISOString() });
    await ev(c2, 'dispatch', local('10:00'), { departmentCode: 'kpi-a', resolveDeadline: local('12:00').toISOString() });
    await ev(c3, 'return', local('10:30'), { dispatchNo: 1 }); // kpi-b returns it
    await ev(c2, 'request_extension', local('11:00'), { until: 'x' }); // kpi-a asks for more time
    await ev(c3, 'dispatch', local('11:00'), { departmentCode: 'kpi-a', resolveDeadline: local('11:00', '2026-03-05').toISOString() });
    await ev(c2, 'resolve', local('13:00')); // late (deadline 12:00), kpi-a
    await ev(c1, 'resolve', local('15:00')); // on time, kpi-a
    const cb = async (caseId: number, satisfaction: string, at: Date) =>
      t.app.db.query(`insert into case_callbacks (case_id, agent_user_id, solved, satisfaction, created_at) values ($1, $2, true, $3, $4)`, [caseId, a.id, satisfaction, at]);
    await cb(c1, 'satisfied', local('16:00'));
    await cb(c4, 'unsatisfied', local('17:00'));
    await cb(c2, 'basically_satisfied', local('18:00'));

    // Call notes for hot topics: this day against the day before.
    const note = async (content: string, at: Date) =>
      t.app.db.query(`insert into call_notes (call_id, author_id, content, created_at) values ($1, $2, $3, $4)`, [ids['1'], a.id, content, at]);
    for (const n of ['路灯不亮', '路灯不亮', '小区路灯不亮', '噪音扰民', '噪音扰民']) await note(n, local('12:00'));
    for (const n of ['路灯维修', '噪音扰民', '噪音扰民', '噪音扰民']) await note(n, local('12:00', '2026-03-01'));
    await t.app.search.indexer.drain(); // jieba words of the notes (normally within seconds, in the background)
  });
  afterAll(async () => {
    await t.close();
  });

  const kpi = async (qs: string, user: TestUser = sup) => t.inject({ method: 'GET', url: `/api/reports/kpi?${qs}`, headers: user.headers });

  it('counts the day by hour exactly as by hand', async () => {
    const res = await kpi('from=2026-03-02&to=2026-03-03&granularity=hour');
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r.range).toEqual({
      from: '2026-03-01T16:00:00.000Z',
      to: '2026-03-02T16:00:00.000Z',
      timezone: 'Asia/Shanghai',
      granularity: 'hour',
      serviceLevelSec: 15,
    });
    expect(r.totals).toEqual({
      offered: 8,
      answered: 5,
      abandoned: 2,
      failed: 1,
      callbackRequested: 0,
      afterHours: 1,
      answeredWithinSl: 3,
      answerRate: 0.625,
      abandonRate: 0.25,
      serviceLevel: 0.375,
      avgWaitMs: 20857, // (10+20+30+5+15+50+16)/7 s
      avgAnswerWaitMs: 13200, // (10+20+5+15+16)/5 s
      maxWaitMs: 50000,
      avgTalkMs: 180000, // (120+300+60+180+240)/5 s
      avgHandleMs: 180000,
    });
    expect(r.periods).toHaveLength(24);
    expect(r.periods[0]).toMatchObject({ label: '2026-03-02 00:00', periodStart: '2026-03-01T16:00:00.000Z', offered: 0, answerRate: null, avgWaitMs: null });
    expect(r.periods[8]).toEqual({
      label: '2026-03-02 08:00',
      periodStart: '2026-03-02T00:00:00.000Z',
      offered: 3,
      answered: 2,
      abandoned: 1,
      failed: 0,
      callbackRequested: 0,
      afterHours: 0,
      answeredWithinSl: 1,
      answerRate: 0.6667,
      abandonRate: 0.3333,
      serviceLevel: 0.3333,
      avgWaitMs: 20000,
      avgAnswerWaitMs: 15000,
      maxWaitMs: 30000,
      avgTalkMs: 210000,
      avgHandleMs: 210000,
    });
    expect(r.periods[9]).toMatchObject({ offered: 3, answered: 2, abandoned: 0, failed: 1, answeredWithinSl: 2, serviceLevel: 0.6667, avgWaitMs: 10000, avgAnswerWaitMs: 10000, maxWaitMs: 15000, avgTalkMs: 120000 });
    expect(r.periods[14]).toMatchObject({ offered: 2, answered: 1, abandoned: 1, answeredWithinSl: 0, serviceLevel: 0, avgWaitMs: 33000, avgAnswerWaitMs: 16000, avgTalkMs: 240000 });
    expect(r.periods.reduce((s: number, p: { offered: number }) => s + p.offered, 0)).toBe(8);

    expect(r.agents).toEqual([
      { agentId: a.agentId, extension: expect.any(String), displayName: '坐席甲', answered: 3, avgTalkMs: 120000, totalTalkMs: 360000, offers: 5, missedOffers: 2, surveyRated: survey ? 2 : 0, surveySatisfied: survey ? 2 : 0 },
      { agentId: b.agentId, extension: expect.any(String), displayName: '坐席乙', answered: 2, avgTalkMs: 270000, totalTalkMs: 540000, offers: 3, missedOffers: 1, surveyRated: survey ? 1 : 0, surveySatisfied: 0 },
    ]);
    if (survey) expect(r.survey).toEqual({ rated: 3, satisfied: 1, basicallySatisfied: 1, unsatisfied: 1, satisfactionRate: 0.6667 });
    else expect(r.survey).toBeNull();

    expect(r.cases).toEqual({
      dispatched: 4,
      resolved: 3,
      resolvedOnTime: 1,
      onTimeRate: 0.3333,
      returned: 1,
      extensions: 1,
      callbacks: 3,
      satisfied: 1,
      basicallySatisfied: 1,
      unsatisfied: 1,
      satisfactionRate: 0.6667,
      departments: [
        { code: 'kpi-a', name: '城管局', dispatched: 3, resolved: 2, resolvedOnTime: 1, onTimeRate: 0.5, returned: 0, extensions: 1, callbacks: 2, satisfactionRate: 1 },
        { code: 'kpi-b', name: '住建局', dispatched: 1, resolved: 1, resolvedOnTime: 0, onTimeRate: 0, returned: 1, extensions: 0, callbacks: 1, satisfactionRate: 0 },
      ],
    });

    // Words and phrases (jieba + hotline dictionary), never fragments such as 灯不: 路灯不亮 / 路灯 in 3 documents
    // (路灯 in 1 the day before); 噪音扰民 / 噪音 / 扰民 fell (2 against 3); 小区 is a stop word.
    const terms = r.hotTopics.map((x: { term: string }) => x.term);
    expect(terms).toHaveLength(5);
    expect(terms.slice(0, 2)).toEqual(['路灯不亮', '路灯']);
    expect(terms.slice(2).sort()).toEqual(['噪音', '噪音扰民', '扰民'].sort());
    expect(r.hotTopics).toEqual(expect.arrayContaining([
      { term: '路灯', count: 3, previous: 1, change: 2, trend: 'up' },
      { term: '路灯不亮', count: 3, previous: 0, change: 3, trend: 'new' },
      { term: '噪音', count: 2, previous: 3, change: -1, trend: 'down' },
    ]));
    expect(terms).not.toContain('灯不');
    expect(terms).not.toContain('小区');
  });

  it('gives the same totals by day, honours the service-level parameter, and counts a month', async () => {
    const day = (await kpi('from=2026-03-02&to=2026-03-03&granularity=day')).json();
    expect(day.periods).toHaveLength(1);
    const { periodStart: _p, label, ...figures } = day.periods[0];
    expect(label).toBe('2026-03-02');
    expect(figures).toEqual(day.totals);
    const sl20 = (await kpi('from=2026-03-02&to=2026-03-03&serviceLevelSec=20')).json();
    expect(sl20.totals).toMatchObject({ answeredWithinSl: 5, serviceLevel: 0.625 });
    const month = (await kpi('from=2026-03-01&to=2026-04-01&granularity=month')).json();
    expect(month.periods).toEqual([expect.objectContaining({ label: '2026-03', offered: 10, answered: 6, abandoned: 3 })]);
    const iso = (await kpi(`from=${encodeURIComponent('2026-03-02T08:00:00+08:00')}&to=${encodeURIComponent('2026-03-02T10:00:00+08:00')}&granularity=hour`)).json();
    expect(iso.periods.map((p: { offered: number }) => p.offered)).toEqual([3, 3]);
  });

  it('exports CSV with a UTF-8 BOM and Chinese headers', async () => {
    const res = await kpi('from=2026-03-02&to=2026-03-03&granularity=hour&format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    // Named by the China-time days covered (from=03-02, to=03-03 exclusive): not the UTC dates, which are a day earlier.
    expect(res.headers['content-disposition']).toBe('attachment; filename="kpi-periods-2026-03-02-2026-03-02.csv"');
    const raw = res.rawPayload;
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = raw.toString('utf8').slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe('时段,呼入量,接通量,放弃量,失败量,接通率,放弃率,15秒服务水平,平均等待(秒),平均应答速度(秒),最长等待(秒),平均通话时长(秒),平均处理时长(秒)');
    expect(lines).toHaveLength(1 + 24 + 1);
    expect(lines[9]).toBe('2026-03-02 08:00,3,2,1,0,66.67%,33.33%,33.33%,20.0,15.0,30.0,210.0,210.0');
    expect(lines[25]).toBe('合计,8,5,2,1,62.50%,25.00%,37.50%,20.9,13.2,50.0,180.0,180.0');
    const agents = (await kpi('from=2026-03-02&to=2026-03-03&format=csv&section=agents')).rawPayload.toString('utf8').slice(1).trimEnd().split('\r\n');
    expect(agents[0]).toBe('工号,姓名,接通量,平均通话时长(秒),总通话时长(秒),振铃次数,未接次数,评价数,满意数');
    expect(agents[1]).toMatch(/^\d+,坐席甲,3,120\.0,360\.0,5,2,/);
    const depts = (await kpi('from=2026-03-02&to=2026-03-03&format=csv&section=departments')).rawPayload.toString('utf8');
    expect(depts).toContain('kpi-a,城管局,3,2,1,50.00%,0,1,2,100.00%');
    const topics = (await kpi('from=2026-03-02&to=2026-03-03&format=csv&section=topics')).rawPayload.toString('utf8');
    expect(topics).toContain('路灯,3,1,2,上升');
  });

  it('rejects bad ranges and roles with readable messages', async () => {
    const reversed = await kpi('from=2026-03-03&to=2026-03-02');
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json()).toEqual({ error: 'invalid_range', message: '开始时间必须早于结束时间' });
    const tooLong = await kpi('from=2026-01-01&to=2026-12-31&granularity=hour');
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toMatchObject({ error: 'range_too_large', message: expect.stringContaining('93 天') });
    const garbage = await kpi('from=yesterday');
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().message).toMatch(/^请求参数错误：「开始时间」格式不正确/);
    const badDate = await kpi('from=2026-02-30&to=2026-03-02');
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json()).toMatchObject({ error: 'invalid_range' });
    const badGran = await kpi('granularity=week');
    expect(badGran.statusCode).toBe(400);
    expect(badGran.json().message).toContain('「统计粒度」');
    expect((await kpi('from=2026-03-02', a)).statusCode).toBe(403);
    const admin = await t.createUser('admin');
    expect((await kpi('from=2026-03-02&to=2026-03-03', admin)).statusCode).toBe(200);
    // Default range (today so far) works.
    expect((await kpi('')).statusCode).toBe(200);
  });
});
