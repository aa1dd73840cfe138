// A dictionary change (here: a new category name) reaches documents indexed before it through a re-segment run,
// which rewrites only the documents whose words changed.
import { build, type TestApp } from '../helpers/build';

let t: TestApp;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => t.close());

test('resegment: documents get the words of the current dictionary; unchanged documents are not rewritten', async () => {
  const q = t.app.db.query;
  const ins = (tracking: string, description: string) =>
    q(`insert into cases (tracking_no, channel, status, title, description) values ($1, 'web', 'draft', '', $2)`, [tracking, description]);
  await ins('114-20261201-000001', '小区门口有人占道洗车，污水横流。');
  await ins('114-20261201-000002', '小区停水两天了。');
  await t.app.search.indexer.drain();
  const words = async (tracking: string) =>
    (await q<{ words: string[] }>(`select d.words from search_docs d join cases c on d.src = 'case' and d.src_id = c.id where c.tracking_no = $1`, [tracking])).rows[0]!.words;
  expect(await words('114-20261201-000001')).not.toContain('占道洗车');
  await q(`insert into categories (code, name) values ('complaint-car-wash', '占道洗车')`);
  const tuple = async () => (await q<{ ctid: string }>(`select d.ctid::text from search_docs d join cases c on d.src = 'case' and d.src_id = c.id where c.tracking_no = '114-20261201-000002'`)).rows[0]!.ctid;
  const before = await tuple();
  const r = await t.app.search.indexer.resegment();
  expect(r).toEqual({ scanned: 2, changed: 1 });
  expect(await words('114-20261201-000001')).toContain('占道洗车');
  expect(await tuple()).toBe(before); // not rewritten
  expect(await t.app.search.indexer.resegment()).toEqual({ scanned: 2, changed: 0 });
});
