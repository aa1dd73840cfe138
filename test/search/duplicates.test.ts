import { build, type TestApp, type TestUser } from '../helpers/build';
import { insertCase } from './fixtures';

let t: TestApp;
let dispatcher: TestUser;
const ids: Record<string, number> = {};

beforeAll(async () => {
  t = await build();
  dispatcher = await t.createUser('dispatcher');
  const now = Date.now();
  const at = (days: number) => new Date(now - days * 86_400_000).toISOString();
  ids.base = await insertCase(t, { trackingNo: '114-D-1', channel: 'phone', status: 'draft', description: '幸福小区3号楼供暖不热，室温只有十五度', phone: '13811112222', createdAt: at(0) });
  ids.similar = await insertCase(t, { trackingNo: '114-D-2', channel: 'web', status: 'dispatched', description: '幸福小区3号楼暖气不热，室温十五度左右', createdAt: at(2) });
  ids.sameCaller = await insertCase(t, { trackingNo: '114-D-3', channel: 'phone', status: 'signed', description: '门口路灯不亮', phone: '13811112222', createdAt: at(5) });
  ids.closedSimilar = await insertCase(t, { trackingNo: '114-D-4', channel: 'phone', status: 'closed', description: '幸福小区3号楼供暖不热，室温只有十五度', createdAt: at(1) });
  ids.oldSimilar = await insertCase(t, { trackingNo: '114-D-5', channel: 'phone', status: 'draft', description: '幸福小区3号楼供暖不热，室温只有十五度', createdAt: at(60) });
  ids.unrelated = await insertCase(t, { trackingNo: '114-D-6', channel: 'phone', status: 'draft', description: '夜间施工噪音扰民', createdAt: at(1) });
});
afterAll(async () => t.close());

test('duplicates: open cases of the same caller or with similar text within N days', async () => {
  const res = await t.inject({ method: 'GET', url: `/api/cases/${ids.base}/duplicates`, query: { days: '30' }, headers: dispatcher.headers });
  expect(res.statusCode).toBe(200);
  const body = res.json() as { items: { id: number; sameCaller: boolean; similarity: number }[] };
  expect(body.items.map((i) => i.id)).toEqual([ids.sameCaller, ids.similar]);
  expect(body.items[0]!.sameCaller).toBe(true);
  expect(body.items[1]!.similarity).toBeGreaterThan(0.3);
  const wide = await t.inject({ method: 'GET', url: `/api/cases/${ids.base}/duplicates`, query: { days: '90' }, headers: dispatcher.headers });
  expect((wide.json() as { items: { id: number }[] }).items.map((i) => i.id)).toContain(ids.oldSimilar);
});

test('duplicates: unknown case 404, department staff 403', async () => {
  expect((await t.inject({ method: 'GET', url: '/api/cases/999999/duplicates', headers: dispatcher.headers })).statusCode).toBe(404);
  const staff = await t.createUser('department_staff');
  expect((await t.inject({ method: 'GET', url: `/api/cases/${ids.base}/duplicates`, headers: staff.headers })).statusCode).toBe(403);
});
