// One-key transfer, three-way calls and 110 linkage through the simulator.
import { startLab, type CallLab, type TestAgent } from '../helpers/telephony';

// Each test builds its own schema, service and simulator: on a loaded 2-core machine that alone can take ~20 s, so the
// deadline is for a stall, not for speed (waits inside poll with their own deadlines).
jest.setTimeout(120_000);

describe('transfers', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  async function connectedCall(l: CallLab, number: string, agent?: TestAgent) {
    const a = agent ?? (await l.addAgent({ answerAfterMs: 10 }));
    const caller = l.sim.dial({ from: 'caller1', callerNumber: number, app: 'hotline114', appArgs: ['inbound'] });
    const pop = await a.console.next('call.offered');
    await a.console.next('call.connected');
    await caller.waitFor('bridged');
    return { agent: a, caller, callId: pop.callId as string };
  }

  async function department(l: CallLab, code: string, endpoint: string) {
    await l.t.app.db.query(`insert into departments (code, name, sip_endpoint) values ($1, $2, $3)`, [code, '供热公司', `PJSIP/${endpoint}`]);
  }

  it('blind: frees the agent at once and bridges the caller with the department when it answers', async () => {
    lab = await startLab();
    const { sim, t, waitFor } = lab;
    await department(lab, 'heating', 'dept-heating');
    sim.addEndpoint('dept-heating', { context: 'from-trunk', behavior: { answerAfterMs: 150 } });
    const { agent, caller, callId } = await connectedCall(lab, '13900000801');
    const res = await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'blind', departmentCode: 'heating' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ target: '供热公司' });
    expect(await agent.console.next('call.ended')).toMatchObject({ callId, reason: 'transferred' });
    // The console hears "ended" first, then the ACD frees the agent.
    await waitFor(async () => (await t.app.acd.get(agent.agentId)).state === 'ready', 'agent ready');
    // While the department rings the caller hears music, not silence.
    expect(sim.channel(caller.id)?.mohPlaying).toBe(true);
    const dept = await waitFor(() => sim.channels().find((c) => c.endpoint === 'dept-heating' && c.state === 'Up'), 'department answered');
    await dept.waitFor('bridged');
    expect(sim.channel(caller.id)?.bridgeId).toBe(sim.channel(dept.id)?.bridgeId);
    await waitFor(async () => (await lab.callRow(callId)).state === 'transferred', 'transferred state');
    caller.hangup();
    await dept.waitFor('destroyed');
    const row = await waitFor(async () => {
      const r = await lab.callRow(callId);
      return r.ended_at ? r : null;
    }, 'call closed');
    expect(row).toMatchObject({ state: 'ended', outcome: 'answered', emergency: false });
    const tr = await t.app.db.query('select mode, target_type, target, result, answered_at from call_transfers where call_id = $1', [callId]);
    expect(tr.rows).toEqual([{ mode: 'blind', target_type: 'department', target: '供热公司', result: 'answered', answered_at: expect.any(Date) }]);
  });

  it('blind: a busy department brings the caller back to the same agent', async () => {
    lab = await startLab();
    const { sim, t } = lab;
    await department(lab, 'water', 'dept-water');
    sim.addEndpoint('dept-water', { context: 'from-trunk', behavior: { busy: true } });
    const other = await lab.addAgent({ answerAfterMs: 10 }, { login: false }); // present but not signed in
    const { agent, caller, callId } = await connectedCall(lab, '13900000802');
    await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'blind', departmentCode: 'water' } });
    expect(await agent.console.next('transfer.progress')).toMatchObject({ status: 'ringing' });
    expect(await agent.console.next('transfer.progress')).toMatchObject({ status: 'failed', reason: 'busy' });
    const again = await agent.console.next('call.offered');
    expect(again.callId).toBe(callId);
    await agent.console.next('call.connected');
    await caller.waitFor('bridged');
    expect(other.console.messages.some((m) => m.type === 'call.offered')).toBe(false);
    const tr = await t.app.db.query('select result from call_transfers where call_id = $1', [callId]);
    expect(tr.rows).toEqual([{ result: 'busy' }]);
    caller.hangup();
    await agent.console.next('call.ended');
  });

  it('three-way: the department joins, the agent leaves, the call goes on until the department hangs up', async () => {
    lab = await startLab();
    const { sim, t, waitFor } = lab;
    await department(lab, 'heating', 'dept-heating');
    sim.addEndpoint('dept-heating', { context: 'from-trunk', behavior: { answerAfterMs: 30 } });
    const { agent, caller, callId } = await connectedCall(lab, '13900000803');
    const early = await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer/complete`, headers: agent.user.headers });
    expect(early.statusCode).toBe(409);
    await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'three_way', departmentCode: 'heating' } });
    await agent.console.next('transfer.progress'); // ringing
    expect(await agent.console.next('transfer.progress')).toMatchObject({ status: 'answered' });
    const bridge = await waitFor(() => sim.bridges().find((b) => b.channels.includes(caller.id) && b.channels.length === 3), 'three parties in the bridge');
    expect(bridge.channels).toHaveLength(3);
    const done = await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer/complete`, headers: agent.user.headers });
    expect(done.statusCode).toBe(200);
    expect(await agent.console.next('call.ended')).toMatchObject({ reason: 'transferred' });
    await waitFor(() => !sim.channels().some((c) => c.endpoint === agent.endpoint), 'agent leg gone');
    expect((await lab.callRow(callId)).state).toBe('transferred');
    const dept = sim.channels().find((c) => c.endpoint === 'dept-heating')!;
    dept.hangup();
    await caller.waitFor('destroyed');
    const row = await waitFor(async () => {
      const r = await lab.callRow(callId);
      return r.ended_at ? r : null;
    }, 'call closed');
    expect(row).toMatchObject({ state: 'ended', hangup_cause: 'transfer_target_hangup' });
  });

  it('three-way: an unanswered department leaves agent and caller talking', async () => {
    lab = await startLab();
    const { sim, t } = lab;
    await department(lab, 'water', 'dept-water');
    sim.addEndpoint('dept-water', { context: 'from-trunk', behavior: { busy: true } });
    const { agent, caller, callId } = await connectedCall(lab, '13900000804');
    await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'three_way', departmentCode: 'water' } });
    await agent.console.next('transfer.progress');
    expect(await agent.console.next('transfer.progress')).toMatchObject({ status: 'failed' });
    expect((await lab.callRow(callId)).state).toBe('connected');
    expect(sim.bridges().find((b) => b.channels.includes(caller.id))?.channels).toHaveLength(2);
    caller.hangup();
    await agent.console.next('call.ended');
  });

  it('110: one action transfers to the police number and flags the call', async () => {
    lab = await startLab({ env: { POLICE_NUMBER: '110' } });
    const { sim, t, waitFor } = lab;
    sim.addEndpoint('110', { context: 'from-trunk', behavior: { answerAfterMs: 20 } });
    const { agent, caller, callId } = await connectedCall(lab, '13900000805');
    const res = await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'blind', police: true } });
    expect(res.json()).toMatchObject({ target: '110' });
    await waitFor(async () => (await lab.callRow(callId)).state === 'transferred', 'with the police');
    expect((await lab.callRow(callId)).emergency).toBe(true);
    const tr = await t.app.db.query('select target_type, dial_string from call_transfers where call_id = $1', [callId]);
    expect(tr.rows).toEqual([{ target_type: 'police', dial_string: 'PJSIP/110@trunk' }]);
    caller.hangup();
  });

  it('rejects transfer requests that name no target, two targets, an unknown department or a call not live', async () => {
    lab = await startLab();
    const { t } = lab;
    const { agent, caller, callId } = await connectedCall(lab, '13900000806');
    const post = (payload: unknown, id = callId) =>
      t.inject({ method: 'POST', url: `/api/calls/${id}/transfer`, headers: agent.user.headers, payload: payload as Record<string, unknown> });
    expect((await post({ mode: 'blind' })).statusCode).toBe(400);
    expect((await post({ mode: 'blind', police: true, number: '12345' })).statusCode).toBe(400);
    expect((await post({ mode: 'sideways', police: true })).statusCode).toBe(400);
    expect((await post({ mode: 'blind', number: 'abc' })).statusCode).toBe(400);
    const unknown = await post({ mode: 'blind', departmentCode: 'nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toMatch(/部门/);
    expect((await post({ mode: 'blind', police: true }, '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    const other = await t.createUser('agent');
    expect((await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: other.headers, payload: { mode: 'blind', police: true } })).statusCode).toBe(403);
    caller.hangup();
    await agent.console.next('call.ended');
  });
});
