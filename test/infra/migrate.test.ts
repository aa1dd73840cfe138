import { createTestSchema } from '../helpers/db';
import { migrate } from '../../src/infra/migrate';
import { TEST_DATABASE_URL } from '../helpers/db';

describe('migrations', () => {
  it('create every core table in a fresh schema and are idempotent', async () => {
    const t = await createTestSchema();
    try {
      const { rows } = await t.db.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = $1 order by 1`,
        [t.schema],
      );
      const names = rows.map((r) => r.table_name);
      for (const n of ['agents', 'api_tokens', 'audit_log', 'call_notes', 'calls', 'callers', 'categories', 'departments', 'users']) {
        expect(names).toContain(n);
      }
      expect(await migrate(TEST_DATABASE_URL, t.schema)).toEqual([]);
    } finally {
      await t.drop();
    }
  });
});
