// The 114 call path end to end: simulator (real ari-client/asterisk-manager wire protocols) → service →
// PostgreSQL/Redis → the agent's console WebSocket.
import type { SimChannel } from '../asterisk';
import { startLab, type CallLab, type TestAgent } from '../helpers/telephony';

// Each test builds its own schema, service and simulator: on a loaded 2-core machine that alone can take ~20 s, so the
// deadline is for a stall, not for speed (waits inside poll with their own deadlines).
jest.setTimeout(120_000);

/** The agent's caller hangs up; the caller waiting next is offered to the freed agent (the pop names them) and bridged. */
async function freedAgentTakes(agent: TestAgent, leaving: SimChannel, next: SimChannel, nextNumber: string): Promise<Record<string, unknown>> {
  leaving.hangup();
  await agent.console.next('call.ended');
  const pop = await agent.console.next('call.offered');
  expect(pop.callerNumber).toBe(nextNumber);
  await agent.console.next('call.connected');
  await next.waitFor('bridged');
  return pop;
}

/** A caller through asterisk-config's dialplan: ringback sent before Stasis(hotline114,inbound,ringing). */
function dialRinging(l: CallLab, from: string, callerNumber: string) {
  return l.sim.dial({ from, callerNumber, app: 'hotline114', appArgs: ['inbound', 'ringing'], ringing: true });
}

describe('114 call flow', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  it('answers, pops the caller on the ringing agent console, bridges, records times and notes', async () => {
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '10' } });
    const { sim, t, waitFor } = lab;
    await t.inject({
      method: 'POST',
      url: '/api/callers',
      headers: (await t.createUser('supervisor')).headers,
      payload: { number: '13800138000', name: '张三', address: '幸福路1号' },
    });
    const agent = await lab.addAgent({ answerAfterMs: 300 });

    const caller = sim.dial({ from: 'caller1', callerNumber: '138-0013-8000', callerName: 'Zhang', app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    // The pop arrives while the agent's phone is still ringing.
    const agentLeg = sim.channels().find((c) => c.isOriginated);
    expect(agentLeg?.state).not.toBe('Up');
    expect(pop).toMatchObject({ callerNumber: '13800138000', caller: { name: '张三', address: '幸福路1号' } });
    expect(Array.isArray(pop.recentCalls)).toBe(true);
    expect(Array.isArray(pop.openCases)).toBe(true);
    expect(typeof pop.queueWaitMs).toBe('number');
    const callId = pop.callId as string;

    const connected = await agent.console.next('call.connected');
    expect(connected.callId).toBe(callId);
    await caller.waitFor('bridged');
    expect(sim.bridges().find((b) => b.channels.includes(caller.id))?.channels).toHaveLength(2);
    expect((await lab.callRow(callId)).state).toBe('connected');

    const note = await t.inject({
      method: 'POST',
      url: `/api/calls/${callId}/notes`,
      headers: agent.user.headers,
      payload: { content: '咨询供暖开始时间，已答复', resolved: true },
    });
    expect(note.statusCode).toBe(201);

    caller.hangup();
    const ended = await agent.console.next('call.ended');
    expect(ended).toMatchObject({ callId, outcome: 'answered', hangupBy: 'caller' });
    const row = await lab.callRow(callId);
    expect(row).toMatchObject({ state: 'ended', outcome: 'answered', agent_id: agent.agentId, hangup_by: 'caller', caller_number: '13800138000' });
    expect(row.caller_id).not.toBeNull();
    const started = (row.started_at as Date).getTime();
    const conn = (row.connected_at as Date).getTime();
    const end = (row.ended_at as Date).getTime();
    expect(conn - started).toBeGreaterThanOrEqual(250); // the agent took 300 ms to answer
    expect(row.wait_ms).toBe(conn - started);
    expect(row.talk_ms).toBe(end - conn);
    await caller.waitFor('destroyed').catch(() => undefined);
    const detail = await t.inject({ method: 'GET', url: `/api/calls/${callId}`, headers: agent.user.headers });
    expect(detail.statusCode).toBe(200);
    expect(JSON.stringify(detail.json())).toContain('咨询供暖开始时间');
    const offers = await t.app.db.query('select result from call_offers where call_id = $1', [callId]);
    expect(offers.rows).toEqual([{ result: 'answered' }]);
    // Agent hung up remotely by the service, wrap-up 0 → ready again.
    await waitFor(async () => (await t.app.acd.get(agent.agentId)).state === 'ready', 'agent ready after the call');
  });

  it('rings the next agent when the first does not answer, and sends the first to the back', async () => {
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '1' } });
    const { sim, t } = lab;
    const slow = await lab.addAgent({ ring: 'forever' });
    const fast = await lab.addAgent({ answerAfterMs: 50 });
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000001', app: 'hotline114', appArgs: ['inbound'] });
    const first = await slow.console.next('call.offered');
    const missed = await slow.console.next('call.ended', 4000);
    expect(missed).toMatchObject({ callId: first.callId, outcome: 'missed', reason: 'no_answer' });
    const second = await fast.console.next('call.offered');
    expect(second.callId).toBe(first.callId);
    await fast.console.next('call.connected');
    const live = await t.app.acd.get(slow.agentId);
    expect(live).toMatchObject({ state: 'ready', missed: 1 });
    const offers = await t.app.db.query('select agent_id, result from call_offers where call_id = $1 order by id', [first.callId]);
    expect(offers.rows).toEqual([
      { agent_id: slow.agentId, result: 'no_answer' },
      { agent_id: fast.agentId, result: 'answered' },
    ]);
    caller.hangup();
    await fast.console.next('call.ended');
  });

  it('skips a phone Asterisk refuses to ring (unreachable) instead of auto-pausing its agent in milliseconds', async () => {
    lab = await startLab({ env: { CALL_MAX_MISSED_OFFERS: '3' } });
    const { sim, t } = lab;
    const gone = await lab.addAgent({ unreachable: true });
    const ok = await lab.addAgent({ answerAfterMs: 20 });
    const callers = ['13900000061', '13900000062'].map((n, i) => sim.dial({ from: `caller${i}`, callerNumber: n, app: 'hotline114', appArgs: ['inbound'] }));
    await ok.console.next('call.connected');
    const live = await t.app.acd.get(gone.agentId);
    expect(live.state).toBe('ready'); // one refusal, not three in a row
    expect(live.missed).toBe(1);
    const refused = sim.restLog.filter((r) => r.status === 500 && r.path.includes(encodeURIComponent(`PJSIP/${gone.endpoint}`)));
    expect(refused).toHaveLength(1);
    for (const c of callers) c.hangup();
  });

  it('treats a busy phone like a missed offer and tries the next agent', async () => {
    lab = await startLab();
    const busy = await lab.addAgent({ busy: true });
    const ok = await lab.addAgent({ answerAfterMs: 20 });
    const caller = lab.sim.dial({ from: 'caller1', callerNumber: '13900000002', app: 'hotline114', appArgs: ['inbound'] });
    expect(await busy.console.next('call.ended')).toMatchObject({ outcome: 'missed', reason: 'busy' });
    await ok.console.next('call.connected');
    caller.hangup();
    await ok.console.next('call.ended');
  });

  it('holds a caller with music while every agent is busy and gives them the first agent freed', async () => {
    lab = await startLab();
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 20 });
    const c1 = sim.dial({ from: 'caller1', callerNumber: '13900000011', app: 'hotline114', appArgs: ['inbound'] });
    const pop1 = await agent.console.next('call.offered');
    await agent.console.next('call.connected');

    const c2 = sim.dial({ from: 'caller2', callerNumber: '13900000012', app: 'hotline114', appArgs: ['inbound'] });
    await c2.waitFor('Up'); // no agent: the service answers and plays music on hold
    await waitFor(() => sim.channel(c2.id)?.mohPlaying, 'music on hold for the waiting caller');
    expect(lab.t.app.calls!.queue.size).toBe(1);
    // The ringback indication sent at StasisStart must not replace the music (real chan_pjsip would).
    const ringIdx = sim.restLog.findIndex((r) => r.method === 'POST' && r.path === `/ari/channels/${c2.id}/ring`);
    const answerIdx = sim.restLog.findIndex((r) => r.path === `/ari/channels/${c2.id}/answer`);
    expect(ringIdx).toBeGreaterThanOrEqual(0);
    expect(ringIdx).toBeLessThan(answerIdx);
    expect(sim.channel(c2.id)?.mohPlaying).toBe(true);

    const pop2 = await freedAgentTakes(agent, c1, c2, '13900000012');
    expect(pop2.callId).not.toBe(pop1.callId);
    expect(pop2.queueWaitMs as number).toBeGreaterThan(0);
    expect(sim.channel(c2.id)?.mohPlaying).toBe(false);
    c2.hangup();
    await agent.console.next('call.ended');
    const row = await lab.callRow(pop2.callId as string);
    expect(row.outcome).toBe('answered');
    expect(row.answered_at).not.toBeNull();
    expect((row.connected_at as Date).getTime()).toBeGreaterThan((row.answered_at as Date).getTime());
    void t;
  });

  it('takes the ringback the dialplan already sent (inbound,ringing): no ring request, music once they wait, bridged once an agent frees', async () => {
    lab = await startLab();
    const { sim } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 20 });
    const c1 = dialRinging(lab, 'caller1', '13900000031');
    expect(c1.ringing).toBe(true);
    const pop1 = await agent.console.next('call.offered');
    expect(pop1.callerNumber).toBe('13900000031');
    await agent.console.next('call.connected');
    await c1.waitFor('bridged');

    const c2 = dialRinging(lab, 'caller2', '13900000032');
    await c2.waitFor('Up');
    await lab.waitFor(() => sim.channel(c2.id)?.mohPlaying, 'music on hold for the waiting caller');
    const pop2 = await freedAgentTakes(agent, c1, c2, '13900000032');
    expect(sim.channel(c2.id)?.mohPlaying).toBe(false);
    for (const c of [c1, c2]) expect(sim.restLog.filter((r) => r.path === `/ari/channels/${c.id}/ring`)).toEqual([]);
    c2.hangup();
    expect(await agent.console.next('call.ended')).toMatchObject({ callId: pop2.callId, outcome: 'answered' });
  });

  it('rings a caller through to an agent freed within CALL_HOLD_AFTER_MS without answering them into music first', async () => {
    lab = await startLab({ env: { CALL_HOLD_AFTER_MS: '10000' } });
    const { sim, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 20 });
    const c1 = dialRinging(lab, 'caller1', '13900000041');
    await agent.console.next('call.offered');
    await agent.console.next('call.connected');

    const c2 = dialRinging(lab, 'caller2', '13900000042');
    // Dispatch found no agent for c2 (its record is written as queued) …
    await waitFor(async () => (await lab.t.app.db.query(`select 1 from calls where channel_id = $1 and state = 'queued'`, [c2.id])).rowCount, 'c2 queued');
    expect(sim.channel(c2.id)?.state).toBe('Ring');
    // … and the agent is freed before the grace ends: c2 is rung through, never answered into music.
    const pop2 = await freedAgentTakes(agent, c1, c2, '13900000042');
    const at = (p: string) => sim.restLog.findIndex((r) => r.method === 'POST' && r.path.startsWith(p));
    const rung = sim.restLog.findIndex((r) => r.method === 'POST' && r.path.includes(`${pop2.callId as string}-a1`));
    expect(rung).toBeGreaterThan(-1);
    expect(at(`/ari/channels/${c2.id}/answer`)).toBeGreaterThan(rung); // answered when the agent answered
    expect(at(`/ari/channels/${c2.id}/moh`)).toBe(-1);
    c2.hangup();
    await agent.console.next('call.ended');
  });

  it('records a caller who hangs up while waiting as abandoned', async () => {
    lab = await startLab();
    const { sim, t, waitFor } = lab;
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000021', app: 'hotline114', appArgs: ['inbound'] });
    await caller.waitFor('Up');
    caller.hangup();
    const row = await waitFor(async () => {
      const r = await t.app.db.query('select * from calls where channel_id = $1 and ended_at is not null', [caller.id]);
      return r.rows[0];
    }, 'abandoned call record');
    expect(row).toMatchObject({ state: 'abandoned', outcome: 'abandoned', hangup_by: 'caller', agent_id: null });
    expect(row.wait_ms).toBeGreaterThanOrEqual(0);
    expect(lab.t.app.calls!.queue.size).toBe(0);
  });

  it('cancels the ringing agent when the caller abandons during the offer, keeping the agent first in line', async () => {
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '30' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ ring: 'forever' });
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000031', app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    caller.hangup();
    expect(await agent.console.next('call.ended')).toMatchObject({ callId: pop.callId, outcome: 'abandoned' });
    await waitFor(() => !sim.channels().some((c) => c.isOriginated), 'agent leg hung up');
    const live = await t.app.acd.get(agent.agentId);
    expect(live).toMatchObject({ state: 'ready', missed: 0 });
    const offer = await t.app.db.query('select result from call_offers where call_id = $1', [pop.callId]);
    expect(offer.rows).toEqual([{ result: 'cancelled' }]);
  });

  it('pops the agent before "connected" and "ended" even when the caller lookup is slower than the whole call', async () => {
    lab = await startLab();
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 0 });
    // Hold the screen-pop lookup (its open cases) behind a table lock while the call is answered, bridged and ended.
    const blocker = await t.app.db.pool.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table cases in access exclusive mode');
      const caller = sim.dial({ from: 'caller1', callerNumber: '13900000042', app: 'hotline114', appArgs: ['inbound'] });
      const callId = await waitFor(async () => {
        const { rows } = await t.app.db.query<{ id: string }>(`select id from calls where state = 'connected' and caller_number = '13900000042'`);
        return rows[0]?.id;
      }, 'call connected in the record');
      caller.hangup();
      // Ending waits for the pop, the pop for the lookup: the lookup gives up at the lock timeout (DB_LOCK_TIMEOUT_MS).
      await waitFor(async () => (await lab.callRow(callId)).state === 'ended' || null, 'call ended in the record', 15_000);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
    await agent.console.next('call.ended');
    const types = agent.console.messages.map((m) => m.type).filter((x) => String(x).startsWith('call.'));
    expect(types).toEqual(['call.offered', 'call.connected', 'call.ended']);
  });

  it('ends the call and puts the agent into wrap-up when the agent hangs up', async () => {
    lab = await startLab({ env: { CALL_WRAPUP_SEC: '30' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 10 });
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000041', app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    await agent.console.next('call.connected');
    const leg = await waitFor(() => sim.channels().find((c) => c.isOriginated && c.state === 'Up'), 'agent leg up');
    leg.hangup();
    expect(await agent.console.next('call.ended')).toMatchObject({ callId: pop.callId, hangupBy: 'agent' });
    await caller.waitFor('destroyed');
    const live = await waitFor(async () => {
      const l = await t.app.acd.get(agent.agentId);
      return l.state === 'busy' ? null : l;
    }, 'agent released');
    expect(live.state).toBe('wrap_up');
    expect(live.wrapUntil! - Date.now()).toBeGreaterThan(25_000);
    expect((await lab.callRow(pop.callId as string)).hangup_by).toBe('agent');
  });
});

describe('114 call flow with a greeting and queue announcements', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  it('answers, plays the greeting, then queues and offers', async () => {
    lab = await startLab({ env: { CALL_GREETING: 'hotline114/welcome' } });
    const { sim } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 20 });
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000501', app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    await agent.console.next('call.connected');
    const plays = sim.restLog.filter((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${caller.id}/play`));
    expect(plays).toHaveLength(1);
    expect(decodeURIComponent(plays[0]!.path)).toContain('media=sound:hotline114/welcome');
    // The greeting finished before the agent was rung: the offer came after the playback ended.
    const answerIdx = sim.restLog.findIndex((r) => r.path === `/ari/channels/${caller.id}/answer`);
    const originateIdx = sim.restLog.findIndex((r) => r.method === 'POST' && r.path.includes(`${pop.callId}-a1`));
    expect(answerIdx).toBeGreaterThanOrEqual(0);
    expect(originateIdx).toBeGreaterThan(answerIdx);
    caller.hangup();
    await agent.console.next('call.ended');
    const events = await lab.t.app.db.query('select to_state from call_events where call_id = $1 order by id', [pop.callId]);
    expect(events.rows.map((r) => r.to_state)).toEqual(['ringing', 'answered', 'queued', 'offering', 'connected', 'ended']);
  });

  it('announces each waiting caller their position, between stretches of music', async () => {
    lab = await startLab({ env: { CALL_ANNOUNCE_EVERY_SEC: '1' } });
    const { sim, waitFor } = lab;
    const first = sim.dial({ from: 'caller1', callerNumber: '13900000601', app: 'hotline114', appArgs: ['inbound'] });
    await first.waitFor('Up');
    const second = sim.dial({ from: 'caller2', callerNumber: '13900000602', app: 'hotline114', appArgs: ['inbound'] });
    await second.waitFor('Up');
    const playFor = (id: string) => () => sim.restLog.find((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${id}/play`));
    const p1 = await waitFor(playFor(first.id), 'announcement to the first caller', 10000);
    const p2 = await waitFor(playFor(second.id), 'announcement to the second caller', 10000);
    // 您是下一位 / 您前面还有 一 位来电在等候, then the offer to keep one's place and be called back.
    expect(decodeURIComponent(p1.path)).toContain('media=sound:hotline114/you-are-next,sound:hotline114/callback-offer');
    expect(decodeURIComponent(p2.path)).toContain(
      'media=sound:hotline114/position-before,sound:hotline114/num/1,sound:hotline114/position-after,sound:hotline114/callback-offer',
    );
    // Music stops for the announcement and comes back after it.
    const mohOff = sim.restLog.findIndex((r) => r.method === 'DELETE' && r.path.startsWith(`/ari/channels/${first.id}/moh`));
    expect(mohOff).toBeGreaterThanOrEqual(0);
    expect(mohOff).toBeLessThan(sim.restLog.indexOf(p1));
    await waitFor(() => sim.channel(first.id)?.mohPlaying, 'music back on after the announcement', 10000);
    first.hangup();
    second.hangup();
    await second.waitFor('destroyed');
  });
});

describe('post-call survey', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  async function talkThenAgentHangsUp(l: CallLab, number: string) {
    const agent = await l.addAgent({ answerAfterMs: 10 });
    const caller = l.sim.dial({ from: 'caller1', callerNumber: number, app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    await agent.console.next('call.connected');
    const leg = await l.waitFor(() => l.sim.channels().find((c) => c.isOriginated && c.state === 'Up'), 'agent leg up');
    leg.hangup();
    expect(await agent.console.next('call.ended')).toMatchObject({ callId: pop.callId, hangupBy: 'agent' });
    return { agent, caller, callId: pop.callId as string };
  }

  it('asks the caller to rate the call when the agent hangs up first and stores the digit', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'true', CALL_SURVEY_TIMEOUT_SEC: '10' } });
    const { sim, waitFor } = lab;
    const { agent, caller, callId } = await talkThenAgentHangsUp(lab, '13900000701');
    // The agent is free at once (the console hears "ended" first, then the ACD frees them); the caller is out of
    // the bridge and hears the survey prompt.
    await waitFor(async () => (await lab.t.app.acd.get(agent.agentId)).state === 'ready', 'agent ready');
    await waitFor(() => sim.restLog.find((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${caller.id}/play`) && r.path.includes('survey')), 'survey prompt');
    expect(sim.channel(caller.id)?.bridgeId).toBeNull();
    expect((await lab.callRow(callId)).state).toBe('survey');
    caller.sendDtmf('2');
    await caller.waitFor('destroyed'); // thank-you played, then hung up by the service
    const row = await lab.callRow(callId);
    expect(row).toMatchObject({ state: 'ended', outcome: 'answered', survey_score: 2, hangup_by: 'agent' });
    expect(sim.restLog.some((r) => r.path.startsWith(`/ari/channels/${caller.id}/play`) && r.path.includes('thanks'))).toBe(true);
  });

  it('stores no rating when no key is pressed in time, and ignores other keys', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'true', CALL_SURVEY_TIMEOUT_SEC: '1' } });
    const { caller, callId } = await talkThenAgentHangsUp(lab, '13900000702');
    await lab.waitFor(async () => (await lab.callRow(callId)).state === 'survey', 'survey state');
    caller.sendDtmf('9');
    await caller.waitFor('destroyed');
    expect(await lab.callRow(callId)).toMatchObject({ state: 'ended', survey_score: null });
  });

  it('closes the record when the caller hangs up during the survey', async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'true', CALL_SURVEY_TIMEOUT_SEC: '10' } });
    const { caller, callId } = await talkThenAgentHangsUp(lab, '13900000703');
    await lab.waitFor(async () => (await lab.callRow(callId)).state === 'survey', 'survey state');
    caller.hangup();
    const row = await lab.waitFor(async () => {
      const r = await lab.callRow(callId);
      return r.ended_at ? r : null;
    }, 'record closed');
    expect(row).toMatchObject({ state: 'ended', survey_score: null });
  });
});
