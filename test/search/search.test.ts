import { build, type TestApp, type TestUser } from '../helpers/build';
import { createSearchService } from '../../src/search/service';
import { buildConditions, createSearchRepo } from '../../src/search/repo';
import { searchFixture, type SearchFixture } from './fixtures';

let t: TestApp;
let f: SearchFixture;
let admin: TestUser;
let agent: TestUser;
let heatingStaff: TestUser;

interface Item { type: string; id: string; snippet: string; titleHtml: string; trackingNo: string | null; callerNumber: string | null; createdAt: string }
interface Facet { key: string; label: string; count: number }
interface Result { items: Item[]; total: number; countSource: string; sort: string; nextCursor: string | null; facets: Record<string, Facet[]> }

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
const facetOf = (r: { facets: Record<string, { key: string; count: number }[]> }, name: string) => facet(r as unknown as Result, name);

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

});

describe('issue 13: phone digits, ranking, estimates', () => {
  test('4+ digits in the main box also match any part of caller and contact numbers; role rules unchanged', async () => {
    // 13800000001 (heat1 contact) holds 0001; 13900000002 (the call's caller) holds 9000.
    expect(keys(await search(admin, { q: '0001' }))).toEqual([`case:${f.cases.heat1}`]);
    expect(keys(await search(admin, { q: '9000' }))).toEqual([`call:${f.callId}`]);
    expect(keys(await search(admin, { q: '00000002' })).sort()).toEqual([`call:${f.callId}`, `case:${f.cases.water1}`].sort());
    // A case with a caller record and a different contact phone: both numbers.
    const caller = (await t.app.db.query<{ id: number }>(`insert into callers (number, name) values ('13612345678', '测试') returning id`)).rows[0]!.id;
    const { rows } = await t.app.db.query<{ id: number }>(
      `insert into cases (tracking_no, channel, status, caller_id, contact_phone, title, description, created_at)
       values ('114-20260901-000009', 'phone', 'draft', $1, '13755501111', '', '路面塌陷', '2026-09-01T00:00:00Z') returning id`,
      [caller],
    );
    const id = rows[0]!.id;
    expect(keys(await search(admin, { q: '5678' }))).toEqual([`case:${id}`]);
    expect(keys(await search(admin, { q: '5550111' }))).toEqual([`case:${id}`]);
    expect(keys(await search(admin, { q: '塌陷 1234' }))).toEqual([`case:${id}`]);
    expect((await search(admin, { q: '56781' })).total).toBe(0); // digits must be consecutive in one number
    // Department staff: a number finds only what they may see.
    expect(keys(await search(heatingStaff, { q: '0000' })).sort()).toEqual([`case:${f.cases.heat1}`, `case:${f.cases.decoy}`, `request:${f.cases.heatWeb}`].sort());
    expect((await search(heatingStaff, { q: '5678' })).total).toBe(0);
    await t.app.db.query(`delete from cases where id = $1`, [id]);
  });

  test('relevance: title/category above passing mentions, whole words above bigrams, newest first within a tier', async () => {
    const mk = async (no: string, title: string, description: string, at: string) =>
      (
        await t.app.db.query<{ id: number }>(
          `insert into cases (tracking_no, channel, status, title, description, created_at) values ($1, 'phone', 'draft', $2, $3, $4) returning id`,
          [no, title, description, at],
        )
      ).rows[0]!.id;
    const r1 = await mk('114-20261001-000001', '滨河路停水', '滨河路停水三天了。', '2026-10-01T00:00:00Z'); // title, word
    const r2 = await mk('114-20261003-000001', '物业收费', '物业收费不合理，另外上周停水也没通知。', '2026-10-03T00:00:00Z'); // body, word
    const r3 = await mk('114-20261005-000001', '暂停水费缴纳', '咨询缴费。', '2026-10-05T00:00:00Z'); // title, only a bigram (暂停/水费)
    const r4 = await mk('114-20261006-000001', '缴费咨询', '咨询暂停水电费缴纳。', '2026-10-06T00:00:00Z'); // body, only a bigram
    await t.app.search.indexer.drain();
    const range = { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' };
    const newest = await search(admin, { q: '停水', ...range });
    expect(newest.items.map((i) => Number(i.id))).toEqual([r4, r3, r2, r1]);
    const rel = await search(admin, { q: '停水', sort: 'relevance', ...range });
    expect(rel.sort).toBe('relevance');
    expect(rel.items.map((i) => Number(i.id))).toEqual([r1, r3, r2, r4]);
    expect(rel.total).toBe(4);
    // Paging in relevance order gives the same sequence.
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const p: Result = await search(admin, { q: '停水', sort: 'relevance', limit: 1, ...range, ...(cursor ? { cursor } : {}) });
      seen.push(...p.items.map((i) => Number(i.id)));
      cursor = p.nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual([r1, r3, r2, r4]);
    // A newest-first cursor is not a relevance cursor.
    const res = await t.inject({ method: 'GET', url: '/api/search', query: { q: '停水', sort: 'relevance', cursor: newest.nextCursor ?? Buffer.from('["2026-10-01T00:00:00Z",1]').toString('base64url') }, headers: admin.headers });
    expect(res.statusCode).toBe(400);
    await t.app.db.query(`delete from cases where id = any($1::bigint[])`, [[r1, r2, r3, r4]]);
  });

  test('many matches: an honest estimate from the sample, the same pages as an exact count', async () => {
    const svc = createSearchService({ db: t.app.db, exactThreshold: 32 });
    const user = { id: admin.id, username: admin.username, displayName: 'x', role: 'admin' as const, departmentId: null, agentId: null };
    // In slices: each insert computes its vector and ~100 index entries in its trigger.
    for (let from = 1; from <= 2400; from += 200) {
      await t.app.db.query(
        `insert into cases (tracking_no, channel, status, category_id, department_id, title, description, created_at)
         select '114-20250101-' || lpad(i::text, 6, '0'), case when i % 5 = 0 then 'web' else 'phone' end,
                case when i % 2 = 0 then 'closed' else 'draft' end, $1, $2,
                case when i % 3 = 0 then '抽样测试工单' else '其他' end, '这是第' || i || '件抽样测试的诉求，内容随机。',
                timestamptz '2025-01-01T00:00:00Z' + i * interval '1 minute'
           from generate_series($3::int, $3::int + 199) i`,
        [f.cat.water, f.dept.water, from],
      );
    }
    await svc.indexer.drain();
    const exact = await svc.search(user, { q: '抽样', limit: 20, exact: true });
    expect(exact).toMatchObject({ total: 2400, totalExact: true, countSource: 'index', totalLabel: '共 2,400 条' });
    const est = await svc.search(user, { q: '抽样', limit: 20 });
    expect(est.countSource).toBe('sample');
    expect(est.totalExact).toBe(false);
    expect(est.totalLabel).toMatch(/^约 [\d,]+ 条$/);
    expect(est.total).toBeGreaterThan(1200);
    expect(est.total).toBeLessThan(4800);
    const estStatus = Object.fromEntries(est.facets.status.map((v) => [v.key, v.count]));
    expect(Object.keys(estStatus).sort()).toEqual(['closed', 'draft']);
    // Pages: identical ids in identical order, newest first and by relevance, across cursors — walking the
    // newest-first index, and asking the newest months through the index (walkRows 0: never walk).
    const byMonths = createSearchService({ db: t.app.db, exactThreshold: 32, walkRows: 0 });
    for (const [sort, s] of [['newest', svc], ['relevance', svc], ['newest', byMonths], ['relevance', byMonths]] as const) {
      let a = await s.search(user, { q: '抽样', limit: 25, sort });
      let b = await svc.search(user, { q: '抽样', limit: 25, sort, exact: true });
      for (let i = 0; i < 3; i++) {
        expect(a.items.map((x) => x.id)).toEqual(b.items.map((x) => x.id));
        expect(a.items).toHaveLength(25);
        a = await s.search(user, { q: '抽样', limit: 25, sort, cursor: a.nextCursor! });
        b = await svc.search(user, { q: '抽样', limit: 25, sort, exact: true, cursor: b.nextCursor! });
      }
    }
    // Rare facet values no sample level holds (3 returned open311 requests about noise among 2,400): still in the
    // facets, counted exactly; the common values keep their estimates.
    let rare = 0;
    for (let i = 0; rare < 3; i++) {
      const id = (
        await t.app.db.query<{ id: number }>(
          `insert into cases (tracking_no, channel, status, category_id, title, description, created_at)
           values ('114-20250102-' || lpad($1::text, 6, '0'), 'open311', 'returned', $2, '', '罕见分面的抽样测试诉求', timestamptz '2025-01-03T00:00:00Z')
           returning id`,
          [i, f.cat.noise],
        )
      ).rows[0]!.id;
      const { rows } = await t.app.db.query<{ sample: number }>(`select sample from search_docs where src = 'case' and src_id = $1`, [id]);
      // A sampled one would be seen by the estimate anyway: make it ordinary, keep looking for unsampled ones.
      if (rows[0]!.sample > 0) await t.app.db.query(`update cases set status = 'closed', channel = 'phone', category_id = $2 where tracking_no = '114-20250102-' || lpad($1::text, 6, '0')`, [i, f.cat.water]);
      else rare++;
    }
    const withRare = await svc.search(user, { q: '抽样', limit: 20 });
    expect(withRare.countSource).toBe('sample');
    expect(withRare.facetsComplete).toBe(true);
    expect(facetOf(withRare, 'status').returned).toBe(3);
    expect(facetOf(withRare, 'channel').open311).toBe(3);
    expect(facetOf(withRare, 'category')[String(f.cat.noise)]).toBe(3);
    expect(facetOf(withRare, 'status').closed).toBeGreaterThan(600);
    // Filtered to the rare value: exact.
    expect(await svc.search(user, { q: '抽样', limit: 20, status: 'returned' })).toMatchObject({ total: 3, totalExact: true });
    // The exact look-up gives up when its time is out (here: blocked by a lock) instead of delaying the answer.
    const repo = createSearchRepo(t.app.db);
    const c = buildConditions(await svc.parse('抽样'), { access: { kind: 'all' } }, {});
    expect(await repo.rare(c, `'s:returned'`, 100, 1_000)).toEqual([expect.objectContaining({ status: 'returned', n: 3 })]);
    const locker = await t.app.db.pool.connect();
    try {
      await locker.query(`begin; lock table search_docs in access exclusive mode`);
      expect(await repo.rare(c, `'s:returned'`, 100, 1)).toBeNull();
    } finally {
      await locker.query('rollback');
      locker.release();
    }
    // With a filter that leaves few matches, the count is exact again.
    const range = { from: '2025-01-01T00:00:00Z', to: '2025-01-01T00:10:00Z' };
    const sampled = await t.app.db.query<{ n: number }>(`select count(*)::int as n from search_sample where created_at >= $1 and created_at < $2`, [range.from, range.to]);
    expect(sampled.rows[0]!.n * 32).toBeLessThan(32); // precondition: the sample says "few" here
    const few = await svc.search(user, { q: '抽样', limit: 20, ...range });
    expect(few).toMatchObject({ total: 9, totalExact: true, countSource: 'index' });
    // The rare word among them: exact.
    const rareWord = await svc.search(user, { q: '第1234件', limit: 20 });
    expect(rareWord).toMatchObject({ total: 1, totalExact: true });
    await t.app.db.query(`delete from cases where tracking_no like '114-20250101-%' or tracking_no like '114-20250102-%'`);
  });
});
