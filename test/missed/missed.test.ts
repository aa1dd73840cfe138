// Missed-call callback list: entries opened by abandoned/failed calls (trigger on calls), matched when the number
// gets through later, worked by agents (done with a result), and click-to-call through the simulator.
import { randomUUID } from 'node:crypto';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { startLab, type CallLab } from '../helpers/telephony';

const ARI_AUTH = `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}`;

async function insertCall(
  t: TestApp,
  c: { number: string; at: string; outcome: 'answered' | 'abandoned' | 'failed'; waitMs?: number; agentId?: number | null },
): Promise<string> {
  const id = randomUUID();
  const started = new Date(c.at);
  const wait = c.waitMs ?? 10_000;
  await t.app.db.query(
    `insert into calls (id, node_id, channel_id, caller_number, state, outcome, agent_id, started_at, connected_at, ended_at, wait_ms, talk_ms)
     values ($1, 'test', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      id,
      `ch-${id}`,
      c.number,
      c.outcome === 'answered' ? 'ended' : c.outcome,
      c.outcome,
      c.agentId ?? null,
      started,
      c.outcome === 'answered' ? new Date(started.getTime() + wait) : null,
      new Date(started.getTime() + wait + 60_000),
      wait,
      c.outcome === 'answered' ? 60_000 : null,
    ],
  );
  return id;
}

describe('missed-call list (no telephony)', () => {
  let t: TestApp;
  let agent: TestUser;
  beforeAll(async () => {
    t = await build();
    agent = await t.createUser('agent');
  });
  afterAll(async () => {
    await t.close();
  });

  const list = async (qs = '') => {
    const res = await t.inject({ method: 'GET', url: `/api/missed-calls${qs}`, headers: agent.headers });
    expect(res.statusCode).toBe(200);
    return res.json() as { total: number; items: Record<string, unknown>[] };
  };

  it('opens one entry per number from abandoned and failed calls, and matches it when the number gets through', async () => {
    const a1 = await insertCall(t, { number: '13800000001', at: '2026-03-02T01:00:00Z', outcome: 'abandoned', waitMs: 25_000 });
    const a2 = await insertCall(t, { number: '13800000001', at: '2026-03-02T01:10:00Z', outcome: 'abandoned', waitMs: 40_000 });
    const f1 = await insertCall(t, { number: '13800000002', at: '2026-03-02T02:00:00Z', outcome: 'failed', waitMs: 3_000 });
    await insertCall(t, { number: '', at: '2026-03-02T02:30:00Z', outcome: 'abandoned' }); // anonymous: nobody to call back
    // An answered call from number 2 before it was missed matches nothing.
    await insertCall(t, { number: '13800000002', at: '2026-03-02T00:30:00Z', outcome: 'answered' });

    let open = await list();
    expect(open.total).toBe(2);
    const one = open.items.find((i) => i.number === '13800000001')!;
    expect(one).toMatchObject({
      status: 'open',
      reason: 'abandoned',
      missedCount: 2,
      waitedMs: 40_000,
      maxWaitMs: 40_000,
      attempts: 0,
      firstCallId: a1,
      lastCallId: a2,
      firstMissedAt: '2026-03-02T01:00:00.000Z',
      lastMissedAt: '2026-03-02T01:10:00.000Z',
    });
    expect(open.items.find((i) => i.number === '13800000002')).toMatchObject({ status: 'open', reason: 'failed', missedCount: 1, waitedMs: 3_000, firstCallId: f1 });
    // Newest first.
    expect(open.items.map((i) => i.number)).toEqual(['13800000002', '13800000001']);

    // Number 1 calls again and is answered: its entry is matched to that call.
    const back = await insertCall(t, { number: '13800000001', at: '2026-03-02T03:00:00Z', outcome: 'answered' });
    open = await list();
    expect(open.items.map((i) => i.number)).toEqual(['13800000002']);
    const matched = await list('?status=matched');
    expect(matched.items).toEqual([expect.objectContaining({ number: '13800000001', status: 'matched', matchedCallId: back })]);

    // A new miss from number 1 opens a fresh entry.
    await insertCall(t, { number: '13800000001', at: '2026-03-02T04:00:00Z', outcome: 'abandoned', waitMs: 5_000 });
    const byNumber = await list('?status=all&number=138-0000-0001');
    expect(byNumber.items.map((i) => i.status)).toEqual(['open', 'matched']);

    // A call row updated to abandoned later (the live flow) opens an entry too.
    const live = randomUUID();
    await t.app.db.query(`insert into calls (id, node_id, channel_id, caller_number, state, started_at) values ($1, 'test', 'x', '13800000009', 'queued', now())`, [live]);
    expect((await list('?number=13800000009')).total).toBe(0);
    await t.app.db.query(`update calls set state = 'abandoned', outcome = 'abandoned', wait_ms = 7000, ended_at = now() where id = $1`, [live]);
    expect((await list('?number=13800000009')).items).toEqual([expect.objectContaining({ waitedMs: 7000, lastCallId: live })]);
  });

  it('closes entries with a result; no answer keeps it open; readable errors', async () => {
    await insertCall(t, { number: '13900000001', at: '2026-03-03T01:00:00Z', outcome: 'abandoned' });
    await insertCall(t, { number: '13900000002', at: '2026-03-03T01:00:00Z', outcome: 'abandoned' });
    await insertCall(t, { number: '13900000003', at: '2026-03-03T01:00:00Z', outcome: 'abandoned' });
    const ids = Object.fromEntries((await list('?status=open&limit=200')).items.map((i) => [i.number, i.id as number]));

    const done = (id: number, payload: unknown) => t.inject({ method: 'POST', url: `/api/missed-calls/${id}/done`, headers: agent.headers, payload: payload as object });
    const reached = await done(ids['13900000001']!, { result: 'reached', note: '已告知办理流程' });
    expect(reached.statusCode).toBe(200);
    expect(reached.json()).toMatchObject({ status: 'called_back', result: 'reached', note: '已告知办理流程', closedAt: expect.any(String) });
    const noAnswer = await done(ids['13900000002']!, { result: 'no_answer' });
    expect(noAnswer.json()).toMatchObject({ status: 'open', result: 'no_answer', closedAt: null });
    const invalid = await done(ids['13900000003']!, { result: 'invalid_number' });
    expect(invalid.json()).toMatchObject({ status: 'closed', result: 'invalid_number' });

    const again = await done(ids['13900000001']!, { result: 'reached' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'missed_call_closed', message: expect.stringContaining('已处理') });
    const missing = await done(999999, { result: 'reached' });
    expect(missing.statusCode).toBe(404);
    const bad = await done(ids['13900000002']!, { result: 'maybe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^请求参数错误/);
    const badQuery = await t.inject({ method: 'GET', url: '/api/missed-calls?status=lost', headers: agent.headers });
    expect(badQuery.statusCode).toBe(400);
    const dispatcher = await t.createUser('dispatcher');
    expect((await t.inject({ method: 'GET', url: '/api/missed-calls', headers: dispatcher.headers })).statusCode).toBe(403);

    // Without telephony, click-to-call answers 503.
    const call = await t.inject({ method: 'POST', url: `/api/missed-calls/${ids['13900000002']}/call`, headers: agent.headers });
    expect(call.statusCode).toBe(503);
    expect(call.json()).toMatchObject({ error: 'ari_unavailable' });
    // A closed entry cannot be called back.
    const closed = await t.inject({ method: 'POST', url: `/api/missed-calls/${ids['13900000003']}/call`, headers: agent.headers });
    expect(closed.statusCode).toBe(409);
  });
});

describe('missed-call click-to-call (simulator)', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  it('rings the agent, then the resident through the trunk, bridges them, and ends both legs together', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'false' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 50 }, { login: false });
    const number = '13700001234';
    // PJSIP/{number}@trunk: the simulator takes the number as the endpoint reached through the trunk.
    sim.addEndpoint(number, { context: 'from-trunk', behavior: { answerAfterMs: 100 } });
    await insertCall(t, { number, at: new Date(Date.now() - 60_000).toISOString(), outcome: 'abandoned', waitMs: 30_000 });
    const entry = (await t.inject({ method: 'GET', url: `/api/missed-calls?number=${number}`, headers: agent.user.headers })).json().items[0];

    const res = await t.inject({ method: 'POST', url: `/api/missed-calls/${entry.id}/call`, headers: agent.user.headers });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ agentEndpoint: `PJSIP/${agent.endpoint}`, entry: { attempts: 1, status: 'open', lastAttemptAt: expect.any(String) } });
    const id = body.callbackCallId as string;

    const agentLeg = `${id}-cba`;
    const residentLeg = `${id}-cbr`;
    await waitFor(() => sim.bridges().some((b) => b.channels.includes(agentLeg) && b.channels.includes(residentLeg)), 'agent and resident bridged');
    expect(sim.channel(agentLeg)!.appArgs).toEqual(['callback', id, 'agent']);
    expect(sim.channel(residentLeg)!.appArgs).toEqual(['callback', id, 'resident']);
    expect(sim.channel(residentLeg)!.endpoint).toBe(number);
    await waitFor(async () => (await t.app.db.query(`select state from outbound_calls where id = $1`, [id])).rows[0]?.state === 'connected', 'connected record');

    // Recorded as inbound calls are: a snoop on the resident's leg, never a bridge recording (which would make
    // Asterisk mix the two-party bridge).
    const snoopId = `${id}-cbs`;
    const recName = `hotline114-callback/${new Date().toISOString().slice(0, 10)}/${id}`;
    const live = await waitFor(async () => {
      const r = await fetch(`${sim.ariUrl}/ari/recordings/live/${encodeURIComponent(recName)}`, { headers: { authorization: ARI_AUTH } });
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
    }, 'recording live');
    expect(live).toMatchObject({ name: recName, state: 'recording', target_uri: `channel:${snoopId}` });
    const snoopReq = sim.restLog.find((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${residentLeg}/snoop?`));
    const q = new URL(`http://x${snoopReq!.path}`).searchParams;
    expect({ spy: q.get('spy'), appArgs: q.get('appArgs'), snoopId: q.get('snoopId') }).toEqual({ spy: 'both', appArgs: `callback,${id},recording`, snoopId });
    expect(sim.restLog.some((r) => /^\/ari\/bridges\/[^/]+\/record/.test(r.path))).toBe(false);
    expect(sim.bridges().find((b) => b.channels.includes(residentLeg))!.channels.sort()).toEqual([agentLeg, residentLeg].sort());
    expect((await t.app.db.query(`select recording_name from outbound_calls where id = $1`, [id])).rows[0]?.recording_name).toBe(recName);

    sim.channel(residentLeg)!.hangup();
    await waitFor(() => !sim.channel(agentLeg) || sim.channel(agentLeg)!.state === 'destroyed', 'agent leg hung up');
    await waitFor(() => sim.storedRecordings().includes(recName), 'recording stored');
    const row = await waitFor(async () => (await t.app.db.query(`select * from outbound_calls where id = $1 and ended_at is not null`, [id])).rows[0], 'finished record');
    expect(row).toMatchObject({ kind: 'missed', ref_id: entry.id, state: 'ended', result: 'connected', number, agent_id: agent.agentId });
    expect(row.talk_ms).toBeGreaterThanOrEqual(0);
    const after = (await t.inject({ method: 'GET', url: `/api/missed-calls/${entry.id}`, headers: agent.user.headers })).json();
    expect(after).toMatchObject({ attempts: 1, lastAttemptResult: 'connected' });
  });

  // Contract with the call flow (src/calls/stasis.ts): StasisStarts whose first argument is "callback" belong to
  // the callback dialler; the inbound flow must not take them as new calls (no phantom call records).
  it('the inbound call flow leaves callback legs alone', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'false' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 30 }, { login: false });
    const number = '13700004321';
    sim.addEndpoint(number, { context: 'from-trunk', behavior: { answerAfterMs: 50 } });
    const placed = await t.app.supervision.dialer!.place({ agentEndpoint: `PJSIP/${agent.endpoint}`, number, kind: 'other' });
    await waitFor(() => sim.bridges().some((b) => b.channels.includes(`${placed.callId}-cbr`)), 'bridged');
    await new Promise((r) => setTimeout(r, 200));
    const stray = await t.app.db.query<{ n: number }>(`select count(*)::int as n from calls where channel_id like $1`, [`${placed.callId}%`]);
    expect(stray.rows[0]!.n).toBe(0);
  });

  it('reports a busy resident and hangs up the agent', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'false' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 30 }, { login: false });
    const number = '13700005678';
    sim.addEndpoint(number, { context: 'from-trunk', behavior: { busy: true, afterMs: 50 } });
    await insertCall(t, { number, at: new Date(Date.now() - 60_000).toISOString(), outcome: 'abandoned' });
    const entry = (await t.inject({ method: 'GET', url: `/api/missed-calls?number=${number}`, headers: agent.user.headers })).json().items[0];
    const res = await t.inject({ method: 'POST', url: `/api/missed-calls/${entry.id}/call`, headers: agent.user.headers });
    expect(res.statusCode).toBe(200);
    const id = res.json().callbackCallId as string;
    const row = await waitFor(async () => (await t.app.db.query(`select * from outbound_calls where id = $1 and ended_at is not null`, [id])).rows[0], 'finished record');
    expect(row).toMatchObject({ state: 'failed', result: 'resident_busy' });
    await waitFor(() => !sim.channels().some((c) => c.id.startsWith(id) && c.state !== 'destroyed'), 'legs gone');

    // The same dialler serves 回访 click-to-call of work orders.
    expect(typeof t.app.supervision.dialer?.place).toBe('function');
  });
});
