// Public rate limits that hold (issue 10, item 5): behind a trusted proxy each resident has their own bucket; a
// route family (.json and .xml) is one bucket; while Redis is down each process limits in memory instead of not
// at all.
import { build, type TestApp } from '../helpers/build';
import { categoryId } from '../cases/helpers';
import { TcpProxy } from '../cases/proxy';
import { DEFAULT_PUBLIC_LIMITS } from '../../src/intake/rate-limit';

const SUBMIT = DEFAULT_PUBLIC_LIMITS.submit.max;
const WRITE = DEFAULT_PUBLIC_LIMITS.write.max;

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const submit = (t: TestApp, ip?: string) =>
  t.inject({
    method: 'POST',
    url: '/api/public/requests',
    headers: ip ? { 'x-forwarded-for': ip } : {},
    payload: { category: 'rl-cat', description: '路灯不亮', location: '人民路' },
  });

describe('behind a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build({ env: { TRUST_PROXY: 'true' } });
    await categoryId(t, 'rl-cat', '路灯');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('each resident (X-Forwarded-For) has their own bucket', async () => {
    for (let i = 0; i < SUBMIT; i++) expect((await submit(t, '203.0.113.7')).statusCode).toBe(201);
    const over = await submit(t, '203.0.113.7');
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ error: 'rate_limited' });
    expect((await submit(t, '198.51.100.23')).statusCode).toBe(201);
  });

  it('the .json and .xml forms of an Open311 POST count in one bucket', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= WRITE; i++) {
      const r = await t.inject({
        method: 'POST',
        url: `/open311/v2/requests.${i % 2 ? 'xml' : 'json'}`,
        headers: { 'x-forwarded-for': '192.0.2.50' },
        payload: {},
      });
      statuses.push(r.statusCode);
    }
    expect(statuses.slice(0, WRITE).every((s) => s !== 429)).toBe(true);
    expect(statuses[WRITE]).toBe(429);
  });
});

describe('without a trusted proxy (default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build();
    await categoryId(t, 'rl-cat', '路灯');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a forged X-Forwarded-For does not buy a fresh bucket', async () => {
    for (let i = 0; i < SUBMIT; i++) expect((await submit(t, `10.0.0.${i + 1}`)).statusCode).toBe(201);
    expect((await submit(t, '10.0.0.200')).statusCode).toBe(429);
  });
});

describe('Redis down', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = new TcpProxy(6379);
    await proxy.up();
    t = await build({ env: { REDIS_URL: proxy.url } });
    await categoryId(t, 'rl-cat', '路灯');
  });
  afterAll(async () => {
    await proxy?.up().catch(() => undefined);
    await t?.close();
    await proxy?.down();
  });

  it('limits in this process memory instead of letting everything through', async () => {
    await proxy.down();
    await until('redis seen as down', async () => t.app.redis.status !== 'ready');
    const statuses: number[] = [];
    for (let i = 0; i <= SUBMIT; i++) statuses.push((await submit(t)).statusCode);
    expect(statuses.slice(0, SUBMIT)).toEqual(Array(SUBMIT).fill(201));
    expect(statuses[SUBMIT]).toBe(429);
  });
});
