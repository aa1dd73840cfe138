// Hot topics on a fixed sample of hotline texts: words and phrases from jieba with the hotline dictionary, never
// the two-character fragments that bigrams produce (号楼, 平路, 化路, 室暖, 已持).
import { build, type TestApp, type TestUser } from '../helpers/build';
import { createSegmenter } from '../../src/search/words';

const TODAY = [
  '市民来电反映：幸福小区3号楼2单元家中暖气不热，室温只有十四度，已经持续一周了，希望供热公司尽快处理。',
  '和平路18号院供暖不热，室内温度很低，老人受不了，要求测温。',
  '文化路12号楼今年供暖一直不热，暖气片上热下凉，已经持续半个月。',
  '东湖花园8号楼供暖不热，多次联系物业未果。',
  '锦绣家园5号楼停水两天了，没有任何通知，生活很不方便。',
  '和平路停水三天了，水压低，高层基本停水。',
  '新华街道小区突然停水，希望自来水公司尽快恢复供水。',
  '楼下商铺音响噪音扰民，夜里无法休息。',
  '文化路附近工地夜间施工噪音很大，凌晨还在打桩。',
  '邻居装修噪音扰民，中午也不停，已经持续一周。',
  '滨河路路灯不亮，晚上很黑，存在安全隐患。',
  '和平路口井盖缺失，很危险，请尽快派人查看。',
];
const BEFORE = [
  '幸福小区3号楼暖气不热，室温只有十五度。',
  '和平路18号院噪音扰民。',
  '文化路路灯不亮。',
];

let t: TestApp;
let sup: TestUser;

beforeAll(async () => {
  t = await build();
  sup = await t.createUser('supervisor');
  const agent = await t.createUser('agent');
  const { rows } = await t.app.db.query<{ id: string }>(
    `insert into calls (id, node_id, channel_id, caller_number, state, started_at) values (gen_random_uuid(), 'n1', 'c1', '13800000000', 'ended', '2026-03-01T00:00:00Z') returning id`,
  );
  const note = (content: string, at: string) =>
    t.app.db.query(`insert into call_notes (call_id, author_id, content, created_at) values ($1, $2, $3, $4)`, [rows[0]!.id, agent.id, content, at]);
  for (const [i, text] of TODAY.entries()) await note(text, `2026-03-02T0${i % 9}:00:00+08:00`);
  for (const text of BEFORE) await note(text, '2026-03-01T10:00:00+08:00');
  await t.app.search.indexer.drain();
});
afterAll(async () => t.close());

describe('hot topics in words people use', () => {
  test('the segmenter keeps places and hotline phrases whole', () => {
    const seg = createSegmenter();
    const words = seg.cut('和平路18号院停水两天了，文化路12号楼供暖不热，室温只有十四度，已经持续一周了');
    expect(words).toEqual(expect.arrayContaining(['和平路', '文化路', '停水', '供暖不热', '室温', '已经', '持续']));
    for (const fragment of ['平路', '化路', '号楼', '室暖', '已持']) expect(words).not.toContain(fragment);
    expect(seg.indexWords('供暖不热，噪音扰民')).toEqual(expect.arrayContaining(['供暖不热', '供暖', '噪音扰民', '噪音', '扰民']));
    expect(seg.isTopic('十四度')).toBe(false);
    expect(seg.isTopic('已经')).toBe(false);
    expect(seg.isTopic('停水')).toBe(true);
  });

  test('the KPI hot-topic list has words and phrases with counts and trend, no fragments', async () => {
    const res = await t.inject({ method: 'GET', url: '/api/reports/kpi?from=2026-03-02&to=2026-03-03&topics=40', headers: sup.headers });
    expect(res.statusCode).toBe(200);
    const topics = (res.json() as { hotTopics: { term: string; count: number; previous: number; trend: string }[] }).hotTopics;
    const terms = topics.map((x) => x.term);
    expect(terms).toEqual(expect.arrayContaining(['供暖', '停水', '噪音', '供暖不热', '噪音扰民']));
    for (const fragment of ['号楼', '平路', '化路', '室暖', '已持', '暖不', '水两']) expect(terms).not.toContain(fragment);
    for (const stop of ['市民', '反映', '已经', '持续', '希望', '小区']) expect(terms).not.toContain(stop);
    const byTerm = Object.fromEntries(topics.map((x) => [x.term, x]));
    // Counted by hand: 停水 in 3 notes today, none the day before; 供暖不热 in 2, 供暖 in 3 (the phrase counts as its
    // dictionary words too); 噪音 3 against 1; 暖气 (暖气不热, 暖气片) 2 against 1.
    expect(byTerm['停水']).toMatchObject({ count: 3, previous: 0, trend: 'new' });
    expect(byTerm['供暖不热']).toMatchObject({ count: 2, previous: 0 });
    expect(byTerm['供暖']).toMatchObject({ count: 3, previous: 0 });
    expect(byTerm['噪音']).toMatchObject({ count: 3, previous: 1, trend: 'up' });
    expect(byTerm['暖气']).toMatchObject({ count: 2, previous: 1, trend: 'up' });
    // Most frequent first.
    const counts = topics.map((x) => x.count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
  });

  test('the daily aggregate gives the same list; days changed since are counted from the documents until aggregated again', async () => {
    const kpi = async () => {
      const res = await t.inject({ method: 'GET', url: '/api/reports/kpi?from=2026-03-02&to=2026-03-03&topics=40', headers: sup.headers });
      expect(res.statusCode).toBe(200);
      return (res.json() as { hotTopics: { term: string; count: number; previous: number; trend: string }[] }).hotTopics;
    };
    const raw = await kpi();
    const agg = t.app.supervision.topics;
    expect(await agg.catchUp()).toBeGreaterThanOrEqual(2); // 2026-03-01 and 2026-03-02 (Asia/Shanghai) at least
    expect(await kpi()).toEqual(raw);
    // The aggregate is what is read for whole days: a (deliberately wrong) aggregate shows through.
    await t.app.db.query(`update search_topic_days set n = n + 100 where day = '2026-03-02' and term = '停水'`);
    expect((await kpi()).find((x) => x.term === '停水')!.count).toBe(103);
    await t.app.db.query(`update search_topic_days set n = n - 100 where day = '2026-03-02' and term = '停水'`);
    // A new note on an aggregated day: counted at once (from the documents), and after the next run from the aggregate.
    const call = (await t.app.db.query<{ id: string }>(`select call_id as id from call_notes limit 1`)).rows[0]!.id;
    const author = (await t.app.db.query<{ id: number }>(`select author_id as id from call_notes limit 1`)).rows[0]!.id;
    await t.app.db.query(`insert into call_notes (call_id, author_id, content, created_at) values ($1, $2, '人民路停水了', '2026-03-02T09:30:00+08:00')`, [call, author]);
    await t.app.search.indexer.drain();
    expect((await kpi()).find((x) => x.term === '停水')!.count).toBe(4);
    expect(await agg.catchUp()).toBe(1);
    const dirty = await t.app.db.query<{ n: number }>(`select count(*)::int as n from search_topic_dirty`);
    expect(dirty.rows[0]!.n).toBe(0);
    const after = await kpi();
    expect(after.find((x) => x.term === '停水')!.count).toBe(4);
    await t.app.db.query(`update search_topic_days set n = n + 100 where day = '2026-03-02' and term = '停水'`);
    expect((await kpi()).find((x) => x.term === '停水')!.count).toBe(104);
  });
});
