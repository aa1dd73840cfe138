// Every route answers malformed input with a 4xx and a readable Chinese message, never a 5xx.
import { build, type TestApp, type TestUser } from '../helpers/build';

let t: TestApp;
let admin: TestUser;
let agent: TestUser;
const CALL = '7f1c8a52-9d7e-4c36-8a0e-2b4f1e6d9c01';
const HAN = /[\u4e00-\u9fff]/;

beforeAll(async () => {
  t = await build();
  admin = await t.createUser('admin');
  agent = await t.createUser('agent');
});
afterAll(async () => {
  await t?.close();
});

type Case = [method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, as?: 'admin' | 'agent', contentType?: string];

const cases: Case[] = [
  ['POST', '/api/admin/users', {}],
  ['POST', '/api/admin/users', { username: 'Bad Name!', displayName: '某人', role: 'agent' }],
  ['POST', '/api/admin/users', { username: 'someone', displayName: '某人', role: 'king' }],
  ['POST', '/api/admin/users', { username: 'someone', displayName: '', role: 'agent' }],
  ['POST', '/api/admin/users', { username: 'someone', displayName: '某人', role: 'department_staff' }],
  ['POST', '/api/admin/users', { username: 'someone2', displayName: '某人', role: 'department_staff', departmentCode: 'nowhere' }],
  ['POST', '/api/admin/users', { username: 'someone3', displayName: '某人', role: 'dispatcher', extension: '1234' }],
  ['POST', '/api/admin/users', { username: 'x', displayName: '某人', role: 'agent', extra: 1 }],
  ['POST', '/api/admin/users', '{not json', 'admin', 'application/json'],
  ['POST', '/api/admin/users', 'username=x', 'admin', 'text/plain'],
  ['GET', '/api/admin/users?role=king'],
  ['GET', '/api/admin/users/abc/tokens'],
  ['GET', '/api/admin/users/0/tokens'],
  ['GET', '/api/admin/users/99999999999/tokens'],
  ['POST', '/api/admin/users/abc/tokens', {}],
  ['POST', '/api/admin/users/1/tokens', { expiresInDays: 0 }],
  ['POST', '/api/admin/users/1/tokens', { label: 5, expiresInDays: 'soon' }],
  ['POST', '/api/admin/users/424242/tokens', {}],
  ['DELETE', '/api/admin/tokens/-1'],
  ['DELETE', '/api/admin/tokens/424242'],
  ['GET', '/api/callers', undefined, 'agent'],
  ['GET', '/api/callers?number=ab', undefined, 'agent'],
  ['GET', '/api/callers?number=abcdefgh', undefined, 'agent'],
  ['GET', '/api/callers/abc', undefined, 'agent'],
  ['GET', '/api/callers/424242', undefined, 'agent'],
  ['POST', '/api/callers', {}, 'agent'],
  ['POST', '/api/callers', { number: '电话号码' }, 'agent'],
  ['POST', '/api/callers', { number: '13800000000', gender: 'robot' }, 'agent'],
  ['POST', '/api/callers', { number: '13800000000', tags: [5, { a: 1 }] }, 'agent'],
  ['POST', '/api/callers', { number: '13800000000', tags: ['a', 'a'] }, 'agent'],
  ['POST', '/api/callers', { number: '13800000000', name: 'x'.repeat(51) }, 'agent'],
  ['POST', '/api/callers', { number: '13800000000', vip: 'maybe' }, 'agent'],
  ['PATCH', '/api/callers/1', {}, 'agent'],
  ['PATCH', '/api/callers/1', { number: '13900000000' }, 'agent'],
  ['PATCH', '/api/callers/424242', { name: '张三' }, 'agent'],
  ['GET', '/api/callers/1/calls?limit=0', undefined, 'agent'],
  ['GET', '/api/callers/1/calls?limit=1000', undefined, 'agent'],
  ['GET', '/api/callers/1/calls?cursor=garbage', undefined, 'agent'],
  ['POST', `/api/calls/not-a-uuid/notes`, { content: '来电咨询供暖' }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, {}, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: '' }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: '   ' }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: 'x'.repeat(5001) }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: '来电咨询', categoryId: 'heating' }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: '来电咨询', resolved: 'yes' }, 'agent'],
  ['POST', `/api/calls/${CALL}/notes`, { content: '来电咨询' }, 'agent'],
  ['PATCH', `/api/calls/${CALL}/notes/abc`, { content: '改' }, 'agent'],
  ['PATCH', `/api/calls/${CALL}/notes/1`, {}, 'agent'],
  ['PATCH', `/api/calls/${CALL}/notes/1`, { content: '改' }, 'agent'],
  ['GET', '/api/calls/123', undefined, 'agent'],
  ['GET', `/api/calls/${CALL}`, undefined, 'agent'],
  ['GET', '/api/calls?from=yesterday', undefined, 'agent'],
  ['GET', '/api/calls?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', undefined, 'admin'],
  ['GET', '/api/calls?agentId=x', undefined, 'admin'],
  ['GET', '/api/calls?callerNumber=hello', undefined, 'admin'],
  ['GET', '/api/calls?cursor=%%%', undefined, 'admin'],
  ['GET', `/api/calls?cursor=${Buffer.from(JSON.stringify(['2025-01-01 00:00:00+00', 'nope'])).toString('base64url')}`, undefined, 'admin'],
  ['GET', `/api/calls?cursor=${Buffer.from(JSON.stringify(['not a date', CALL])).toString('base64url')}`, undefined, 'admin'],
  ['GET', '/api/agents/abc/calls', undefined, 'admin'],
  ['GET', '/api/agents/424242/calls', undefined, 'admin'],
  ['GET', '/api/agents/1/calls?limit=-5', undefined, 'admin'],
  ['GET', '/api/departments?includeInactive=perhaps', undefined, 'agent'],
  ['GET', '/api/categories?includeInactive=perhaps', undefined, 'agent'],
];

// A plain loop: it.each would take the optional trailing columns for jest's `done` callback.
for (const [method, url, payload, as = 'admin', contentType] of cases) {
  const label = payload === undefined ? '' : JSON.stringify(payload).slice(0, 80);
  it(`${method} ${url} ${label} → 4xx with a Chinese message`, async () => {
    const headers: Record<string, string> = { ...(as === 'admin' ? admin.headers : agent.headers) };
    if (contentType) headers['content-type'] = contentType;
    const res = await t.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as object }),
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const body = res.json();
    expect(typeof body.error).toBe('string');
    expect(body.message).toMatch(HAN);
    expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
}

it('names the offending field in Chinese in validation messages (no English field names in brackets)', async () => {
  const res = await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number: '13800000000', gender: 'robot' } });
  expect(res.statusCode).toBe(400);
  expect(res.json().error).toBe('validation_failed');
  expect(res.json().message).toMatch(/^请求参数错误：「性别」取值无效/);
  expect(res.json().details[0].field).toBe('gender'); // programs still get the API's field name
  const missing = await t.inject({ method: 'POST', url: `/api/calls/${CALL}/notes`, headers: agent.headers, payload: {} });
  expect(missing.json().message).toBe('请求参数错误：缺少必填项「小结内容」');
  const long = await t.inject({ method: 'POST', url: `/api/calls/${CALL}/notes`, headers: agent.headers, payload: { content: 'x'.repeat(5001) } });
  expect(long.json().message).toBe('请求参数错误：「小结内容」长度不能超过 5000 个字符');
  // A rule checked by the service (not the schema) reads the same way.
  const phone = await t.inject({ method: 'POST', url: '/api/public/requests', payload: { category: 'x', description: '路灯不亮', location: '幸福路', phone: 'abc' } });
  expect(phone.statusCode).toBe(400);
  expect(phone.json().message).not.toMatch(/\([a-zA-Z]+\)|[a-z]{3,}/);
});
