// The supervisor's and the agent's tools in real Chromium against a real service and the Asterisk simulator:
// the KPI dashboard draws the figures of /api/reports/kpi for a scripted day (and exports CSV), the live board
// offers 监听 / 耳语 / 强插 on a live call (AMI Originate running ChanSpy; a refused spy shows its Chinese message),
// the console transfers a connected call to a department endpoint (blind) and calls back a missed call.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startLab, type CallLab } from '../helpers/telephony';
import type { TestUser } from '../helpers/build';
import { describeBrowser, launch, openPage, screenshot, signInAs, rawCodesOnPage } from './browser';

const local = (hm: string, day = '2026-03-02') => new Date(`${day}T${hm}:00+08:00`);
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
const secs = (ms: number | null) => (ms === null ? '—' : `${Math.round(ms / 1000)}秒`);

function header(action: Record<string, string>, name: string): string | undefined {
  const k = Object.keys(action).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : action[k];
}

describeBrowser('web pages: KPI dashboard, live board with spying, transfer, missed-call callback', () => {
  let lab: CallLab;
  let browser: Browser;
  const errors: string[] = [];
  let supervisor: TestUser;
  let agent: TestUser;
  let agentEndpoint = '';
  let supEndpoint = '';
  let adminPage: Page;
  let consolePage: Page;
  let callId = '';

  async function insertCall(c: { number: string; at: Date; outcome: 'answered' | 'abandoned' | 'failed'; waitS: number; talkS?: number; agentId?: number | null }) {
    const id = randomUUID();
    const connected = c.outcome === 'answered' ? new Date(c.at.getTime() + c.waitS * 1000) : null;
    await lab.t.app.db.query(
      `insert into calls (id, node_id, channel_id, caller_number, state, outcome, agent_id, started_at, connected_at, ended_at, wait_ms, talk_ms)
       values ($1, 'web', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        id,
        `ch-${id}`,
        c.number,
        c.outcome === 'answered' ? 'ended' : c.outcome,
        c.outcome,
        c.agentId ?? null,
        c.at,
        connected,
        new Date(c.at.getTime() + (c.waitS + (c.talkS ?? 0)) * 1000),
        c.waitS * 1000,
        c.talkS === undefined ? null : c.talkS * 1000,
      ],
    );
    return id;
  }

  beforeAll(async () => {
    browser = await launch();
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '15' } });
    const { t, sim } = lab;
    supervisor = await t.createUser('supervisor', { agent: true, displayName: '王班长' });
    agent = await t.createUser('agent', { displayName: '李话务' });
    const ext = async (u: TestUser) => (await t.app.db.query<{ extension: string }>('select extension from agents where id = $1', [u.agentId])).rows[0]!.extension;
    agentEndpoint = `agent${await ext(agent)}`;
    supEndpoint = `agent${await ext(supervisor)}`;
    sim.addEndpoint(agentEndpoint, { context: 'from-agents', behavior: { answerAfterMs: 300 } });
    sim.addEndpoint(supEndpoint, { context: 'from-agents', behavior: { answerAfterMs: 30 } });
    await t.app.db.query(`insert into departments (code, name, sip_endpoint) values ('heating', '供热公司', 'PJSIP/dept-heating')`);
    sim.addEndpoint('dept-heating', { context: 'from-trunk', behavior: { answerAfterMs: 50 } });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await lab?.close();
  });

  it('KPI dashboard: tiles and SVG charts show the figures of /api/reports/kpi for a scripted day, with CSV export', async () => {
    // The scripted day (2026-03-02, Asia/Shanghai), service level 15 s.
    const a = agent.agentId;
    const calls: Parameters<typeof insertCall>[0][] = [
      { number: '13900000001', at: local('08:05'), outcome: 'answered', waitS: 10, talkS: 120, agentId: a },
      { number: '13900000002', at: local('08:20'), outcome: 'answered', waitS: 20, talkS: 300, agentId: a },
      { number: '13900000003', at: local('08:40'), outcome: 'abandoned', waitS: 30 },
      { number: '13900000004', at: local('09:10'), outcome: 'answered', waitS: 5, talkS: 60, agentId: a },
      { number: '13900000005', at: local('09:30'), outcome: 'answered', waitS: 15, talkS: 180, agentId: a },
      { number: '13900000006', at: local('09:50'), outcome: 'failed', waitS: 2 },
      { number: '13900000007', at: local('14:00'), outcome: 'abandoned', waitS: 50 },
      { number: '13900000008', at: local('14:30'), outcome: 'answered', waitS: 16, talkS: 240, agentId: a },
      { number: '13900000009', at: local('23:59', '2026-03-01'), outcome: 'answered', waitS: 1, talkS: 10, agentId: a }, // the day before
    ];
    const ids: string[] = [];
    for (const c of calls) ids.push(await insertCall(c));
    for (const n of ['路灯不亮', '路灯不亮', '小区路灯不亮', '噪音扰民', '噪音扰民']) {
      await lab.t.app.db.query(`insert into call_notes (call_id, author_id, content, created_at) values ($1, $2, $3, $4)`, [ids[0], agent.id, n, local('12:00')]);
    }
    const api = await lab.t.inject({ method: 'GET', url: '/api/reports/kpi?from=2026-03-02&to=2026-03-03&granularity=hour', headers: supervisor.headers });
    expect(api.statusCode).toBe(200);
    const r = api.json();
    // The hand count, so the page is compared with figures known to be right.
    expect(r.totals).toMatchObject({ offered: 8, answered: 5, abandoned: 2, failed: 1, answeredWithinSl: 3, answerRate: 0.625, serviceLevel: 0.375, abandonRate: 0.25 });

    adminPage = await openPage(browser, errors);
    await signInAs(adminPage, `${lab.baseUrl}/admin/`, supervisor);
    await adminPage.locator('#kpi-tiles').waitFor(); // the default range (last 7 days) is drawn at once
    await adminPage.locator('#kpi-from').fill('2026-03-02');
    await adminPage.locator('#kpi-to').fill('2026-03-02');
    await adminPage.locator('#kpi-granularity').selectOption('hour');
    await adminPage.locator('#kpi-form button[type=submit]').click();
    await adminPage.waitForFunction(() => document.querySelector('#kpi-tiles [data-kpi=offered] .n')?.textContent === '8');

    const tile = async (k: string) => adminPage.locator(`#kpi-tiles [data-kpi=${k}] .n`).textContent();
    expect(await tile('offered')).toBe(String(r.totals.offered));
    expect(await tile('answerRate')).toBe(pct(r.totals.answerRate));
    expect(await tile('serviceLevel')).toBe(pct(r.totals.serviceLevel));
    expect(await tile('abandonRate')).toBe(pct(r.totals.abandonRate));
    expect(await tile('avgWait')).toBe(secs(r.totals.avgWaitMs));
    expect(await tile('onTimeRate')).toBe(pct(r.cases?.onTimeRate ?? null));
    expect(await tile('satisfaction')).toBe(pct(r.survey?.satisfactionRate ?? null));
    expect(await adminPage.locator('#kpi-tiles [data-kpi=serviceLevel] .k').first().textContent()).toBe('15 秒服务水平');

    // Every period's columns carry the API's values.
    type Period = { label: string; answerRate: number | null; serviceLevel: number | null; abandonRate: number | null; avgWaitMs: number | null; offered: number };
    const periods = r.periods as Period[];
    expect(periods).toHaveLength(24);
    const bars = async (chart: string, series: string) =>
      Object.fromEntries(
        await adminPage
          .locator(`#${chart} rect[data-series=${series}]`)
          .evaluateAll((els) => els.map((e) => [e.getAttribute('data-label'), Number(e.getAttribute('data-value'))])),
      );
    for (const key of ['answerRate', 'serviceLevel', 'abandonRate'] as const) {
      expect(await bars('chart-rates', key)).toEqual(Object.fromEntries(periods.filter((p) => p[key] !== null).map((p) => [p.label, p[key]])));
    }
    expect(await bars('chart-wait', 'avgWaitMs')).toEqual(Object.fromEntries(periods.filter((p) => p.avgWaitMs !== null).map((p) => [p.label, p.avgWaitMs])));
    expect(await bars('chart-volume', 'offered')).toEqual(Object.fromEntries(periods.map((p) => [p.label, p.offered])));
    expect(await adminPage.locator('#chart-rates svg').count()).toBe(1);
    // Hot topics from the call notes of the day.
    const topics = (r.hotTopics as { term: string; count: number }[]).slice(0, 3);
    for (const h of topics) expect(await adminPage.locator(`#chart-topics rect[data-key="${h.term}"]`).getAttribute('data-value')).toBe(String(h.count));
    if (r.hotTopics.length) expect(await adminPage.locator('#chart-topics').textContent()).toContain('路灯');
    expect(await adminPage.locator('#kpi-agents').textContent()).toContain('李话务');
    await adminPage.locator('#kpi').scrollIntoViewIfNeeded();
    await screenshot(adminPage, 'admin-3-kpi');
    expect(await rawCodesOnPage(adminPage)).toEqual([]); // no English code on the page

    // CSV export: fetched with the token, handed to the browser as a download.
    const [download] = await Promise.all([adminPage.waitForEvent('download'), adminPage.locator('#kpi-csv button[data-section=periods]').click()]);
    expect(download.suggestedFilename()).toBe('kpi-periods-2026-03-02-2026-03-02.csv') // China-time days, last day inclusive;
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    expect(csv).toContain('15秒服务水平');
    expect(csv).toContain('合计,8,5,2,1,62.50%');
  });

  it('live board: 监听 sends the AMI Originate running ChanSpy; a refused spy shows its Chinese message', async () => {
    consolePage = await openPage(browser, errors);
    await signInAs(consolePage, `${lab.baseUrl}/console/`, agent);
    await consolePage.waitForFunction(() => (window as unknown as { __h114: { wsOpen: boolean } }).__h114.wsOpen);
    await consolePage.locator('#btn-login').click();
    await consolePage.locator('#agent-state[data-state=ready]').waitFor();

    lab.sim.dial({ from: 'caller1', callerNumber: '13812340001', app: 'hotline114', appArgs: ['inbound'] });
    await consolePage.locator('#call-card[data-phase=connected]').waitFor({ timeout: 5000 });
    const { rows } = await lab.t.app.db.query<{ id: string; agent_channel_id: string }>(`select id, agent_channel_id from calls where caller_number = '13812340001'`);
    callId = rows[0]!.id;
    const agentChannel = lab.sim.channel(rows[0]!.agent_channel_id)!.name;

    const row = adminPage.locator(`#agents tr[data-agent="${agent.agentId}"]`);
    await row.locator('button[data-spy=listen]').waitFor({ timeout: 5000 });
    expect(await row.textContent()).toContain('13812340001');
    expect(await row.textContent()).toContain('通话中');
    expect(await adminPage.locator('#live-summary').textContent()).toContain('AMI 正常');
    await screenshot(adminPage, 'admin-4-board-live-call');
    expect(await rawCodesOnPage(adminPage)).toEqual([]); // no English code on the page
    const before = lab.sim.amiActions.length;
    await row.locator('button[data-spy=listen]').click();
    await adminPage.locator('#message.notice-ok').waitFor();
    expect(await adminPage.locator('#message').textContent()).toContain(`监听：正在呼叫您的分机 PJSIP/${supEndpoint}`);
    const originate = await lab.waitFor(
      () => lab.sim.amiActions.slice(before).find((x) => header(x, 'Action') === 'Originate' && header(x, 'Application') === 'ChanSpy'),
      'Originate with ChanSpy',
    );
    expect(header(originate, 'Channel')).toBe(`PJSIP/${supEndpoint}`);
    expect(header(originate, 'Data')).toBe(`${agentChannel},q`);
    const sessions = await lab.t.app.db.query('select mode from supervision_sessions where call_id = $1', [callId]);
    expect(sessions.rows).toEqual([{ mode: 'listen' }]);

    // A supervisor without an extension: the route refuses, the page says why in Chinese.
    const noSeat = await lab.t.createUser('supervisor');
    const other = await openPage(browser, errors);
    await signInAs(other, `${lab.baseUrl}/admin/`, noSeat);
    await other.locator(`#agents tr[data-agent="${agent.agentId}"] button[data-spy=barge]`).click();
    await other.locator('#message.notice-error').waitFor();
    expect(await other.locator('#message').textContent()).toBe('强插失败：当前主管账号没有绑定分机，无法监听、耳语或强插');
    await other.close();
  });

  it('console: a blind transfer moves the caller to the department endpoint', async () => {
    await consolePage.locator('#btn-transfer-blind:enabled').waitFor();
    expect(await consolePage.locator('#btn-police').textContent()).toContain('110 联动');
    // 110 asks for confirmation first; cancelling it does nothing.
    await consolePage.locator('#btn-police').click();
    await consolePage.locator('#police-confirm').waitFor();
    await screenshot(consolePage, 'console-4-transfer-110-confirm');
    await consolePage.locator('#btn-police-cancel').click();
    await consolePage.locator('#police-confirm').waitFor({ state: 'hidden' });

    await consolePage.locator('#transfer-dept').selectOption('heating');
    await consolePage.locator('#btn-transfer-blind').click();
    const caller = lab.sim.channels().find((c) => !c.isOriginated && c.state !== 'destroyed')!;
    const dept = await lab.waitFor(() => lab.sim.channels().find((c) => c.endpoint === 'dept-heating' && c.state === 'Up'), 'department answered');
    await dept.waitFor('bridged');
    expect(lab.sim.channel(caller.id)?.bridgeId).toBe(lab.sim.channel(dept.id)?.bridgeId);
    await consolePage.locator('#call-card[data-phase=wrapup]').waitFor();
    await consolePage.waitForFunction(() => document.querySelector('#transfer-status')?.textContent?.includes('转接成功：来电人已与 供热公司 通话'));
    await screenshot(consolePage, 'console-5-transferred');
    await lab.waitFor(async () => (await lab.callRow(callId)).state === 'transferred', 'transferred state');
    const tr = await lab.t.app.db.query('select mode, target_type, target from call_transfers where call_id = $1', [callId]);
    expect(tr.rows).toEqual([{ mode: 'blind', target_type: 'department', target: '供热公司' }]);
    expect(lab.sim.amiActions.length).toBeGreaterThan(0);
    lab.sim.channel(caller.id)!.hangup();
    await dept.waitFor('destroyed');
    await consolePage.locator('#btn-wrapup-done').click();
    await consolePage.locator('#call-card[data-phase=idle]').waitFor();
  });

  it('console: 回拨 on a missed call places the agent leg, then the result is recorded', async () => {
    const number = '13700005678';
    lab.sim.addEndpoint(number, { context: 'from-trunk', behavior: { answerAfterMs: 100 } });
    await insertCall({ number, at: new Date(Date.now() - 60_000), outcome: 'abandoned', waitS: 30 });
    await consolePage.locator('#btn-missed').click();
    const item = consolePage.locator('#missed li[data-missed]', { hasText: number });
    await item.waitFor();
    expect(await item.textContent()).toContain('排队中挂机');
    await item.locator('button[data-action=call]').click();
    const leg = await lab.waitFor(
      () => lab.sim.channels().find((c) => c.endpoint === agentEndpoint && c.appArgs?.[0] === 'callback' && c.appArgs?.[2] === 'agent'),
      'the agent leg of the callback',
    );
    expect(leg.isOriginated).toBe(true);
    await consolePage.locator('#message.notice-ok').waitFor();
    expect(await consolePage.locator('#message').textContent()).toContain(`接听后自动拨打 ${number}`);
    const resident = await lab.waitFor(() => lab.sim.channels().find((c) => c.endpoint === number && c.state === 'Up'), 'the resident answered');
    await resident.waitFor('bridged');
    await consolePage.waitForFunction((n) => [...document.querySelectorAll('#missed li')].some((li) => li.textContent?.includes(n) && li.textContent.includes('已回拨 1 次')), number);
    await screenshot(consolePage, 'console-6-missed-callback');
    expect(await rawCodesOnPage(consolePage)).toEqual([]); // no English code on the page
    resident.hangup();

    const updated = consolePage.locator('#missed li[data-missed]', { hasText: number });
    await updated.locator('select').selectOption('reached');
    await updated.locator('input[type=text]').fill('已告知办理进度');
    await updated.locator('button[data-action=done]').click();
    await updated.waitFor({ state: 'detached' });
    const { rows } = await lab.t.app.db.query(`select status, result, note, attempts from missed_calls where caller_number = $1`, [number]);
    expect(rows).toEqual([{ status: 'called_back', result: 'reached', note: '已告知办理进度', attempts: 1 }]);
  });

  it('console: shows 回拨来电 on the caller card when call.offered says callback', async () => {
    const { t } = lab;
    const msg = { type: 'call.offered', callId: randomUUID(), callerNumber: '13600001111', caller: null, recentCalls: [], openCases: [], queueWaitMs: 0, offeredAt: new Date().toISOString(), callback: true };
    await t.app.redis.publish(`${t.app.config.redisPrefix}:pop:${agent.agentId}`, JSON.stringify(msg));
    await consolePage.locator('#caller-callback').waitFor({ state: 'visible' });
    expect(await consolePage.locator('#call-phase').textContent()).toContain('回拨来电');
    await screenshot(consolePage, 'console-7-callback-offer');
  });

  it('had no page errors and no Content-Security-Policy violations', () => {
    expect(errors).toEqual([]);
  });
});
