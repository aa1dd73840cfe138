import { Acd, AgentStateError } from '../../src/agents/acd';
import { createRedis, redisReady, type Redis } from '../../src/infra/redis';
import { TEST_REDIS_URL, uniqueName } from '../helpers/db';

describe('Acd (Redis reservation)', () => {
  let r1: Redis;
  let r2: Redis;
  let prefix: string;
  let a: Acd;
  let b: Acd;

  beforeAll(async () => {
    r1 = createRedis(TEST_REDIS_URL);
    r2 = createRedis(TEST_REDIS_URL);
    await Promise.all([redisReady(r1), redisReady(r2)]);
  });
  beforeEach(() => {
    prefix = uniqueName('acdtest');
    a = new Acd(r1, prefix, 'node-a');
    b = new Acd(r2, prefix, 'node-b'); // a second "process" on its own connection
  });
  afterEach(async () => {
    const keys = await r1.keys(`${prefix}:*`);
    if (keys.length) await r1.del(...keys);
  });
  afterAll(async () => {
    r1.disconnect();
    r2.disconnect();
  });

  const login = (acd: Acd, id: number, t: number, skills: string[] = []) =>
    acd.login({ agentId: id, extension: String(1000 + id), endpoint: `PJSIP/agent${1000 + id}`, skills }, 'ready', t);

  it('reserves the longest-idle ready agent and never the same one twice', async () => {
    await login(a, 1, 3000);
    await login(a, 2, 1000);
    await login(a, 3, 2000);
    const first = await a.reserve('c1', null, 5000);
    const second = await b.reserve('c2', null, 5000);
    const third = await a.reserve('c3', null, 5000);
    expect([first?.agentId, second?.agentId, third?.agentId]).toEqual([2, 3, 1]);
    expect(first?.endpoint).toBe('PJSIP/agent1002');
    expect(await b.reserve('c4', null, 5000)).toBeNull();
    expect((await a.get(2, 5000)).state).toBe('reserved');
  });

  it('hands 50 agents to 200 concurrent reservations from two processes without a double booking', async () => {
    for (let i = 1; i <= 50; i++) await login(a, i, i);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).reserve(`call-${i}`, null, 10_000)),
    );
    const got = results.filter((r) => r !== null).map((r) => r!.agentId);
    expect(got).toHaveLength(50);
    expect(new Set(got).size).toBe(50);
  });

  it('sends an agent who missed an offer to the back, and pauses after maxMissed in a row', async () => {
    await login(a, 1, 1000);
    await login(a, 2, 2000);
    const r = await a.reserve('c1', null, 3000);
    expect(r?.agentId).toBe(1);
    expect(await a.missed(1, 'c1', 2, 3500)).toBe('ready');
    expect((await a.reserve('c1', null, 4000))?.agentId).toBe(2); // 1 is now behind 2
    expect((await a.reserve('c2', null, 4000))?.agentId).toBe(1);
    expect(await a.missed(1, 'c2', 2, 4500)).toBe('paused');
    const live = await a.get(1, 5000);
    expect(live.state).toBe('paused');
    expect(live.reason).toBe('missed');
    expect(await a.reserve('c3', null, 6000)).toBeNull();
  });

  it('a missed() for another call id changes nothing', async () => {
    await login(a, 1, 1000);
    await a.reserve('c1', null, 2000);
    expect(await a.missed(1, 'other', 3, 2500)).toBeNull();
    expect((await a.get(1)).state).toBe('reserved');
  });

  it('restores the idle position when the offer is cancelled by the caller', async () => {
    await login(a, 1, 1000);
    await login(a, 2, 2000);
    await a.reserve('c1', null, 3000); // agent 1
    expect(await a.cancel(1, 'c1', 3500)).toBe('ready');
    expect((await a.reserve('c2', null, 4000))?.agentId).toBe(1);
  });

  it('wrap-up makes the agent eligible again by time alone', async () => {
    await login(a, 1, 1000);
    await a.reserve('c1', null, 2000);
    expect(await a.connect(1, 'c1', 2100)).toBe(true);
    expect(await a.end(1, 'c1', 10_000, 5000)).toBe('wrap_up');
    expect((await a.get(1, 6000)).state).toBe('wrap_up');
    expect(await a.reserve('c2', null, 14_999)).toBeNull();
    expect(await a.nextEligibleAt(6000)).toBe(15_000);
    expect((await a.get(1, 15_000)).state).toBe('ready');
    expect((await a.reserve('c2', null, 15_000))?.agentId).toBe(1);
  });

  it('a pause asked for during a call applies when the call ends', async () => {
    await login(a, 1, 1000);
    await a.reserve('c1', null, 2000);
    await a.connect(1, 'c1', 2100);
    expect(await a.setState(1, 'paused', 'lunch', 2200)).toBe('busy');
    expect(await a.end(1, 'c1', 5000, 3000)).toBe('paused');
    expect((await a.get(1, 9000)).reason).toBe('lunch');
    expect(await a.reserve('c2', null, 20_000)).toBeNull();
  });

  it('skips agents without the skill and phones that are unavailable or in use', async () => {
    await login(a, 1, 1000, ['complaint']);
    await login(a, 2, 2000, ['consult']);
    await login(a, 3, 500, ['consult']);
    await a.setDevice(3, 'UNAVAILABLE');
    expect((await a.reserve('c1', 'consult', 3000))?.agentId).toBe(2);
    await a.setDevice(3, 'NOT_INUSE');
    expect((await a.reserve('c2', 'consult', 3000))?.agentId).toBe(3);
    expect(await a.reserve('c3', 'consult', 3000)).toBeNull();
    expect((await a.reserve('c3', null, 3000))?.agentId).toBe(1);
  });

  it('finds the longest-idle eligible agent past many ineligible ones, and drops stale idle entries', async () => {
    // 30 agents idle longer than the eligible ones: 10 on the phone, 10 without the skill, 10 logged out elsewhere
    // (hash gone, idle entry left). The scan reads the idle set a chunk at a time and must go past all of them.
    for (let i = 1; i <= 30; i++) await login(a, i, i * 10, i <= 20 ? ['complaint'] : ['consult']);
    for (let i = 1; i <= 10; i++) await a.setDevice(i, 'INUSE');
    for (let i = 21; i <= 30; i++) await r1.del(`${prefix}:acd:agent:${i}`);
    await login(a, 40, 1000, ['consult', 'complaint']);
    await login(a, 41, 1100, ['complaint']);
    expect((await a.reserve('c1', 'consult', 5000))?.agentId).toBe(40);
    expect(await r1.zscore(`${prefix}:acd:idle`, '25')).toBeNull(); // stale entries gone
    expect(await r1.zscore(`${prefix}:acd:idle`, '40')).toBeNull(); // the reserved agent left the idle set
    expect(await a.reserve('c2', 'consult', 5000)).toBeNull();
    expect((await a.reserve('c3', 'complaint', 5000))?.agentId).toBe(11);
  });

  it('reserves for several callers in arrival order, each with the longest-idle agent left that has their skill', async () => {
    for (let i = 1; i <= 12; i++) await login(a, i, i * 10, ['complaint']);
    for (let i = 1; i <= 12; i++) await a.setDevice(i, 'RINGING');
    await login(a, 20, 500, ['consult']);
    await login(a, 21, 600, ['complaint', 'consult']);
    await login(a, 22, 700, []);
    await login(a, 23, 800, ['complaint']);
    const got = await a.reserveMany(
      [
        { callId: 'c1', skill: 'complaint' },
        { callId: 'c2', skill: null },
        { callId: 'c3', skill: 'consult' },
        { callId: 'c4', skill: 'consult' },
        { callId: 'c5', skill: 'complaint' },
      ],
      5000,
    );
    expect(got.map((r) => [r.callId, r.agentId])).toEqual([
      ['c1', 21],
      ['c2', 20],
      ['c5', 23],
    ]);
    expect((await a.get(21)).state).toBe('reserved');
    expect(await r1.zrangebyscore(`${prefix}:acd:idle`, '-inf', 5000)).toEqual([...Array.from({ length: 12 }, (_, i) => String(i + 1)), '22']);
  });

  it('refuses logout or ready while on a call, and state changes of offline agents', async () => {
    await login(a, 1, 1000);
    await a.reserve('c1', null, 2000);
    await expect(a.setState(1, 'offline')).rejects.toEqual(new AgentStateError('on_call'));
    await expect(a.setState(1, 'ready')).rejects.toEqual(new AgentStateError('on_call'));
    await expect(a.setState(99, 'ready')).rejects.toEqual(new AgentStateError('offline'));
    await a.setDevice(99, 'NOT_INUSE');
    expect((await a.get(99)).state).toBe('offline');
  });
});
