// Issue 11 item 7: an authorization test generated from the route table. Every route registered by the full app
// (telephony on, against the simulator, so call-control routes exist too) must declare who may call it
// (requireRoles() or config.access, src/http/access.ts); then every route × every identity (no token, a bad token,
// each role, a disabled admin) is called over real HTTP and any unexpected 2xx (or a wrong refusal code) fails.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { declarePublicScope, registerRouteAccess } from '../../src/http/access';
import { requireRoles } from '../../src/http/auth';
import type { FastifyTypeBox } from '../../src/http/types';
import { ROLES, type Role } from '../../src/auth/types';
import type { RouteAccessEntry } from '../../src/http/access';
import { startLab, type CallLab } from '../helpers/telephony';

const METRICS_TOKEN = 'metrics-secret-for-the-route-walk';

interface Identity {
  name: string;
  /** null: must be treated as not signed in (no token, a bad token, a disabled user's token). */
  role: Role | null;
  authorization?: string;
}

/** A concrete URL for a route pattern: parameters get values that exist nowhere (so no handler finds a victim). */
function concreteUrl(url: string): string {
  return url
    .replace(/:([A-Za-z_]\w*)(\([^)]*\))?/g, (_m, name: string) => {
      if (/callId/i.test(name)) return randomUUID();
      if (name === 'file') return '999999.json';
      if (name === 'trackingNo') return '114-20260101-999999';
      if (name === 'code') return 'no-such-department';
      return '999999';
    })
    .replace(/\*$/, 'no-such-file');
}

/** Status of one call; streams (SSE, WebSocket) are cut once the status line is in. */
async function statusOf(baseUrl: string, method: string, url: string, authorization: string | undefined): Promise<number> {
  const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method);
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { ...(authorization ? { authorization } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    body: hasBody ? '{}' : undefined,
    redirect: 'manual',
    signal: AbortSignal.timeout(5000),
  });
  await res.body?.cancel();
  return res.status;
}

describe('route × role authorization walk (generated from the route table)', () => {
  let lab: CallLab;
  let table: RouteAccessEntry[];
  const identities: Identity[] = [];

  beforeAll(async () => {
    lab = await startLab({ env: { METRICS_TOKEN } });
    table = lab.t.app.fastify.routeAccess();
    identities.push({ name: 'no token', role: null }, { name: 'bad token', role: null, authorization: `Bearer ${'x'.repeat(43)}` });
    for (const role of ROLES) {
      const u = await lab.t.createUser(role);
      identities.push({ name: role, role, authorization: u.headers.authorization });
    }
    // A disabled admin: its still-unexpired token must open nothing (disabled through the admin API).
    const admin = identities.find((i) => i.role === 'admin')!;
    const disabled = await lab.t.createUser('admin');
    expect((await lab.t.inject({ method: 'GET', url: '/api/me', headers: disabled.headers })).statusCode).toBe(200); // works until disabled
    const off = await lab.t.inject({ method: 'POST', url: `/api/admin/users/${disabled.id}/disable`, headers: { authorization: admin.authorization! } });
    expect(off.statusCode).toBe(204);
    identities.push({ name: 'disabled admin', role: null, authorization: disabled.headers.authorization });
  }, 30000);
  afterAll(async () => {
    await lab?.close();
  });

  it('finds the whole route table, including the call-control, WebSocket and docs routes', () => {
    const keys = new Set(table.map((e) => `${e.method} ${e.url}`));
    for (const k of ['GET /health', 'GET /api/agents/ws', 'POST /api/calls/:callId/hangup', 'GET /docs/json', 'GET /open311/v2/requests.json', 'GET /metrics', 'GET /portal/']) {
      expect(keys).toContain(k);
    }
    expect(table.length).toBeGreaterThan(80);
  });

  it('every route declares who may call it, without contradictions', () => {
    const undeclared = table.filter((e) => e.access === null).map((e) => `${e.method} ${e.url}`);
    const conflicts = table.filter((e) => e.conflict).map((e) => `${e.method} ${e.url}: ${e.conflict}`);
    expect(undeclared).toEqual([]);
    expect(conflicts).toEqual([]);
  });

  it('no identity outside a route’s roles gets a 2xx; refusals are 401 without a valid token, 403 for a wrong role; nothing answers 500', async () => {
    const failures: string[] = [];
    let calls = 0;
    for (const entry of table) {
      if (entry.method === 'OPTIONS') continue;
      const url = concreteUrl(entry.url);
      for (const id of identities) {
        const access = entry.access!;
        const allowed = 'public' in access ? true : 'secret' in access ? false : id.role !== null && (access.roles.length === 0 || access.roles.includes(id.role));
        let status: number;
        try {
          status = await statusOf(lab.baseUrl, entry.method, url, id.authorization);
        } catch (err) {
          failures.push(`${entry.method} ${url} as ${id.name}: no answer (${(err as Error).message})`);
          continue;
        }
        calls += 1;
        const where = `${entry.method} ${entry.url} as ${id.name}: ${status}`;
        if (status === 500) failures.push(`${where} (server error)`);
        if (allowed) continue;
        if (status >= 200 && status < 300) failures.push(`${where} (unexpected success)`);
        else if (entry.websocket) {
          // A plain GET on a WebSocket route never reaches the handler; the socket's own check is tested in
          // test/agents (bad token closes with 4401).
          if (status < 400) failures.push(`${where} (expected a refusal)`);
        } else if ('secret' in access || id.role === null) {
          const refusals = id.name === 'disabled admin' ? [401, 403] : [401];
          if (!refusals.includes(status)) failures.push(`${where} (expected ${refusals.join(' or ')})`);
        } else if (status !== 403) failures.push(`${where} (expected 403)`);
      }
    }
    if (process.env.ACCESS_WALK_REPORT) process.stdout.write(`route walk: ${table.length} routes, ${identities.length} identities, ${calls} requests\n`);
    expect(failures).toEqual([]);
    // Every route × every identity was really called.
    expect(calls).toBe(table.filter((e) => e.method !== 'OPTIONS').length * identities.length);
  }, 120000);
});

describe('route access collection', () => {
  it('reports undeclared routes, requireRoles() roles, public scopes and contradictions', async () => {
    const f = Fastify().withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyTypeBox;
    registerRouteAccess(f);
    f.get('/undeclared', async () => 'x');
    f.get('/guarded', { onRequest: [requireRoles('supervisor', 'admin')] }, async () => 'x');
    f.get('/custom', { config: { access: { roles: ['agent'], note: 'own check' } } }, async () => 'x');
    await f.register(async (scope) => {
      declarePublicScope(scope, 'pages');
      scope.get('/page', async () => 'x');
      scope.get('/both', { onRequest: requireRoles('admin') }, async () => 'x');
    });
    await f.ready();
    const byKey = Object.fromEntries(f.routeAccess().map((e) => [`${e.method} ${e.url}`, e]));
    expect(byKey['GET /undeclared']!.access).toBeNull();
    expect(byKey['GET /guarded']!.access).toEqual({ roles: ['supervisor', 'admin'] });
    expect(byKey['HEAD /guarded']!.access).toEqual({ roles: ['supervisor', 'admin'] });
    expect(byKey['GET /custom']!.access).toEqual({ roles: ['agent'], note: 'own check' });
    expect(byKey['GET /page']!.access).toEqual({ public: 'pages' });
    expect(byKey['GET /both']!.conflict).toMatch(/public/);
    await f.close();
  });
});
