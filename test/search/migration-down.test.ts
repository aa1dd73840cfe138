// The search-at-scale migrations go down cleanly: back to the state of 1764600000000_search.sql (its triggers keep
// search_docs up to date, its own down migration runs), and up again.
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { createTestSchema, TEST_DATABASE_URL } from '../helpers/db';
import { migrate, MIGRATIONS_DIR } from '../../src/infra/migrate';

async function down(schema: string, toTimestamp: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const done = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'down',
      count: toTimestamp,
      timestamp: true,
      migrationsTable: 'pgmigrations',
      schema,
      checkOrder: true,
      singleTransaction: true,
      log: () => undefined,
    });
    return done.map((m) => m.name);
  } finally {
    await client.end();
  }
}

test('1765200000000_search_scale goes down to the previous search (writers still indexed), and up again', async () => {
  const t = await createTestSchema();
  try {
    const q = t.db.query;
    const ran = await down(t.schema, 1765200000000);
    expect(ran).toContain('1765200000000_search_scale');
    expect(ran).not.toContain('1764600000000_search');
    // The previous design works: a case, a note and a knowledge article are indexed by its triggers.
    const cat = (await q<{ id: number }>(`insert into categories (code, name) values ('help-heating', '供暖') returning id`)).rows[0]!.id;
    const caseId = (
      await q<{ id: number }>(
        `insert into cases (tracking_no, channel, status, category_id, title, description, contact_phone)
         values ('114-20261201-000001', 'phone', 'draft', $1, '供暖不热', '幸福小区暖气不热', '13800000001') returning id`,
        [cat],
      )
    ).rows[0]!.id;
    await q(`update cases set description = '幸福小区暖气还是不热' where id = $1`, [caseId]);
    await q(`insert into knowledge_articles (kind, title, body, status) values ('guide', '供暖期', '供暖期为11月15日起。', 'published')`);
    const found = await q<{ src: string }>(`select src from search_docs where tsv @@ '供暖'::tsquery order by src`);
    expect(found.rows.map((r) => r.src)).toEqual(['case', 'knowledge']);
    const tables = await q<{ n: number }>(
      `select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name in ('search_hot_queries', 'search_hot_counts')`,
      [t.schema],
    );
    expect(tables.rows[0]!.n).toBe(2);
    // What the search migration's own down drops is there again.
    const hot = await q<{ n: number }>(`select count(*)::int as n from pg_trigger where tgname = 'search_docs_hot' and tgrelid = 'search_docs'::regclass`);
    expect(hot.rows[0]!.n).toBe(1);
    // And everything comes back up.
    const up = await migrate(TEST_DATABASE_URL, t.schema);
    expect(up).toEqual(expect.arrayContaining(['1765200000000_search_scale', '1765200100000_search_sample_levels']));
    await q(
      `insert into cases (tracking_no, channel, status, title, description, contact_phone)
       values ('114-20261201-000002', 'web', 'draft', '停水', '和平路停水三天', '13800000002')`,
    );
    const after = await q<{ n: number }>(`select count(*)::int as n from search_docs where tsv @@ '''p:0002'''::tsquery`);
    expect(after.rows[0]!.n).toBe(1);
  } finally {
    await t.drop();
  }
});
