import { build, type TestApp, type TestUser } from '../helpers/build';
import { KNOWLEDGE_ARTICLES, seedKnowledge } from '../../src/knowledge/seed';

let t: TestApp;
let admin: TestUser;
let supervisor: TestUser;
let agent: TestUser;
let staff: TestUser;

beforeAll(async () => {
  t = await build();
  admin = await t.createUser('admin');
  supervisor = await t.createUser('supervisor');
  agent = await t.createUser('agent');
  staff = await t.createUser('department_staff');
});
afterAll(async () => t.close());

describe('knowledge base', () => {
  let draftId: number;

  test('supervisors and admins create, edit, publish and delete; others may not', async () => {
    const res = await t.inject({
      method: 'POST', url: '/api/knowledge', headers: supervisor.headers,
      payload: { kind: 'guide', title: '  居住证办理指南 ', body: '持身份证到社区服务中心办理居住证，需提供租房合同。', tags: ['居住证', '居住证', '户籍'] },
    });
    expect(res.statusCode).toBe(201);
    const a = res.json() as { id: number; status: string; title: string; tags: string[]; kindLabel: string; publishedAt: string | null };
    expect(a).toMatchObject({ status: 'draft', title: '居住证办理指南', tags: ['居住证', '户籍'], kindLabel: '办事指南', publishedAt: null });
    draftId = a.id;
    for (const u of [agent, staff]) {
      expect((await t.inject({ method: 'POST', url: '/api/knowledge', headers: u.headers, payload: { kind: 'guide', title: 'x', body: 'y' } })).statusCode).toBe(403);
      expect((await t.inject({ method: 'PATCH', url: `/api/knowledge/${draftId}`, headers: u.headers, payload: { status: 'published' } })).statusCode).toBe(403);
    }
    // drafts: hidden from agents and the public
    expect((await t.inject({ method: 'GET', url: `/api/knowledge/${draftId}`, headers: agent.headers })).statusCode).toBe(404);
    expect((await t.inject({ method: 'GET', url: `/api/public/knowledge/${draftId}` })).statusCode).toBe(404);
    const agentSearch = await t.inject({ method: 'GET', url: '/api/search', query: { q: '居住证' }, headers: agent.headers });
    expect((agentSearch.json() as { total: number }).total).toBe(0);

    const pub = await t.inject({ method: 'PATCH', url: `/api/knowledge/${draftId}`, headers: admin.headers, payload: { status: 'published' } });
    expect(pub.statusCode).toBe(200);
    expect((pub.json() as { publishedAt: string | null }).publishedAt).not.toBeNull();
    const found = await t.inject({ method: 'GET', url: '/api/search', query: { q: '居住证', types: 'knowledge' }, headers: agent.headers });
    expect((found.json() as { total: number; items: { id: string }[] }).items.map((i) => i.id)).toEqual([String(draftId)]);
    const publicOne = await t.inject({ method: 'GET', url: `/api/public/knowledge/${draftId}` });
    expect(publicOne.statusCode).toBe(200);
    expect(publicOne.json()).toMatchObject({ title: '居住证办理指南', status: 'published' });
  });

  test('validation: empty title, oversized body, unknown fields → 400 in Chinese', async () => {
    for (const payload of [
      { kind: 'guide', title: '   ', body: '正文' },
      { kind: 'guide', title: '标题', body: '字'.repeat(20001) },
      { kind: 'news', title: '标题', body: '正文' },
      { kind: 'guide', title: '标题', body: '正文', author: '我' },
    ]) {
      const res = await t.inject({ method: 'POST', url: '/api/knowledge', headers: admin.headers, payload });
      expect(res.statusCode).toBe(400);
      expect((res.json() as { message: string }).message).toMatch(/[\u4e00-\u9fff]/);
    }
    expect((await t.inject({ method: 'PATCH', url: '/api/knowledge/999999', headers: admin.headers, payload: { title: '无' } })).statusCode).toBe(404);
  });

  test('seed: a dozen published articles, idempotent; public list and keyword search', async () => {
    await t.app.db.query(`insert into departments (code, name) values ('heating', '供热公司') on conflict do nothing`);
    expect(await seedKnowledge(t.app.db)).toBe(KNOWLEDGE_ARTICLES.length);
    expect(await seedKnowledge(t.app.db)).toBe(0);
    expect(KNOWLEDGE_ARTICLES.length).toBeGreaterThanOrEqual(12);
    const list = await t.inject({ method: 'GET', url: '/api/public/knowledge', query: { limit: '100' } });
    expect(list.statusCode).toBe(200);
    const body = list.json() as { total: number; items: { status: string; kind: string }[] };
    expect(body.total).toBe(KNOWLEDGE_ARTICLES.length + 1);
    expect(body.items.every((i) => i.status === 'published')).toBe(true);
    const q = await t.inject({ method: 'GET', url: '/api/public/knowledge', query: { q: '供暖不热' } });
    const qb = q.json() as { total: number; items: { title: string; departmentName: string | null }[] };
    expect(qb.items.map((i) => i.title).sort()).toEqual(['2025—2026年度供暖期安排公告', '居民供暖不热如何报修']);
    expect(qb.items.every((i) => i.departmentName === '供热公司')).toBe(true);
    const guides = await t.inject({ method: 'GET', url: '/api/public/knowledge', query: { kind: 'public_info', limit: '100' } });
    expect((guides.json() as { items: { kind: string }[] }).items.every((i) => i.kind === 'public_info')).toBe(true);
    // agents search them during a call through the one search API
    const s = await t.inject({ method: 'GET', url: '/api/search', query: { q: '停水', types: 'knowledge' }, headers: agent.headers });
    expect((s.json() as { total: number }).total).toBe(2);
  });

  test('delete removes the article from search', async () => {
    expect((await t.inject({ method: 'DELETE', url: `/api/knowledge/${draftId}`, headers: supervisor.headers })).statusCode).toBe(204);
    const s = await t.inject({ method: 'GET', url: '/api/search', query: { q: '居住证' }, headers: admin.headers });
    expect((s.json() as { total: number }).total).toBe(0);
    expect((await t.inject({ method: 'DELETE', url: `/api/knowledge/${draftId}`, headers: supervisor.headers })).statusCode).toBe(404);
  });
});
