import { build, type TestApp, type TestUser } from '../helpers/build';
import { createSearchService } from '../../src/search/service';
import { parseQuery } from '../../src/search/query';
import { insertCase, searchFixture, type SearchFixture } from './fixtures';

let t: TestApp;
let f: SearchFixture;
let admin: TestUser;
let agent: TestUser;
let heatingStaff: TestUser;

interface Item { type: string; id: string; snippet: string; titleHtml: string; trackingNo: string | null; callerNumber: string | null; createdAt: string }
interface Facet { key: string; label: string; count: number }
interface Result { items: Item[]; total: number; countSource: string; nextCursor: string | null; facets: Record<string, Facet[]> }

beforeAll(async () => {
  t = await build();
  f = await searchFixture(t);
  admin = await t.createUser('admin');
  agent = await t.createUser('agent');
  heatingStaff = await t.createUser('department_staff', { departmentCode: 'heating' });
});
afterAll(async () => t.close());

async function search(user: TestUser, query: Record<string, string | number>): Promise<Result> {
  const res = await t.inject({ method: 'GET', url: '/api/search', query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])), headers: user.headers });
  expect(res.statusCode).toBe(200);
  return res.json() as Result;
}

const keys = (r: Result) => r.items.map((i) => `${i.type}:${i.id}`).sort();
const facet = (r: Result, name: string) => Object.fromEntries(r.facets[name]!.map((v) => [v.key, v.count]));

describe('Chinese keyword search', () => {
  test('a 2-character query finds every record containing it, across types; agents do not see drafts', async () => {
    const r = await search(admin, { q: '供暖' });
    expect(r.total).toBe(6);
    expect(facet(r, 'type')).toEqual({ case: 2, request: 1, call: 1, knowledge: 2 });
    expect(r.items).toHaveLength(6);
    expect(r.countSource).toBe('index');
    const a = await search(agent, { q: '供暖' });
    expect(a.total).toBe(5);
    expect(a.items.some((i) => i.type === 'knowledge' && i.titleHtml.includes('草稿'))).toBe(false);
  });

  test('longer queries are exact substrings: bigrams present apart do not match', async () => {
    const r = await search(admin, { q: '供暖不热' });
    expect(keys(r)).toEqual([`call:${f.callId}`, `case:${f.cases.heat1}`].sort());
    expect(r.total).toBe(2);
    const b = await search(admin, { q: '不热' });
    expect(keys(b)).toEqual([`call:${f.callId}`, `case:${f.cases.heat1}`, `case:${f.cases.decoy}`, `request:${f.cases.heatWeb}`].sort());
    const c = await search(admin, { q: '夜间施工噪音' });
    expect(keys(c)).toEqual([`request:${f.cases.noise}`]);
  });

  test('several terms are ANDed; single characters fall back to LIKE', async () => {
    const r = await search(admin, { q: '供暖 处理' });
    expect(keys(r)).toEqual([`case:${f.cases.heat1}`, `request:${f.cases.heatWeb}`].sort());
    const s = await search(admin, { q: '水' });
    expect(keys(s)).toEqual([`case:${f.cases.water1}`]);
  });

  test('phone numbers and tracking numbers', async () => {
    expect(keys(await search(admin, { q: '114-20261101-000001' }))).toEqual([`case:${f.cases.heat1}`]);
    expect(keys(await search(admin, { q: '13900000002' }))).toEqual([`call:${f.callId}`]);
    const p = await search(admin, { q: '13800000001' });
    expect(keys(p)).toEqual([`case:${f.cases.heat1}`]);
    expect(p.items[0]!.callerNumber).toBe('13800000001');
  });

  test('filters and facets agree with hand counts', async () => {
    const all = await search(admin, { q: '供暖' });
    expect(facet(all, 'department')).toEqual({ [String(f.dept.heating)]: 3 });
    expect(facet(all, 'category')).toEqual({ [String(f.cat.heating)]: 6 });
    expect(facet(all, 'channel')).toEqual({ phone: 3, web: 1 });
    expect(facet(all, 'status')).toEqual({ dispatched: 1, draft: 2, resolved: 1, noted: 1, published: 1 });
    expect(all.facets.department![0]!.label).toBe('供热公司');

    expect((await search(admin, { q: '供暖', category: f.cat.help })).total).toBe(6); // parent includes children
    expect((await search(admin, { q: '供暖', category: f.cat.water })).total).toBe(0);
    expect(keys(await search(admin, { q: '供暖', channel: 'web' }))).toEqual([`request:${f.cases.heatWeb}`]);
    expect(keys(await search(admin, { q: '供暖', types: 'requests' }))).toEqual([`request:${f.cases.heatWeb}`]);
    expect((await search(admin, { q: '供暖', types: 'cases,calls' })).total).toBe(3);
    expect(keys(await search(admin, { q: '供暖', status: 'dispatched' }))).toEqual([`case:${f.cases.heat1}`]);
    expect((await search(admin, { q: '供暖', department: f.dept.heating })).total).toBe(3);
    const range = await search(admin, { q: '供暖', from: '2026-11-02T00:00:00Z', to: '2026-11-06T00:00:00Z' });
    expect(keys(range)).toEqual([`case:${f.cases.decoy}`, `request:${f.cases.heatWeb}`].sort());
    expect(facet(range, 'type')).toEqual({ case: 1, request: 1 });
    expect(keys(await search(admin, { q: '供暖', callerNumber: '138-0000-0001' }))).toEqual([`case:${f.cases.heat1}`]);
  });

  test('snippets highlight hits and escape everything else', async () => {
    const r = await search(admin, { q: '供暖', types: 'requests' });
    const s = r.items[0]!.snippet;
    expect(s).toContain('<mark>供暖</mark>');
    expect(s).toContain('&lt;script&gt;');
    expect(s).not.toContain('<script>');
    const p = await search(admin, { q: '供暖不热', types: 'cases' });
    expect(p.items[0]!.snippet).toContain('<mark>供暖不热</mark>');
  });

  test('keyset pagination is stable and complete', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Result = await search(admin, { q: '供暖', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(r.total).toBe(6);
      seen.push(...r.items.map((i) => `${i.type}:${i.id}`));
      cursor = r.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(6);
    const full = await search(admin, { q: '供暖', limit: 50 });
    expect(seen).toEqual(full.items.map((i) => `${i.type}:${i.id}`));
    const times = full.items.map((i) => i.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  test('department staff see only their department’s cases and published knowledge', async () => {
    const r = await search(heatingStaff, { q: '供暖' });
    expect(keys(r).filter((k) => !k.startsWith('knowledge:'))).toEqual([`case:${f.cases.heat1}`, `case:${f.cases.decoy}`, `request:${f.cases.heatWeb}`].sort());
    expect(r.total).toBe(4);
    expect(facet(r, 'type')).toEqual({ case: 2, request: 1, knowledge: 1 });
    expect((await search(heatingStaff, { q: '停水' })).total).toBe(0);
    expect((await search(heatingStaff, { q: '13900000002' })).total).toBe(0);
    expect((await search(heatingStaff, { q: '供暖', types: 'calls' })).total).toBe(0);
    expect((await search(heatingStaff, { q: '水', callerNumber: '13800000002' })).total).toBe(0);
  });

  test('bad input answers 400 with a Chinese message; no token 401', async () => {
    const bad: Record<string, string>[] = [{ q: '' }, { q: '一二 三四 五六 七八 九十 十一 十二 十三 十四' }, { q: '供暖', cursor: 'xx' }, { q: '供暖', types: 'foo' }, { q: '供暖', channel: 'fax' }, { q: '供暖', from: 'yesterday' }, { q: '供暖', limit: '1000' }, { q: '供暖', from: '2026-11-05T00:00:00Z', to: '2026-11-01T00:00:00Z' }];
    for (const query of bad) {
      const res = await t.inject({ method: 'GET', url: '/api/search', query, headers: admin.headers });
      expect(res.statusCode).toBe(400);
      expect((res.json() as { message: string }).message).toMatch(/[\u4e00-\u9fff]/);
    }
    expect((await t.inject({ method: 'GET', url: '/api/search?q=供暖' })).statusCode).toBe(401);
  });

  test('hot queries: counts from the aggregate table stay exact as documents change', async () => {
    const svc = createSearchService({ db: t.app.db, hotMinHits: 1 });
    const user = { id: admin.id, username: admin.username, displayName: 'x', role: 'admin' as const, departmentId: null, agentId: null };
    const before = await svc.search(user, { q: '不热', limit: 20 });
    expect(before.countSource).toBe('index');
    await svc.promote(parseQuery('不热'));
    const hot = await svc.search(user, { q: '不热', limit: 20 });
    expect(hot.countSource).toBe('aggregate');
    expect(hot.total).toBe(before.total);
    expect(hot.facets).toEqual(before.facets);

    const id = await insertCase(t, { trackingNo: '114-20261107-000001', channel: 'web', status: 'draft', dept: f.dept.water, cat: f.cat.heating, description: '家里暖气一点也不热' });
    await t.app.db.query(`update cases set status = 'signed' where id = $1`, [f.cases.heat1]);
    const after = await svc.search(user, { q: '不热', limit: 20 });
    expect(after.countSource).toBe('aggregate');
    expect(after.total).toBe(before.total + 1);
    const exact = await svc.search(user, { q: '不热', limit: 20, from: '2000-01-01T00:00:00Z' });
    expect(exact.countSource).toBe('index');
    expect(after.facets).toEqual(exact.facets);
    expect(Object.fromEntries(after.facets.status.map((v) => [v.key, v.count]))).toMatchObject({ signed: 1 });
    // department staff through the aggregate: their own department only
    const staff = { ...user, role: 'department_staff' as const, departmentId: f.dept.water };
    const s = await svc.search(staff, { q: '不热', limit: 20 });
    expect(s.countSource).toBe('aggregate');
    expect(s.total).toBe(1);
    expect(s.items.map((i) => i.id)).toEqual([String(id)]);
    await t.app.db.query(`delete from cases where id = $1`, [id]);
    await t.app.db.query(`update cases set status = 'dispatched' where id = $1`, [f.cases.heat1]);
    expect((await svc.search(user, { q: '不热', limit: 20 })).total).toBe(before.total);
  });
});
