// Deleting a case checks cases.merged_into (foreign key to cases): through an index, not by reading every case.
import { createTestSchema } from '../helpers/db';

test('the merged_into check of a case delete can use an index', async () => {
  const t = await createTestSchema();
  try {
    const plan = await t.db.withTransaction(async (tx) => {
      await t.db.query(`set local enable_seqscan = off`, [], tx);
      // The statement PostgreSQL runs for the foreign key (ri_triggers.c), planned generically.
      await t.db.query(`prepare merged_check(bigint) as select 1 from only cases x where $1 operator(pg_catalog.=) merged_into for key share of x`, [], tx);
      await t.db.query(`set local plan_cache_mode = force_generic_plan`, [], tx);
      const { rows } = await t.db.query<{ 'QUERY PLAN': string }>(`explain execute merged_check(1)`, [], tx);
      await t.db.query(`deallocate merged_check`, [], tx);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/cases_merged_into_idx/);
  } finally {
    await t.drop();
  }
});
