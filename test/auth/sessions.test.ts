// Password sign-in with cookie sessions (issue 12) and disabling users (issue 11): cookie attributes, CSRF on
// cookie-authenticated writes, lockout with backoff, forced password change, sign-out here / everywhere, and
// disable / re-enable stopping tokens, sessions and live connections at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { build, type TestApp, type TestUser } from '../helpers/build';

let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  t = await build({ env: { SIGNIN_LOCK_AFTER: '3', SIGNIN_LOCK_BASE_SEC: '1', SIGNIN_LOCK_MAX_SEC: '4', SIGNIN_RATE_PER_MIN: '10000' } });
  await t.app.fastify.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.fastify.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
});

const PASSWORD = 'correct-horse-7';

async function withPassword(role: Parameters<TestApp['createUser']>[0], password = PASSWORD): Promise<TestUser> {
  const u = await t.createUser(role);
  await t.app.db.query(`update users set password_hash = null where id = $1`, [u.id]);
  expect(await t.app.signIn.setInitialPassword(u.id, password)).toBe(true);
  return u;
}

interface Signed {
  cookie: string;
  csrf: string;
  body: Record<string, unknown>;
  setCookie: string;
}

async function signIn(username: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Signed> {
  const res = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username, password }, headers });
  expect(res.statusCode).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = /^(h114_sid=[^;]+)/.exec(setCookie)![1]!;
  return { cookie, csrf: res.json().csrfToken, body: res.json(), setCookie };
}

const me = (cookie: string) => t.inject({ method: 'GET', url: '/api/me', headers: { cookie } });

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('password sign-in', () => {
  it('sets an HTTP-only SameSite=Strict cookie (Secure only over HTTPS) that authenticates the API', async () => {
    const u = await withPassword('dispatcher');
    const s = await signIn(u.username);
    expect(s.setCookie).toMatch(/HttpOnly/i);
    expect(s.setCookie).toMatch(/SameSite=Strict/i);
    expect(s.setCookie).not.toMatch(/;\s*Secure/i);
    expect(s.body).toMatchObject({ user: { id: u.id, role: 'dispatcher' }, mustChangePassword: false, home: '/admin/', csrfToken: expect.any(String) });
    expect((await me(s.cookie)).json()).toMatchObject({ id: u.id, username: u.username });
    const row = await t.app.db.query(`select password_hash from users where id = $1`, [u.id]);
    expect(row.rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
    const events = await t.app.db.query(`select kind from auth_events where user_id = $1 order by id`, [u.id]);
    await until('audit row', async () => (await t.app.db.query(`select 1 from auth_events where user_id = $1 and kind = 'signin'`, [u.id])).rowCount === 1);
    expect(events.rows.every((r) => typeof r.kind === 'string')).toBe(true);
  });

  it('refuses a wrong password and an unknown user with the same message', async () => {
    const u = await withPassword('agent');
    const wrong = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: u.username, password: 'nope-nope-1' } });
    const unknown = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: 'no-such-user', password: 'nope-nope-1' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: 'invalid_credentials', message: '用户名或密码错误' });
    expect(unknown.json()).toEqual(wrong.json());
    expect(wrong.headers['set-cookie']).toBeUndefined();
    // A user without a password (token-only integration account) cannot sign in with any password.
    const tokenOnly = await t.createUser('dispatcher');
    await t.app.db.query(`update users set password_hash = null where id = $1`, [tokenOnly.id]);
    const none = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: tokenOnly.username, password: '' } });
    expect(none.statusCode).toBe(400);
  });

  it('needs the CSRF token for cookie-authenticated writes, not for bearer tokens', async () => {
    const u = await withPassword('agent');
    const s = await signIn(u.username);
    const noToken = await t.inject({ method: 'POST', url: '/api/auth/ticket', headers: { cookie: s.cookie } });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ error: 'csrf_invalid', message: expect.stringMatching(/安全校验失败/) });
    const wrongToken = await t.inject({ method: 'POST', url: '/api/auth/ticket', headers: { cookie: s.cookie, 'x-csrf-token': 'forged' } });
    expect(wrongToken.statusCode).toBe(403);
    // A form-encoded cross-site post is refused before its body is even parsed.
    const form = await t.inject({
      method: 'POST',
      url: '/api/auth/signout-all',
      headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'x=1',
    });
    expect(form.statusCode).toBe(403);
    expect((await me(s.cookie)).statusCode).toBe(200); // not signed out
    const ok = await t.inject({ method: 'POST', url: '/api/auth/ticket', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(ok.statusCode).toBe(201);
    const bearer = await t.inject({ method: 'POST', url: '/api/auth/ticket', headers: u.headers });
    expect(bearer.statusCode).toBe(201);
  });

  it('locks the account after repeated failures, with a doubling lock, and unlocks after it', async () => {
    const u = await withPassword('agent');
    const attempt = (password: string) => t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: u.username, password } });
    expect((await attempt('wrong-pass-1')).statusCode).toBe(401);
    expect((await attempt('wrong-pass-2')).statusCode).toBe(401);
    const third = await attempt('wrong-pass-3');
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ error: 'account_locked', message: expect.stringMatching(/已临时锁定.*秒后再试/) });
    // Even the right password is refused while locked.
    const during = await attempt(PASSWORD);
    expect(during.statusCode).toBe(429);
    const lock1 = (await t.app.db.query(`select extract(epoch from locked_until - now()) as s from users where id = $1`, [u.id])).rows[0]!.s;
    expect(Number(lock1)).toBeLessThanOrEqual(1);
    await until('first lock to pass', async () => (await t.app.db.query(`select 1 from users where id = $1 and locked_until < now()`, [u.id])).rowCount === 1);
    expect((await attempt(PASSWORD)).statusCode).toBe(200);
    // The success above reset the counter: three more failures lock again for the base time.
    await t.app.db.query(`update users set failed_signins = 3, locked_until = null where id = $1`, [u.id]);
    expect((await attempt('wrong-pass-4')).statusCode).toBe(429);
    const lock2 = (await t.app.db.query(`select failed_signins, extract(epoch from locked_until - now()) as s from users where id = $1`, [u.id])).rows[0]!;
    expect(lock2.failed_signins).toBe(4);
    expect(Number(lock2.s)).toBeGreaterThan(1); // 2 s: doubled
    expect(Number(lock2.s)).toBeLessThanOrEqual(2);
  });

  it('forces a password change after an admin reset, and the old sessions end', async () => {
    const admin = await withPassword('admin');
    const u = await withPassword('supervisor');
    const before = await signIn(u.username);
    const reset = await t.inject({ method: 'POST', url: `/api/admin/users/${u.id}/password`, headers: admin.headers });
    expect(reset.statusCode).toBe(200);
    const temp: string = reset.json().temporaryPassword;
    expect(temp).toMatch(/^[A-Za-z0-9]{12}$/);
    expect((await me(before.cookie)).statusCode).toBe(401);

    const s = await signIn(u.username, temp);
    expect(s.body.mustChangePassword).toBe(true);
    expect((await me(s.cookie)).statusCode).toBe(200);
    const blocked = await t.inject({ method: 'GET', url: '/api/departments', headers: { cookie: s.cookie } });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json()).toMatchObject({ error: 'password_change_required' });
    const change = (newPassword: string, currentPassword = temp) =>
      t.inject({ method: 'POST', url: '/api/auth/password', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload: { currentPassword, newPassword } });
    expect((await change('short1')).json()).toMatchObject({ error: 'password_too_short' });
    expect((await change(`${u.username}-2026`)).json()).toMatchObject({ error: 'password_contains_username' });
    expect((await change('new-secret-99', 'not-the-temp-1')).json()).toMatchObject({ error: 'wrong_current_password' });
    const changed = await change('new-secret-99');
    expect(changed.statusCode).toBe(200);
    expect(changed.json().mustChangePassword).toBe(false);
    // The change started a fresh session (new cookie) for this browser.
    const fresh = /^(h114_sid=[^;]+)/.exec(String(changed.headers['set-cookie']))![1]!;
    expect((await t.inject({ method: 'GET', url: '/api/departments', headers: { cookie: fresh } })).statusCode).toBe(200);
    expect((await me(s.cookie)).statusCode).toBe(401);
    expect((await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: u.username, password: temp } })).statusCode).toBe(401);
    await signIn(u.username, 'new-secret-99');
  });

  it('signs out here, or everywhere (tokens stay)', async () => {
    const u = await withPassword('agent');
    const a = await signIn(u.username);
    const b = await signIn(u.username);
    const out = await t.inject({ method: 'POST', url: '/api/auth/signout', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/h114_sid=;/);
    expect((await me(a.cookie)).statusCode).toBe(401);
    expect((await me(b.cookie)).statusCode).toBe(200);
    const c = await signIn(u.username);
    const all = await t.inject({ method: 'POST', url: '/api/auth/signout-all', headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
    expect(all.statusCode).toBe(204);
    expect((await me(b.cookie)).statusCode).toBe(401);
    expect((await me(c.cookie)).statusCode).toBe(401);
    expect((await t.inject({ method: 'GET', url: '/api/me', headers: u.headers })).statusCode).toBe(200);
  });

  it('limits sign-in attempts per client address', async () => {
    const limited = await build({ env: { SIGNIN_RATE_PER_MIN: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: `nobody-${i}`, password: 'guess-guess-1' } });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });

  it('gives the Secure flag when the request came over HTTPS through a trusted proxy', async () => {
    const proxied = await build({ env: { TRUST_PROXY: 'true', SIGNIN_RATE_PER_MIN: '10000' } });
    try {
      const u = await proxied.createUser('agent');
      const res = await proxied.inject({
        method: 'POST',
        url: '/api/auth/signin',
        headers: { 'x-forwarded-proto': 'https' },
        payload: { username: u.username, password: u.password },
      });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/;\s*Secure/i);
      expect(String(res.headers['set-cookie'])).toMatch(/SameSite=Strict/i);
    } finally {
      await proxied.close();
    }
  });
});

// ------------------------------------------------------------------------------------------ live connections

function openWs(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; first: Promise<{ open: boolean; code?: number; status?: number }>; closed: Promise<number> }> {
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}${path}`, { headers });
  const closedP = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const first = new Promise<{ open: boolean; code?: number; status?: number }>((resolve) => {
    ws.once('message', () => resolve({ open: true }));
    ws.once('close', (code) => resolve({ open: false, code }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ open: false, status: res.statusCode });
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
  return Promise.resolve({ ws, first, closed: closedP });
}

function sse(path: string, headers: Record<string, string>): Promise<{ status: number; ended: Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${path}`, { headers }, (res) => {
      const ended = new Promise<void>((done) => {
        res.on('end', () => done());
        res.on('close', () => done());
      });
      res.resume();
      resolve({ status: res.statusCode ?? 0, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('the console WebSocket and the board stream', () => {
  it('refuse a token in the URL, accept the session cookie, a bearer header or a one-time ticket', async () => {
    const agent = await withPassword('agent');
    const inUrl = await openWs(`/api/agents/ws?token=${agent.token}`);
    expect(await inUrl.first).toMatchObject({ open: false, status: 400 });
    const none = await openWs('/api/agents/ws');
    expect((await none.first).code).toBe(4401);

    const s = await signIn(agent.username);
    const byCookie = await openWs('/api/agents/ws', { cookie: s.cookie, origin: baseUrl });
    expect(await byCookie.first).toEqual({ open: true });
    byCookie.ws.close();
    // The same cookie from a page of another origin (cross-site WebSocket hijacking) is refused.
    const foreign = await openWs('/api/agents/ws', { cookie: s.cookie, origin: 'http://evil.example' });
    expect((await foreign.first).code).toBe(4401);

    const ticket = (await t.inject({ method: 'POST', url: '/api/auth/ticket', headers: agent.headers })).json().ticket as string;
    const byTicket = await openWs(`/api/agents/ws?ticket=${ticket}`);
    expect(await byTicket.first).toEqual({ open: true });
    byTicket.ws.close();
    const again = await openWs(`/api/agents/ws?ticket=${ticket}`);
    expect((await again.first).code).toBe(4401); // single use

    const supervisor = await withPassword('supervisor');
    const sseInUrl = await sse(`/api/supervision/board/stream?token=${supervisor.token}`, {});
    expect(sseInUrl.status).toBe(400);
    sseInUrl.close();
    const sup = await signIn(supervisor.username);
    const sseCookie = await sse('/api/supervision/board/stream', { cookie: sup.cookie });
    expect(sseCookie.status).toBe(200);
    sseCookie.close();
  });

  it('disable stops tokens, sessions and open connections at once; enable brings tokens back, not sessions', async () => {
    const admin = await withPassword('admin');
    const agent = await withPassword('agent');
    const supervisor = await withPassword('supervisor');
    const agentSession = await signIn(agent.username);
    const supSession = await signIn(supervisor.username);
    const ws = await openWs('/api/agents/ws', { authorization: `Bearer ${agent.token}` });
    expect(await ws.first).toEqual({ open: true });
    const ws2 = await openWs('/api/agents/ws', { cookie: agentSession.cookie });
    expect(await ws2.first).toEqual({ open: true });
    const stream = await sse('/api/supervision/board/stream', { cookie: supSession.cookie });
    expect(stream.status).toBe(200);
    expect((await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.headers, payload: {} })).statusCode).toBe(200);
    expect((await t.app.acd.get(agent.agentId!)).state).toBe('ready');

    for (const u of [agent, supervisor]) {
      const res = await t.inject({ method: 'POST', url: `/api/admin/users/${u.id}/disable`, headers: admin.headers });
      expect(res.statusCode).toBe(204);
    }
    expect(await ws.closed).toBe(4401);
    expect(await ws2.closed).toBe(4401);
    await stream.ended;
    // The seat is signed out: no call is offered to a disabled agent.
    expect((await t.app.acd.get(agent.agentId!)).state).toBe('offline');
    expect((await t.inject({ method: 'GET', url: '/api/me', headers: agent.headers })).statusCode).toBe(401);
    expect((await me(agentSession.cookie)).statusCode).toBe(401);
    expect((await me(supSession.cookie)).statusCode).toBe(401);
    const refused = await t.inject({ method: 'POST', url: '/api/auth/signin', payload: { username: agent.username, password: PASSWORD } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'account_disabled', message: '该账号已被停用，请联系管理员' });
    const users = (await t.inject({ method: 'GET', url: '/api/admin/users', headers: admin.headers })).json();
    expect(users.find((x: { id: number }) => x.id === agent.id).active).toBe(false);
    expect((await t.inject({ method: 'POST', url: `/api/admin/users/${admin.id}/disable`, headers: admin.headers })).json()).toMatchObject({
      error: 'cannot_disable_self',
    });
    expect((await t.inject({ method: 'POST', url: `/api/admin/users/${agent.id}/disable`, headers: agent.headers })).statusCode).toBe(401);

    expect((await t.inject({ method: 'POST', url: `/api/admin/users/${agent.id}/enable`, headers: admin.headers })).statusCode).toBe(204);
    expect((await t.inject({ method: 'GET', url: '/api/me', headers: agent.headers })).statusCode).toBe(200);
    expect((await me(agentSession.cookie)).statusCode).toBe(401);
    await signIn(agent.username);
    const kinds = await t.app.db.query(`select kind, actor_id from auth_events where user_id = $1 and kind in ('disabled', 'enabled') order by id`, [agent.id]);
    expect(kinds.rows).toEqual([
      { kind: 'disabled', actor_id: admin.id },
      { kind: 'enabled', actor_id: admin.id },
    ]);
  });

  it('a disable in another process reaches this process over Redis', async () => {
    const other = await build({ schema: t.schema, env: { REDIS_PREFIX: t.app.config.redisPrefix, SIGNIN_RATE_PER_MIN: '10000' } });
    try {
      const admin = await withPassword('admin');
      const agent = await withPassword('agent');
      const ws = await openWs('/api/agents/ws', { authorization: `Bearer ${agent.token}` });
      expect(await ws.first).toEqual({ open: true });
      // Warm this process's token cache, then disable through the other process.
      expect((await t.inject({ method: 'GET', url: '/api/me', headers: agent.headers })).statusCode).toBe(200);
      const res = await other.inject({ method: 'POST', url: `/api/admin/users/${agent.id}/disable`, headers: admin.headers });
      expect(res.statusCode).toBe(204);
      expect(await ws.closed).toBe(4401);
      expect((await t.inject({ method: 'GET', url: '/api/me', headers: agent.headers })).statusCode).toBe(401);
    } finally {
      await other.app.close();
    }
  });
});
