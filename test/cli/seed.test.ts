import { seed, DEMO_PASSWORD, DEPARTMENTS, USERS } from '../../src/cli/seed';
import { build, type TestApp } from '../helpers/build';

let t: TestApp;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

it('is idempotent: running twice keeps the counts, and every demo token works', async () => {
  const first = await seed(t.app.db);
  const second = await seed(t.app.db);
  const counts = (r: typeof first) => ({ d: r.departments, c: r.categories, u: r.users, a: r.agents, k: r.callers });
  expect(counts(second)).toEqual(counts(first));
  expect(first).toMatchObject({ departments: 14, categories: 18, users: USERS.length, agents: 6, callers: 6 });
  expect(second.tokens).toHaveLength(USERS.length);

  for (const tok of second.tokens) {
    const me = await t.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${tok.token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username: tok.username, role: tok.role });
  }
  const agent = second.tokens.find((x) => x.username === 'agent1001')!;
  const me = (await t.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${agent.token}` } })).json();
  expect(me.agentId).toEqual(expect.any(Number));
  const seat = await t.app.db.query(`select extension, endpoint from agents where id = $1`, [me.agentId]);
  expect(seat.rows[0]).toEqual({ extension: '1001', endpoint: null });

  const heating = second.tokens.find((x) => x.username === 'heating-staff')!;
  const staff = (await t.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${heating.token}` } })).json();
  const dept = await t.app.db.query(`select code from departments where id = $1`, [staff.departmentId]);
  expect(dept.rows[0]).toEqual({ code: 'heating' });

  // reference routes serve the seeded data
  const deps = (await t.inject({ method: 'GET', url: '/api/departments', headers: { authorization: `Bearer ${agent.token}` } })).json();
  expect(deps.map((d: { code: string }) => d.code)).toEqual(DEPARTMENTS.map((d) => d.code));
  expect(deps.find((d: { code: string }) => d.code === 'heating')).toMatchObject({ name: '供热公司', phone: expect.any(String) });
  const tree = (await t.inject({ method: 'GET', url: '/api/categories', headers: { authorization: `Bearer ${agent.token}` } })).json();
  expect(tree.map((c: { name: string }) => c.name)).toEqual(['政务公开', '政务咨询', '办事指南', '监督投诉', '求助', '家政服务', '生活疑难', '建议', '表扬', '其他']);
  const help = tree.find((c: { name: string }) => c.name === '求助');
  expect(help.children.map((c: { name: string }) => c.name)).toEqual(['供暖', '供水', '路灯', '井盖']);
  const complaint = tree.find((c: { name: string }) => c.name === '监督投诉');
  expect(complaint.children.map((c: { name: string }) => c.name)).toContain('噪音扰民');

  const pop = await t.app.callers.lookupForScreenPop('13800138001');
  expect(pop.caller?.name).toBe('张建国');
});

it('hides inactive departments unless asked', async () => {
  await t.app.db.query(`update departments set active = false where code = 'court'`);
  const { token } = (await seed(t.app.db, { issueTokens: true })).tokens[0]!;
  await t.app.db.query(`update departments set active = false where code = 'court'`);
  const h = { authorization: `Bearer ${token}` };
  const active = (await t.inject({ method: 'GET', url: '/api/departments', headers: h })).json();
  expect(active.map((d: { code: string }) => d.code)).not.toContain('court');
  const all = (await t.inject({ method: 'GET', url: '/api/departments?includeInactive=true', headers: h })).json();
  expect(all.map((d: { code: string }) => d.code)).toContain('court');
});

it('npm run token: the CLI prints a working token for a username, and fails readably for an unknown one', async () => {
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-r', '@swc-node/register', 'src/cli/token.ts', ...args],
        { env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', DB_SCHEMA: t.schema } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  const ok = await run(['supervisor']);
  expect(ok.code).toBe(0);
  const token = ok.stdout.trim();
  expect(token).toMatch(/^h114_/);
  const me = await t.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
  expect(me.json().username).toBe('supervisor');
  const bad = await run(['nobody']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/用户 nobody 不存在/);
}, 30000);

it('gives every demo user a password to sign in with, once: a changed password is kept on the next run', async () => {
  // Earlier tests of this file seeded already: start the demo users without passwords.
  await t.app.db.query(`update users set password_hash = null where username = any($1)`, [USERS.map((u) => u.username)]);
  const first = await seed(t.app.db, { issueTokens: false });
  expect(first.credentials.map((c) => [c.username, c.password])).toEqual(USERS.map((u) => [u.username, DEMO_PASSWORD]));
  const signIn = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: 'agent1001', password: DEMO_PASSWORD } });
  expect(signIn.statusCode).toBe(200);
  expect(signIn.json()).toMatchObject({ user: { username: 'agent1001', role: 'agent' }, mustChangePassword: false, home: '/console/' });

  const cookie = /^(h114_sid=[^;]+)/.exec(String(signIn.headers['set-cookie']))![1]!;
  const changed = await t.inject({
    method: 'POST',
    url: '/api/auth/password',
    headers: { cookie, 'x-csrf-token': signIn.json().csrfToken },
    payload: { currentPassword: DEMO_PASSWORD, newPassword: 'my-own-secret-7' },
  });
  expect(changed.statusCode).toBe(200);
  const again = await seed(t.app.db, { issueTokens: false });
  expect(again.credentials.find((c) => c.username === 'agent1001')!.password).toBeNull();
  expect(again.credentials.find((c) => c.username === 'admin')!.password).toBeNull();
  const old = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: 'agent1001', password: DEMO_PASSWORD } });
  expect(old.statusCode).toBe(401);
});
