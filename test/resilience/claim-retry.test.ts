// A claim (签收下一件) whose answer was lost is sent again (issue 10, item 3): the same Idempotency-Key, or no key
// from the same person within the retry window while that ticket is untouched, answers the ticket already signed
// — never a second one; the inbox lists "signed to me, not yet worked" first.
import { build, type TestApp, type TestUser } from '../helpers/build';
import { createDepartment, flushOutbox, staffOf } from '../cases/helpers';

let t: TestApp;
let dispatcher: TestUser;

beforeAll(async () => {
  t = await build({ env: { CLAIM_RETRY_WINDOW_SEC: '60' } });
  dispatcher = await t.createUser('dispatcher');
});
afterAll(async () => {
  await t?.close();
});

async function dept(n: number) {
  const d = await createDepartment(t);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.inject({ method: 'POST', url: '/api/cases', headers: dispatcher.headers, payload: { description: `工单 ${i}`, departmentCode: d.code } });
    ids.push(res.json().id);
  }
  await flushOutbox(t);
  return { ...d, ids };
}

const claim = (u: TestUser, code: string, key?: string) =>
  t.inject({ method: 'POST', url: `/api/departments/${code}/tickets/claim`, headers: { ...u.headers, ...(key ? { 'idempotency-key': key } : {}) } });

async function signs(ids: number[]): Promise<number> {
  const { rows } = await t.app.db.query<{ n: number }>(`select count(*)::int as n from case_events where action = 'sign' and case_id = any($1)`, [ids]);
  return rows[0]!.n;
}

it('the same Idempotency-Key answers the same ticket, also when sent five times at once; a new key signs the next', async () => {
  const d = await dept(3);
  const s = await staffOf(t, d.code);
  const first = await claim(s, d.code, 'k-1');
  expect(first.statusCode).toBe(200);
  expect(first.headers['idempotent-replayed']).toBeUndefined();
  const again = await claim(s, d.code, 'k-1');
  expect(again.statusCode).toBe(200);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.json().id).toBe(first.json().id);
  const burst = await Promise.all(Array.from({ length: 5 }, () => claim(s, d.code, 'k-2')));
  expect(new Set(burst.map((r) => r.json().id)).size).toBe(1);
  expect(burst.map((r) => r.json().id)).not.toContain(first.json().id);
  expect(await signs(d.ids)).toBe(2);
  // Still the same answer after the ticket was worked on (same key, same result).
  await t.inject({ method: 'POST', url: `/api/cases/${first.json().id}/progress`, headers: s.headers, payload: { note: '已联系' } });
  expect((await claim(s, d.code, 'k-1')).json()).toMatchObject({ id: first.json().id, status: 'in_progress' });
  expect(await signs(d.ids)).toBe(2);
});

it('without a key, a repeat within the window answers the untouched ticket; once worked on, the next claim signs another', async () => {
  const d = await dept(2);
  const s = await staffOf(t, d.code);
  const other = await staffOf(t, d.code);
  const a = await claim(s, d.code);
  const b = await claim(s, d.code);
  expect(b.json().id).toBe(a.json().id);
  expect(b.headers['idempotent-replayed']).toBe('true');
  // Someone else is not answered with it.
  const c = await claim(other, d.code);
  expect(c.json().id).not.toBe(a.json().id);
  expect(await signs(d.ids)).toBe(2);

  // The inbox shows "signed to me, not yet worked" first, whatever its deadline.
  const mine = await t.inject({ method: 'GET', url: `/api/departments/${d.code}/tickets`, headers: other.headers });
  expect(mine.json()[0].id).toBe(c.json().id);

  await t.inject({ method: 'POST', url: `/api/cases/${a.json().id}/progress`, headers: s.headers, payload: { note: '已处理一半' } });
  const empty = await claim(s, d.code);
  expect(empty.statusCode).toBe(404);
});
