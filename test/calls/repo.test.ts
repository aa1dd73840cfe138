// Call record writes (calls/repo.ts) against a real PostgreSQL: each state change is a prepared statement named
// after its shape, parsed and planned once per connection, and the rows it writes are the ones asked for.
import { randomUUID } from 'node:crypto';
import { CallRepo } from '../../src/calls/repo';
import { createDb, type Db } from '../../src/infra/db';
import { createLogger } from '../../src/infra/logger';
import { createTestSchema, TEST_DATABASE_URL } from '../helpers/db';

describe('CallRepo', () => {
  let t: Awaited<ReturnType<typeof createTestSchema>>;
  let one: Db; // one connection, so pg_prepared_statements shows what this repo prepared
  let repo: CallRepo;

  beforeAll(async () => {
    t = await createTestSchema();
    one = createDb({ url: TEST_DATABASE_URL, schema: t.schema, max: 1 });
    repo = new CallRepo(one, createLogger('silent'));
  });
  afterAll(async () => {
    await one.close();
    await t.drop();
  });

  const insert = (id: string, n: number) =>
    repo.insertCall({ id, nodeId: 'n1', channelId: `ch-${id}`, callerNumber: `1390000${String(n).padStart(4, '0')}`, callerName: null, state: 'queued', startedAt: new Date(), queuedAt: new Date() });

  it('writes every state change of the same shape through one prepared statement', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) await insert(id, i);
    for (const [i, id] of ids.entries()) {
      await repo.transition(id, 'queued', 'ended', { ended_at: new Date(), outcome: 'abandoned', wait_ms: 100 + i, hangup_by: 'caller' });
    }
    await repo.patch(ids[0]!, { survey_score: 3 });
    await repo.patch(ids[1]!, { survey_score: null });

    const prepared = await one.query<{ name: string; statement: string }>(`select name, statement from pg_prepared_statements where name like 'call_w_%'`);
    const shapes = prepared.rows.map((r) => r.statement.replace(/\s+/g, ' ').trim());
    expect(shapes.filter((s) => s.startsWith('with u as (update calls set state = $2, ended_at'))).toHaveLength(1);
    expect(shapes.filter((s) => s === 'update calls set survey_score = $2 where id = $1')).toHaveLength(1);

    const rows = await one.query(`select id, state, wait_ms, survey_score from calls where id = any($1) order by wait_ms`, [ids]);
    expect(rows.rows).toEqual([
      { id: ids[0], state: 'ended', wait_ms: 100, survey_score: 3 },
      { id: ids[1], state: 'ended', wait_ms: 101, survey_score: null },
      { id: ids[2], state: 'ended', wait_ms: 102, survey_score: null },
    ]);
    const events = await one.query(`select count(*)::int as n from call_events where call_id = any($1) and to_state = 'ended'`, [ids]);
    expect(events.rows[0]).toEqual({ n: 3 });
  });
});
