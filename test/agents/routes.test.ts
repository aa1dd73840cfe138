// Agent seat routes over real PostgreSQL/Redis, no telephony: state changes, roles, and bad input.
import { build, type TestApp } from '../helpers/build';

describe('agent seat routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build();
  });
  afterAll(async () => {
    await t.close();
  });

  it('signs in, pauses with a reason, goes ready and signs out, logging each state', async () => {
    const agent = await t.createUser('agent');
    const login = await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.headers, payload: { state: 'paused' } });
    expect(login.statusCode).toBe(200);
    expect(login.json()).toMatchObject({ agentId: agent.agentId, state: 'paused', reason: 'login' });
    const ready = await t.inject({ method: 'POST', url: '/api/agents/me/ready', headers: agent.headers });
    expect(ready.json()).toMatchObject({ state: 'ready', reason: null });
    const pause = await t.inject({ method: 'POST', url: '/api/agents/me/pause', headers: agent.headers, payload: { reason: '休息' } });
    expect(pause.json()).toMatchObject({ state: 'paused', reason: '休息' });
    const me = await t.inject({ method: 'GET', url: '/api/agents/me', headers: agent.headers });
    expect(me.json()).toMatchObject({ state: 'paused', extension: expect.any(String), endpoint: expect.stringMatching(/^PJSIP\/agent/) });
    const out = await t.inject({ method: 'POST', url: '/api/agents/me/logout', headers: agent.headers });
    expect(out.json()).toMatchObject({ state: 'offline' });
    const { rows } = await t.app.db.query('select state, reason from agent_state_log where agent_id = $1 order by id', [agent.agentId]);
    expect(rows).toEqual([
      { state: 'paused', reason: 'login' },
      { state: 'ready', reason: null },
      { state: 'paused', reason: '休息' },
      { state: 'offline', reason: null },
    ]);
  });

  it('refuses ready before sign-in with 409 and a Chinese message', async () => {
    const agent = await t.createUser('agent');
    const res = await t.inject({ method: 'POST', url: '/api/agents/me/ready', headers: agent.headers });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'agent_offline', message: '坐席尚未签入，请先签入' });
  });

  it('refuses sign-out during a call', async () => {
    const agent = await t.createUser('agent');
    await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.headers });
    expect(await t.app.acd.reserve('call-x', null)).toMatchObject({ agentId: agent.agentId });
    const res = await t.inject({ method: 'POST', url: '/api/agents/me/logout', headers: agent.headers });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe('agent_on_call');
    await t.app.acd.cancel(agent.agentId!, 'call-x');
  });

  it('shows the board to supervisors only', async () => {
    const sup = await t.createUser('supervisor');
    const agent = await t.createUser('agent');
    const board = await t.inject({ method: 'GET', url: '/api/agents', headers: sup.headers });
    expect(board.statusCode).toBe(200);
    expect(board.json().some((a: { agentId: number }) => a.agentId === agent.agentId)).toBe(true);
    expect((await t.inject({ method: 'GET', url: '/api/agents', headers: agent.headers })).statusCode).toBe(403);
    expect((await t.inject({ method: 'GET', url: '/api/agents' })).statusCode).toBe(401);
  });

  it('answers 403 for a user without an agent seat', async () => {
    const sup = await t.createUser('supervisor');
    const res = await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: sup.headers });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'not_an_agent' });
  });

  it.each([
    ['pause without a reason', { method: 'POST', url: '/api/agents/me/pause', payload: {} }],
    ['pause with an empty reason', { method: 'POST', url: '/api/agents/me/pause', payload: { reason: '' } }],
    ['pause with a huge reason', { method: 'POST', url: '/api/agents/me/pause', payload: { reason: '长'.repeat(65) } }],
    ['pause with extra fields', { method: 'POST', url: '/api/agents/me/pause', payload: { reason: '休息', x: 1 } }],
    ['login to an unknown state', { method: 'POST', url: '/api/agents/me/login', payload: { state: 'busy' } }],
    ['pause with a non-JSON body', { method: 'POST', url: '/api/agents/me/pause', payload: '{not json', headers: { 'content-type': 'application/json' } }],
    ['hang up a call id that is not a uuid', { method: 'POST', url: '/api/calls/abc/hangup' }],
  ])('rejects %s with a readable 4xx', async (_name, req) => {
    const agent = await t.createUser('agent');
    const r = req as { method: 'POST'; url: string; payload?: unknown; headers?: Record<string, string> };
    const res = await t.inject({ ...r, payload: r.payload as string, headers: { ...agent.headers, ...(r.headers ?? {}) } });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.json();
    expect(typeof body.error).toBe('string');
    expect(body.message).toMatch(/[\u4e00-\u9fff]/);
  });
});
