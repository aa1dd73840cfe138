// Every promised callback is work (issue 10, item 2): an after-hours callback request and a kept place whose
// callback failed or was interrupted appear in the missed-call / callback list with their kind, can be worked
// there (result recorded, promise settled), and the supervisor's summary counts them, late promises included.
import { randomUUID } from 'node:crypto';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { KeepPlaceRepo } from '../../src/calls/keep-place-repo';

let t: TestApp;
let agent: TestUser;
let supervisor: TestUser;
let repo: KeepPlaceRepo;

beforeAll(async () => {
  t = await build({ env: { CALLBACK_PROMISE_MAX_AGE_MIN: '60' } });
  agent = await t.createUser('agent');
  supervisor = await t.createUser('supervisor');
  repo = new KeepPlaceRepo(t.app.db);
});
afterAll(async () => {
  await t?.close();
});

async function call(number: string, outcome: 'after_hours' | 'callback' | 'abandoned', at = new Date()): Promise<string> {
  const id = randomUUID();
  await t.app.db.query(
    `insert into calls (id, node_id, channel_id, caller_number, state, outcome, started_at, ended_at, wait_ms)
     values ($1, 'test', $2, $3, 'ended', $4, $5, $5, 1000)`,
    [id, `ch-${id}`, number, outcome, at],
  );
  return id;
}

const get = async (u: TestUser, url: string) => {
  const r = await t.inject({ method: 'GET', url, headers: u.headers });
  expect(r.statusCode).toBe(200);
  return r.json();
};

it('after-hours requests and failed kept places are callback work with their kind, counted and settled when worked', async () => {
  const before = await get(supervisor, '/api/missed-calls/summary');

  // After hours: the caller pressed 1 (the call flow stores the request with the call).
  const ah = await call('13911110001', 'after_hours');
  const ahReq = await repo.request({ callId: ah, number: '13911110001', nodeId: 'test', skill: null, kind: 'after_hours', positionAt: new Date() });
  // Keep-my-place whose callback did not reach the resident, and one interrupted by a restart.
  const kp = await call('13911110002', 'callback');
  const kpReq = await repo.request({ callId: kp, number: '13911110002', nodeId: 'test', skill: null, kind: 'keep_place', positionAt: new Date() });
  expect(await repo.claim(kpReq, agent.agentId!, randomUUID())).toBe(true);
  await repo.finish(kpReq, 'failed');
  const kp2 = await call('13911110003', 'callback');
  const kp2Req = await repo.request({ callId: kp2, number: '13911110003', nodeId: 'test', skill: null, kind: 'keep_place', positionAt: new Date() });
  expect(await repo.claim(kp2Req, agent.agentId!, randomUUID())).toBe(true);
  expect(await repo.interruptDialing('test', [])).toBe(1);
  // A kept place still waiting for its turn is not yet work for the list.
  const kp3 = await call('13911110004', 'callback');
  await repo.request({ callId: kp3, number: '13911110004', nodeId: 'test', skill: null, kind: 'keep_place', positionAt: new Date() });
  // An old promise (two hours ago) that nobody kept.
  const old = await call('13911110005', 'after_hours', new Date(Date.now() - 2 * 3600_000));
  const oldReq = await repo.request({ callId: old, number: '13911110005', nodeId: 'test', skill: null, kind: 'after_hours', positionAt: new Date() });
  await t.app.db.query(`update queue_callbacks set created_at = now() - interval '2 hours' where id = $1`, [oldReq]);
  await t.app.db.query(`update missed_calls set promised_at = now() - interval '2 hours' where id = (select missed_call_id from queue_callbacks where id = $1)`, [oldReq]);

  const list = (await get(agent, '/api/missed-calls?limit=200')) as { items: { id: number; number: string; kind: string; promisedAt: string | null }[] };
  const byNumber = new Map(list.items.map((i) => [i.number, i]));
  expect(byNumber.get('13911110001')).toMatchObject({ kind: 'after_hours' });
  expect(byNumber.get('13911110001')!.promisedAt).not.toBeNull();
  expect(byNumber.get('13911110002')).toMatchObject({ kind: 'callback_failed' });
  expect(byNumber.get('13911110003')).toMatchObject({ kind: 'callback_failed' });
  expect(byNumber.has('13911110004')).toBe(false);
  expect(byNumber.get('13911110005')).toMatchObject({ kind: 'after_hours' });

  const s = await get(supervisor, '/api/missed-calls/summary');
  expect(s.byKind.after_hours - before.byKind.after_hours).toBe(2);
  expect(s.byKind.callback_failed - before.byKind.callback_failed).toBe(2);
  expect(s.promisedOpen - before.promisedOpen).toBe(4);
  expect(s.promisedLate - before.promisedLate).toBe(1);
  expect(s.promiseMaxAgeMin).toBe(60);

  // Worked: the agent reached the resident; the promise behind the entry is settled.
  const entry = byNumber.get('13911110001')!;
  const done = await t.inject({ method: 'POST', url: `/api/missed-calls/${entry.id}/done`, headers: agent.headers, payload: { result: 'reached', note: '已回电说明办理流程' } });
  expect(done.statusCode).toBe(200);
  expect(done.json()).toMatchObject({ status: 'called_back', kind: 'after_hours' });
  const { rows } = await t.app.db.query<{ status: string }>(`select status from queue_callbacks where id = $1`, [ahReq]);
  expect(rows[0]!.status).toBe('done');
  const after = await get(supervisor, '/api/missed-calls/summary');
  expect(after.promisedOpen).toBe(s.promisedOpen - 1);
  expect(after.closedToday).toBe(s.closedToday + 1);
});

it('an abandoned call and a later after-hours request from the same number are one entry that keeps the promise', async () => {
  const a = await call('13911110009', 'abandoned');
  await t.app.db.query(`update calls set outcome = 'abandoned' where id = $1`, [a]);
  const ah = await call('13911110009', 'after_hours');
  await repo.request({ callId: ah, number: '13911110009', nodeId: 'test', skill: null, kind: 'after_hours', positionAt: new Date() });
  const list = (await get(agent, '/api/missed-calls?number=13911110009')) as { items: { kind: string; missedCount: number; promisedAt: string | null }[] };
  expect(list.items).toHaveLength(1);
  expect(list.items[0]).toMatchObject({ kind: 'after_hours' });
  expect(list.items[0]!.promisedAt).not.toBeNull();
});
