// Optional OpenID Connect sign-in (issue 12) against a small identity provider written here (discovery, JWKS,
// a token endpoint that checks PKCE and signs RS256 ID tokens with node:crypto): code flow with state, nonce and
// PKCE through openid-client; only existing users get in (linked by subject); every failure lands on the sign-in
// page with a Chinese message; off unless configured.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { build, type TestApp } from '../helpers/build';

const CLIENT_ID = 'hotline114';
const CLIENT_SECRET = 'idp-client-secret';
const REDIRECT = 'http://127.0.0.1/api/auth/oidc/callback';

interface Grant {
  sub: string;
  username: string;
  nonce: string;
  challenge: string;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** The city's identity platform, as far as a relying party sees it. */
async function startIdp(): Promise<{ issuer: string; approve(authorizeUrl: string, who: { sub: string; username: string }): string; close(): Promise<void> }> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(publicKey as KeyObject).export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  let issuer = '';
  const idToken = (g: Grant) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' }));
    const payload = b64url(
      JSON.stringify({ iss: issuer, aud: CLIENT_ID, sub: g.sub, preferred_username: g.username, nonce: g.nonce, iat: now, exp: now + 300 }),
    );
    return `${header}.${payload}.${b64url(sign('sha256', Buffer.from(`${header}.${payload}`), privateKey))}`;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}authorize`,
        token_endpoint: `${issuer}token`,
        jwks_uri: `${issuer}jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const p = new URLSearchParams(body);
        const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
        const posted = p.get('client_id') === CLIENT_ID && p.get('client_secret') === CLIENT_SECRET;
        if (req.headers.authorization !== `Basic ${basic}` && !posted) return json(401, { error: 'invalid_client' });
        const g = grants.get(p.get('code') ?? '');
        grants.delete(p.get('code') ?? '');
        const verifier = p.get('code_verifier') ?? '';
        if (!g || p.get('redirect_uri') !== REDIRECT || b64url(createHash('sha256').update(verifier).digest()) !== g.challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken(g) });
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    issuer,
    /** The person signs in at the platform: it redirects back with a code (and the relying party's state). */
    approve(authorizeUrl, who) {
      const q = new URL(authorizeUrl).searchParams;
      expect(q.get('client_id')).toBe(CLIENT_ID);
      expect(q.get('redirect_uri')).toBe(REDIRECT);
      expect(q.get('code_challenge_method')).toBe('S256');
      const code = randomBytes(12).toString('hex');
      grants.set(code, { ...who, nonce: q.get('nonce') ?? '', challenge: q.get('code_challenge') ?? '' });
      return `?code=${code}&state=${encodeURIComponent(q.get('state') ?? '')}`;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let idp: Awaited<ReturnType<typeof startIdp>>;
let t: TestApp;

beforeAll(async () => {
  idp = await startIdp();
  t = await build({
    env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, OIDC_REDIRECT_URI: REDIRECT, OIDC_LABEL: '市统一身份认证' },
  });
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

/** Start → platform → callback; returns the callback's answer. */
async function flow(who: { sub: string; username: string }, tamper: (query: string) => string = (q) => q) {
  const start = await t.inject({ method: 'GET', url: '/api/auth/oidc/start?next=%2Fdepartment%2F' });
  expect(start.statusCode).toBe(302);
  const setCookie = String(start.headers['set-cookie']);
  expect(setCookie).toMatch(/^h114_oidc=[\w-]+; Max-Age=600; Path=\/api\/auth\/oidc\/; HttpOnly; SameSite=Lax$/);
  const flowCookie = /^(h114_oidc=[^;]+)/.exec(setCookie)![1]!;
  const back = tamper(idp.approve(String(start.headers.location), who));
  const callback = await t.inject({ method: 'GET', url: `/api/auth/oidc/callback${back}`, headers: { cookie: flowCookie } });
  return { callback, flowCookie, back };
}

it('is offered on the sign-in page when configured', async () => {
  const res = await t.inject({ method: 'GET', url: '/api/auth/options' });
  expect(res.json()).toEqual({ password: true, oidc: { label: '市统一身份认证' } });
  const off = await build({ schema: t.schema, env: { REDIS_PREFIX: t.app.config.redisPrefix } });
  try {
    expect((await off.inject({ method: 'GET', url: '/api/auth/options' })).json()).toEqual({ password: true, oidc: null });
    expect((await off.inject({ method: 'GET', url: '/api/auth/oidc/start' })).statusCode).toBe(404);
  } finally {
    await off.app.close();
  }
});

it('signs in an existing user, links the subject, and lands on the page asked for', async () => {
  const staff = await t.createUser('department_staff');
  const { callback } = await flow({ sub: 'city-0001', username: staff.username });
  expect(callback.statusCode).toBe(302);
  expect(callback.headers.location).toBe('/department/');
  const session = /(h114_sid=[^;]+)/.exec(String(callback.headers['set-cookie']))![1]!;
  expect(String(callback.headers['set-cookie'])).toMatch(/SameSite=Strict/);
  const me = await t.inject({ method: 'GET', url: '/api/auth/session', headers: { cookie: session } });
  expect(me.json()).toMatchObject({ user: { id: staff.id }, mustChangePassword: false });
  const row = await t.app.db.query(`select oidc_subject from users where id = $1`, [staff.id]);
  expect(row.rows[0]).toEqual({ oidc_subject: 'city-0001' });
  // Next time the subject decides, whatever the username claim says.
  const again = await flow({ sub: 'city-0001', username: 'renamed-on-the-platform' });
  const second = /(h114_sid=[^;]+)/.exec(String(again.callback.headers['set-cookie']))![1]!;
  expect((await t.inject({ method: 'GET', url: '/api/me', headers: { cookie: second } })).json()).toMatchObject({ id: staff.id });
});

it('turns every failure into the sign-in page with a Chinese message, and never a session', async () => {
  const errorOf = (res: { statusCode: number; headers: Record<string, unknown> }) => {
    expect(res.statusCode).toBe(302);
    expect(res.headers['set-cookie']).not.toMatch(/h114_sid=[^;]/);
    const loc = String(res.headers.location);
    expect(loc.startsWith('/signin/?error=')).toBe(true);
    return decodeURIComponent(loc.slice('/signin/?error='.length));
  };
  expect(errorOf((await flow({ sub: 'city-9999', username: 'nobody-here' })).callback)).toBe('统一身份认证账号未在本系统开通，请联系管理员');

  const agent = await t.createUser('agent');
  // A forged state, then a replay of a finished flow, then a code the platform never issued.
  const forged = await flow({ sub: 'city-0002', username: agent.username }, (q) => q.replace(/state=[^&]+/, 'state=forged'));
  expect(errorOf(forged.callback)).toBe('统一身份认证登录失败，请重试或使用账号密码登录');
  const ok = await flow({ sub: 'city-0002', username: agent.username });
  expect(ok.callback.headers.location).toBe('/department/');
  const replay = await t.inject({ method: 'GET', url: `/api/auth/oidc/callback${ok.back}`, headers: { cookie: ok.flowCookie } });
  expect(errorOf(replay)).toBe('统一身份认证登录已过期，请重新登录');
  const bogus = await flow({ sub: 'city-0002', username: agent.username }, (q) => q.replace(/code=[^&]+/, 'code=never-issued'));
  expect(errorOf(bogus.callback)).toBe('统一身份认证登录失败，请重试或使用账号密码登录');
  // Without the flow cookie (another browser) nothing can be finished.
  const start = await t.inject({ method: 'GET', url: '/api/auth/oidc/start' });
  const back = idp.approve(String(start.headers.location), { sub: 'city-0002', username: agent.username });
  expect(errorOf(await t.inject({ method: 'GET', url: `/api/auth/oidc/callback${back}` }))).toBe('统一身份认证登录已过期，请重新登录');

  // A disabled user stays out.
  const admin = await t.createUser('admin');
  await t.inject({ method: 'POST', url: `/api/admin/users/${agent.id}/disable`, headers: admin.headers });
  expect(errorOf((await flow({ sub: 'city-0002', username: agent.username })).callback)).toBe('该账号已被停用，请联系管理员');
});
