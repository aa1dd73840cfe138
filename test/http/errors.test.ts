import { build, type TestApp } from '../helpers/build';

let t: TestApp;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

it('answers an unknown route with 404 not_found in Chinese', async () => {
  const res = await t.inject({ method: 'GET', url: '/api/nope' });
  expect(res.statusCode).toBe(404);
  expect(res.json()).toEqual({ error: 'not_found', message: '接口不存在' });
});

it('serves the OpenAPI document and the UI', async () => {
  const json = await t.inject({ method: 'GET', url: '/docs/json' });
  expect(json.statusCode).toBe(200);
  const doc = json.json();
  expect(doc.openapi).toMatch(/^3\./);
  for (const p of ['/api/callers', '/api/callers/{id}', '/api/calls/{callId}/notes', '/api/admin/users', '/health']) {
    expect(Object.keys(doc.paths)).toContain(p);
  }
  expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  const ui = await t.inject({ method: 'GET', url: '/docs' });
  expect(ui.statusCode).toBeLessThan(400);
});

it('answers an unexpected failure with 500 internal and no stack trace', async () => {
  const u = await t.createUser('agent');
  await t.app.db.query('alter table callers rename to callers_gone');
  try {
    const res = await t.inject({ method: 'GET', url: '/api/callers/1', headers: u.headers });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: '服务器内部错误' });
    expect(res.body).not.toMatch(/callers_gone|at |relation/);
  } finally {
    await t.app.db.query('alter table callers_gone rename to callers');
  }
});
