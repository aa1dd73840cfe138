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

test('an insert leaves its index entries in the GIN pending list (searchable at once); the flush moves them into the index', async () => {
  const q = t.app.db.query;
  await t.app.search.indexer.stop(); // its timer would flush between the statements below
  await t.app.search.indexer.flushPending();
  await q(`insert into cases (tracking_no, channel, status, title, description) values ('114-20261202-000001', 'web', 'draft', '', '滨河路井盖缺失很危险')`);
  const found = async () => (await q<{ n: number }>(`select count(*)::int as n from search_docs where tsv @@ '井盖 & 缺失'::tsquery`)).rows[0]!.n;
  expect(await found()).toBe(1);
  // Pages of the pending list merged into the index (0 when the insert had updated the index pages itself).
  expect(await t.app.search.indexer.flushPending()).toBeGreaterThan(0);
  expect(await t.app.search.indexer.flushPending()).toBe(0);
  expect(await found()).toBe(1);
});
