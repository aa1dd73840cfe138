// Prometheus /metrics: text format, live figures (agents by state, telephony, backlog), HTTP durations by route
// pattern, and the optional METRICS_TOKEN.
import { build, type TestApp } from '../helpers/build';
import { startLab, type CallLab } from '../helpers/telephony';

describe('/metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the Prometheus text format without auth, with agents by state and HTTP durations by route', async () => {
    const agent = await t.createUser('agent');
    await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.headers, payload: {} });
    await t.inject({ method: 'GET', url: `/api/missed-calls/${123}`, headers: agent.headers });
    const res = await t.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = res.body;
    expect(body).toContain('# TYPE h114_http_request_duration_seconds histogram');
    expect(body).toMatch(/h114_http_request_duration_seconds_count\{method="POST",route="\/api\/agents\/me\/login",status_code="200"\} 1/);
    // Route patterns, never raw URLs (ids, phone numbers).
    expect(body).toMatch(/route="\/api\/missed-calls\/:id",status_code="404"/);
    expect(body).not.toContain('/api/missed-calls/123');
    expect(body).toMatch(/^h114_agents\{state="ready"\} 1$/m);
    expect(body).toMatch(/^h114_agents\{state="busy"\} 0$/m);
    expect(body).toMatch(/^h114_cluster_calls_waiting 0$/m);
    expect(body).toContain('# TYPE h114_calls_active gauge');
    expect(body).toContain('h114_process_cpu_user_seconds_total');
    // Telephony disabled: no up/down sample at all.
    expect(body).not.toMatch(/^h114_telephony_up\{/m);
  });
});

describe('/metrics with telephony and a token', () => {
  let lab: CallLab;
  beforeAll(async () => {
    lab = await startLab({ env: { CALL_SURVEY: 'false', METRICS_TOKEN: 'scrape-secret-123' } });
  });
  afterAll(async () => {
    await lab.close();
  });

  it('needs the bearer token and reports ARI/AMI up, live calls and the record backlog', async () => {
    const { t, sim, waitFor } = lab;
    const none = await t.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') });
    expect((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    const scrape = async () => {
      const res = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-secret-123' } });
      expect(res.statusCode).toBe(200);
      return res.body;
    };
    const body = await scrape();
    expect(body).toMatch(/^h114_telephony_up\{component="ari"\} 1$/m);
    expect(body).toMatch(/^h114_telephony_up\{component="ami"\} 1$/m);
    expect(body).toMatch(/^h114_call_record_backlog 0$/m);
    // A caller waiting with no agent: this process and the cluster both count them.
    const caller = sim.dial({ from: 'caller1', callerNumber: '13800009999', app: 'hotline114', appArgs: ['inbound'] });
    await waitFor(async () => /^h114_calls_waiting 1$/m.test(await scrape()), 'waiting caller in metrics');
    await waitFor(async () => /^h114_cluster_calls_waiting 1$/m.test(await scrape()), 'waiting caller in cluster metrics');
    expect(await scrape()).toMatch(/^h114_calls_active 1$/m);
    caller.hangup();
    await waitFor(async () => /^h114_calls_active 0$/m.test(await scrape()), 'call gone');
  });
});
