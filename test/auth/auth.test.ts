import { hashToken } from '../../src/auth/service';
import { build, type TestApp, type TestUser } from '../helpers/build';

let t: TestApp;
let admin: TestUser;
let agent: TestUser;

beforeAll(async () => {
  t = await build();
  admin = await t.createUser('admin');
  agent = await t.createUser('agent');
  await t.app.db.query(`insert into departments (code, name) values ('heating', '供热公司')`);
});
afterAll(async () => {
  await t?.close();
});

const me = (headers: Record<string, string>) => t.inject({ method: 'GET', url: '/api/me', headers });

describe('bearer tokens', () => {
  it('401 without a token, with a malformed header, with an unknown token', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Basic abc' }, { authorization: 'Bearer h114_doesnotexist' }, { authorization: 'Bearer' }]) {
      const res = await me(headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'unauthorized', message: '未登录或令牌无效' });
    }
  });

  it('GET /api/me returns the user with agentId', async () => {
    const res = await me(agent.headers);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: agent.id, username: agent.username, role: 'agent', agentId: agent.agentId });
    expect(agent.agentId).toEqual(expect.any(Number));
  });

  it('403 for a role not allowed', async () => {
    const res = await t.inject({ method: 'GET', url: '/api/admin/users', headers: agent.headers });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('forbidden');
    expect(res.json().message).toMatch(/无权/);
    const staff = await t.createUser('department_staff');
    expect((await t.inject({ method: 'GET', url: '/api/callers?number=13800000000', headers: staff.headers })).statusCode).toBe(403);
  });

  it('a revoked token is refused at once (even though lookups are cached)', async () => {
    const u = await t.createUser('agent');
    expect((await me(u.headers)).statusCode).toBe(200); // now cached
    const { rows } = await t.app.db.query<{ id: number }>(`select id from api_tokens where token_hash = $1`, [hashToken(u.token)]);
    const del = await t.inject({ method: 'DELETE', url: `/api/admin/tokens/${rows[0]!.id}`, headers: admin.headers });
    expect(del.statusCode).toBe(204);
    expect((await me(u.headers)).statusCode).toBe(401);
  });

  it('a token revoked by another process is refused after the cache expires; expired tokens are refused', async () => {
    const u = await t.createUser('agent');
    expect((await me(u.headers)).statusCode).toBe(200);
    await t.app.db.query(`update api_tokens set revoked_at = now() where token_hash = $1`, [hashToken(u.token)]);
    t.app.auth.clearCache(); // stands in for the 5 s cache expiry
    expect((await me(u.headers)).statusCode).toBe(401);

    const v = await t.createUser('agent');
    await t.app.db.query(`update api_tokens set expires_at = now() - interval '1 second' where token_hash = $1`, [hashToken(v.token)]);
    expect((await me(v.headers)).statusCode).toBe(401);
  });

  it('a deactivated user is refused', async () => {
    const u = await t.createUser('dispatcher');
    await t.app.db.query(`update users set active = false where id = $1`, [u.id]);
    expect((await me(u.headers)).statusCode).toBe(401);
  });

  it('records last_used_at, at most once a minute', async () => {
    const u = await t.createUser('supervisor');
    await me(u.headers);
    await new Promise((r) => setTimeout(r, 50));
    const q = () =>
      t.app.db.query<{ last_used_at: Date | null }>(`select last_used_at from api_tokens where token_hash = $1`, [hashToken(u.token)]);
    const first = (await q()).rows[0]!.last_used_at;
    expect(first).toBeInstanceOf(Date);
    t.app.auth.clearCache();
    await me(u.headers);
    await new Promise((r) => setTimeout(r, 50));
    expect((await q()).rows[0]!.last_used_at).toEqual(first);
  });

  it('authenticateToken works for raw tokens (WebSocket ?token=)', async () => {
    expect(await t.app.auth.authenticateToken(agent.token)).toMatchObject({ id: agent.id, role: 'agent', agentId: agent.agentId });
    expect(await t.app.auth.authenticateToken('h114_nope')).toBeNull();
    expect(await t.app.auth.authenticateToken('')).toBeNull();
    expect(await t.app.auth.authenticateToken(undefined)).toBeNull();
  });
});

describe('user and token administration', () => {
  it('creates users of each role; department staff need a department; agents get a seat', async () => {
    const staff = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'heat1', displayName: '张工', role: 'department_staff', departmentCode: 'heating' },
    });
    expect(staff.statusCode).toBe(201);
    expect(staff.json()).toMatchObject({ username: 'heat1', role: 'department_staff', departmentCode: 'heating', departmentName: '供热公司' });

    const noDept = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'heat2', displayName: '李工', role: 'department_staff' },
    });
    expect(noDept.statusCode).toBe(400);
    expect(noDept.json().message).toMatch(/部门/);

    const ag = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'agent2001', displayName: '刘晓燕', role: 'agent', extension: '2001', skills: ['heating'] },
    });
    expect(ag.statusCode).toBe(201);
    expect(ag.json().agentId).toEqual(expect.any(Number));
    expect(ag.json().extension).toBe('2001');

    const dup = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'agent2001', displayName: '重复', role: 'agent' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toBe('username_taken');

    const dupExt = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'agent2002', displayName: '重复分机', role: 'agent', extension: '2001' },
    });
    expect(dupExt.statusCode).toBe(409);
    // the failed user was rolled back with its seat
    expect((await t.app.db.query(`select 1 from users where username = 'agent2002'`)).rowCount).toBe(0);

    const list = await t.inject({ method: 'GET', url: '/api/admin/users?role=agent', headers: admin.headers });
    expect(list.statusCode).toBe(200);
    expect(list.json().map((u: { username: string }) => u.username)).toContain('agent2001');
    expect(list.json().every((u: { role: string }) => u.role === 'agent')).toBe(true);
  });

  it('issues a token once, lists tokens without secrets, revokes', async () => {
    const created = await t.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: admin.headers,
      payload: { username: 'disp9', displayName: '派单员', role: 'dispatcher' },
    });
    const id = created.json().id as number;
    const issued = await t.inject({
      method: 'POST',
      url: `/api/admin/users/${id}/tokens`,
      headers: admin.headers,
      payload: { label: '工作站', expiresInDays: 30 },
    });
    expect(issued.statusCode).toBe(201);
    const token = issued.json().token as string;
    expect(token).toMatch(/^h114_[A-Za-z0-9_-]{43}$/);
    expect(issued.json().expiresAt).not.toBeNull();
    // only the hash is stored
    const stored = await t.app.db.query<{ token_hash: Buffer }>(`select token_hash from api_tokens where id = $1`, [issued.json().id]);
    expect(stored.rows[0]!.token_hash.equals(hashToken(token))).toBe(true);
    expect((await me({ authorization: `Bearer ${token}` })).json().username).toBe('disp9');

    const tokens = await t.inject({ method: 'GET', url: `/api/admin/users/${id}/tokens`, headers: admin.headers });
    expect(tokens.statusCode).toBe(200);
    expect(tokens.json()).toHaveLength(1);
    expect(JSON.stringify(tokens.json())).not.toContain(token);
    expect(tokens.json()[0]).not.toHaveProperty('token');

    expect((await t.inject({ method: 'DELETE', url: `/api/admin/tokens/${issued.json().id}`, headers: admin.headers })).statusCode).toBe(204);
    expect((await me({ authorization: `Bearer ${token}` })).statusCode).toBe(401);
    const after = await t.inject({ method: 'GET', url: `/api/admin/users/${id}/tokens`, headers: admin.headers });
    expect(after.json()[0].revokedAt).not.toBeNull();
  });

  it('404 for tokens of an unknown user or an unknown token', async () => {
    expect((await t.inject({ method: 'POST', url: '/api/admin/users/99999/tokens', headers: admin.headers, payload: {} })).statusCode).toBe(404);
    expect((await t.inject({ method: 'DELETE', url: '/api/admin/tokens/99999', headers: admin.headers })).statusCode).toBe(404);
  });
});
