import { build, type TestApp } from '../helpers/build';

describe('GET /health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build({ env: { ARI_ENABLED: 'true', AMI_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 200 with database and redis up, telephony down until a provider is plugged in', async () => {
    const res = await t.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'degraded', database: 'up', redis: 'up', ari: 'down', ami: 'disabled' });
  });

  it('reports providers: up, down, throwing = down', async () => {
    t.app.health.setProvider('ari', () => true);
    expect((await t.inject({ method: 'GET', url: '/health' })).json()).toEqual({
      status: 'ok',
      database: 'up',
      redis: 'up',
      ari: 'up',
      ami: 'disabled',
    });
    t.app.health.setProvider('ari', async () => {
      throw new Error('boom');
    });
    const res = await t.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json().ari).toBe('down');
    expect(res.json().status).toBe('degraded');
  });

  it('needs no token and sets security headers', async () => {
    const res = await t.inject({ method: 'GET', url: '/health', headers: { authorization: 'Bearer nonsense' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('GET /health with Redis unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 degraded with redis down, and the API still works', async () => {
    const res = await t.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'degraded', database: 'up', redis: 'down', ari: 'disabled', ami: 'disabled' });
    const u = await t.createUser('agent');
    expect((await t.inject({ method: 'GET', url: '/api/me', headers: u.headers })).statusCode).toBe(200);
  });
});
