// End to end in real Chromium against a real service (PostgreSQL, Redis, the Asterisk simulator):
// an agent signs in on the console, a simulated call to 114 pops the caller card within one second of the dial,
// the agent writes notes, searches the knowledge base, creates a case and dispatches it; the department signs
// it in its inbox and resolves it; the resident sees the reply on the portal.
import type { Browser, Page } from 'playwright-core';
import { startLab, type CallLab } from '../helpers/telephony';
import type { TestUser } from '../helpers/build';
import { describeBrowser, launch, openPage, screenshot, signInAs } from './browser';

const CALLER = '13812345678';

describeBrowser('web pages end to end', () => {
  let lab: CallLab;
  let browser: Browser;
  const errors: string[] = [];
  let agent: TestUser;
  let supervisor: TestUser;
  let staff: TestUser;
  let dept: { id: number; code: string };
  let categoryId: number;
  let callId = '';
  let trackingNo = '';
  let consolePage: Page;

  beforeAll(async () => {
    browser = await launch();
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '15' } });
    const { t, sim } = lab;
    supervisor = await t.createUser('supervisor', { displayName: '王班长' });
    agent = await t.createUser('agent', { displayName: '李话务' });
    const { rows } = await t.app.db.query<{ extension: string }>('select extension from agents where id = $1', [agent.agentId]);
    sim.addEndpoint(`agent${rows[0]!.extension}`, { context: 'from-agents', behavior: { answerAfterMs: 1200 } });

    const d = await t.app.db.query<{ id: number }>(`insert into departments (code, name) values ('zjj', '区住建局') returning id`);
    dept = { id: d.rows[0]!.id, code: 'zjj' };
    staff = await t.createUser('department_staff', { departmentCode: dept.code, displayName: '赵办理' });
    const top = await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ('city', '城市管理') returning id`);
    const leaf = await t.app.db.query<{ id: number }>(`insert into categories (code, name, parent_id) values ('heating', '供暖问题', $1) returning id`, [top.rows[0]!.id]);
    categoryId = leaf.rows[0]!.id;

    // The caller: a record, an earlier call and an open case, so the pop has something in every section.
    const created = await t.inject({
      method: 'POST',
      url: '/api/callers',
      headers: supervisor.headers,
      payload: { number: CALLER, name: '张三', address: '幸福路1号3栋', district: '和平区', vip: true },
    });
    expect(created.statusCode).toBe(201);
    await t.app.db.query(
      `insert into calls (id, node_id, channel_id, caller_number, state, outcome, started_at, ended_at)
       values (gen_random_uuid(), 'old', 'old-1', $1, 'ended', 'answered', now() - interval '2 days', now() - interval '2 days')`,
      [CALLER],
    );
    const older = await t.inject({
      method: 'POST',
      url: '/api/cases',
      headers: supervisor.headers,
      payload: { title: '楼道路灯不亮', description: '3栋楼道路灯坏了一周', contactPhone: CALLER },
    });
    expect(older.statusCode).toBe(201);
    const kb = await t.inject({
      method: 'POST',
      url: '/api/knowledge',
      headers: supervisor.headers,
      payload: { kind: 'guide', title: '供暖不热怎么办', body: '供暖期室温低于18℃可向供热单位报修。\n报修电话见供热单位公示。', status: 'published' },
    });
    expect(kb.statusCode).toBe(201);
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await lab?.close();
  });

  it('signs in on the console with a password and goes ready', async () => {
    consolePage = await openPage(browser, errors);
    await signInAs(consolePage, `${lab.baseUrl}/console/`, agent);
    await consolePage.locator('#workspace').waitFor();
    await consolePage.waitForFunction(() => (window as unknown as { __h114: { wsOpen: boolean } }).__h114.wsOpen);
    await consolePage.locator('#btn-login').click();
    await consolePage.locator('#agent-state[data-state=ready]').waitFor();
    expect(await consolePage.locator('#agent-state').textContent()).toBe('就绪');
    expect((await lab.t.app.acd.get(agent.agentId!)).state).toBe('ready');
    // The session is an HTTP-only, SameSite=Strict cookie: nothing a script on the page could read or store.
    const cookies = await consolePage.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['h114_sid', true, 'Strict']]);
    expect(await consolePage.evaluate(() => document.cookie)).toBe('');
    expect(await consolePage.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  });

  it('pops the caller card within one second of the dial, then shows the call connected with a timer', async () => {
    const dialedAt = Date.now();
    lab.sim.dial({ from: 'caller1', callerNumber: CALLER, app: 'hotline114', appArgs: ['inbound'] });
    await consolePage.locator('#call-card[data-phase=ringing]').waitFor({ timeout: 5000 });
    const seenAt = Date.now();
    const poppedAt = await consolePage.evaluate(() => (window as unknown as { __h114: { poppedAt: number } }).__h114.poppedAt);
    const popMs = poppedAt - dialedAt;
    console.log(`screen pop drawn ${popMs} ms after the dial (seen by the test after ${seenAt - dialedAt} ms)`);
    expect(popMs).toBeLessThan(1000);
    expect(seenAt - dialedAt).toBeLessThan(1000);

    expect(await consolePage.locator('#call-phase').textContent()).toContain('来电振铃');
    expect(await consolePage.locator('#caller-name').textContent()).toBe('张三');
    expect(await consolePage.locator('#caller-number').textContent()).toBe(CALLER);
    expect(await consolePage.locator('#caller-address').textContent()).toBe('和平区 幸福路1号3栋');
    expect(await consolePage.locator('#caller-vip').isVisible()).toBe(true);
    expect(await consolePage.locator('#caller-wait').textContent()).toMatch(/^\d+秒$/);
    expect(await consolePage.locator('#recent-calls li').count()).toBe(1);
    expect(await consolePage.locator('#open-cases').textContent()).toContain('楼道路灯不亮');
    await screenshot(consolePage, 'console-1-ringing');

    await consolePage.locator('#call-card[data-phase=connected]').waitFor({ timeout: 5000 });
    expect(await consolePage.locator('#call-phase').textContent()).toBe('通话中');
    await consolePage.waitForFunction(() => document.querySelector('#call-timer')?.textContent === '00:01', undefined, { timeout: 3000 });
    const { rows } = await lab.t.app.db.query<{ id: string; state: string }>(`select id, state from calls where caller_number = $1 and node_id <> 'old'`, [CALLER]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.state).toBe('connected');
    callId = rows[0]!.id;
  });

  it('saves a note with its category and 当场解决 (checked in the database)', async () => {
    await consolePage.locator('#note-category').selectOption(String(categoryId));
    await consolePage.locator('#note-content').fill('来电反映幸福路1号3栋供暖不热，室温16℃。<b>不是标签</b>');
    await consolePage.locator('#note-resolved').check();
    await consolePage.locator('#btn-save-note').click();
    await consolePage.locator('#notes li').first().waitFor();
    // What was typed comes back as text, never as markup.
    expect(await consolePage.locator('#notes li .pre').first().textContent()).toContain('<b>不是标签</b>');
    expect(await consolePage.locator('#notes b').count()).toBe(0);
    const { rows } = await lab.t.app.db.query(`select content, category_id, resolved, author_id from call_notes where call_id = $1`, [callId]);
    expect(rows).toEqual([{ content: '来电反映幸福路1号3栋供暖不热，室温16℃。<b>不是标签</b>', category_id: categoryId, resolved: true, author_id: agent.id }]);
  });

  it('finds a service guide beside the notes, hits highlighted with <mark>', async () => {
    await consolePage.locator('#kb-q').fill('供暖');
    await consolePage.locator('#kb-form button').click();
    await consolePage.locator('#kb-results details').first().waitFor();
    expect(await consolePage.locator('#kb-results summary mark').first().textContent()).toBe('供暖');
    await consolePage.locator('#kb-results summary').first().click();
    await consolePage.waitForFunction(() => document.querySelector('#kb-results details .pre')?.textContent?.includes('报修电话'));
  });

  it('creates a case from the call and dispatches it to a department', async () => {
    await consolePage.locator('#case-title').fill('幸福路1号3栋供暖不热');
    await consolePage.locator('#case-department').selectOption(dept.code);
    await consolePage.locator('#btn-create-case').click();
    await consolePage.locator('#case-created').waitFor();
    trackingNo = (await consolePage.locator('#case-created .tracking-no').textContent()) ?? '';
    expect(trackingNo).toMatch(/^114-/);
    const { rows } = await lab.t.app.db.query(
      `select c.status, c.title, c.contact_phone, c.category_id, d.code from cases c join departments d on d.id = c.department_id where c.tracking_no = $1`,
      [trackingNo],
    );
    expect(rows).toEqual([{ status: 'dispatched', title: '幸福路1号3栋供暖不热', contact_phone: CALLER, category_id: categoryId, code: dept.code }]);
    await screenshot(consolePage, 'console-2-connected-notes-case');
  });

  it('shows 话后整理 when the caller hangs up', async () => {
    const live = lab.sim.channels().find((c) => !c.isOriginated);
    expect(live).toBeDefined();
    live!.hangup();
    await consolePage.locator('#call-card[data-phase=wrapup]').waitFor({ timeout: 5000 });
    expect(await consolePage.locator('#call-phase').textContent()).toBe('话后整理');
    expect(await consolePage.locator('#call-timer').textContent()).toMatch(/^通话时长 \d\d:\d\d$/);
    await screenshot(consolePage, 'console-3-wrapup');
    await consolePage.locator('#btn-wrapup-done').click();
    await consolePage.locator('#call-card[data-phase=idle]').waitFor();
  });

  it('shows a banner when the console socket drops and reconnects by itself', async () => {
    const wss = (lab.t.app.fastify as unknown as { websocketServer: { clients: Set<{ terminate(): void }> } }).websocketServer;
    for (const c of wss.clients) c.terminate();
    await consolePage.locator('#ws-banner').waitFor({ state: 'visible', timeout: 3000 });
    expect(await consolePage.locator('#ws-banner').textContent()).toContain('实时连接已断开');
    await consolePage.locator('#ws-banner').waitFor({ state: 'hidden', timeout: 5000 });
    await consolePage.waitForFunction(() => (window as unknown as { __h114: { wsOpen: boolean } }).__h114.wsOpen);
  });

  it('shows the dispatched case in the department inbox; staff sign it, see its history, resolve it with a reply', async () => {
    const page = await openPage(browser, errors);
    await signInAs(page, `${lab.baseUrl}/department/`, staff);
    await page.locator('#workspace').waitFor();
    expect(await page.locator('#dept-name').textContent()).toContain('区住建局');
    // The relay moves the dispatch into the department's queue: wait for it to count as waiting.
    await lab.waitFor(async () => {
      await page.locator('#btn-refresh').click();
      return (await page.locator('.count[data-key=waiting] .n').textContent()) === '1';
    }, 'the dispatched case waiting in the inbox', 10000);
    expect(await page.locator('#tickets').textContent()).toContain(trackingNo);
    await screenshot(page, 'department-1-waiting');

    await page.locator('#btn-claim').click();
    await page.waitForFunction((no) => document.querySelector('#detail-tracking')?.textContent?.includes(no), trackingNo);
    expect(await page.locator('#detail-status').textContent()).toBe('已签收');
    expect(await page.locator('#detail .history').textContent()).toContain('已派单');
    expect(await page.locator('#detail').textContent()).toContain('<b>不是标签</b>'); // the call note, as text

    await page.locator('#f-resolve-reply').fill('已联系供热公司上门检修，室温恢复到20℃。');
    await page.locator('#f-resolve button[type=submit]').click();
    await page.waitForFunction(() => document.querySelector('#detail-status')?.textContent?.startsWith('已办结'));
    expect(await page.locator('#detail .history').textContent()).toContain('已办结');
    await screenshot(page, 'department-2-resolved');
    const { rows } = await lab.t.app.db.query(`select status, reply, signed_by from cases where tracking_no = $1`, [trackingNo]);
    expect(rows).toEqual([{ status: 'resolved', reply: '已联系供热公司上门检修，室温恢复到20℃。', signed_by: staff.id }]);
    await page.close();
  });

  it('takes a help request on the portal; once dispatched and resolved in the inbox, the resident sees the reply', async () => {
    const portal = await openPage(browser, errors);
    await portal.goto(`${lab.baseUrl}/`);
    expect(new URL(portal.url()).pathname).toBe('/portal/');
    await portal.locator('#req-category option[value=heating]').waitFor({ state: 'attached' });
    await portal.locator('#req-category').selectOption('heating');
    await portal.locator('#req-description').fill('小区东门路灯连续三晚不亮，<script>alert(1)</script>');
    await portal.locator('#req-location').fill('和平区幸福路东门');
    await portal.locator('#req-phone').fill('139-0000-4321');
    await portal.locator('#btn-submit').click();
    await portal.locator('#request-accepted').waitFor();
    const webNo = (await portal.locator('#new-tracking-no').textContent()) ?? '';
    expect(webNo).toMatch(/^114-/);
    await screenshot(portal, 'portal-1-submitted');
    const { rows } = await lab.t.app.db.query<{ id: number; status: string; channel: string; description: string }>(
      `select id, status, channel, description from cases where tracking_no = $1`,
      [webNo],
    );
    expect(rows[0]).toMatchObject({ status: 'draft', channel: 'web' });
    expect(rows[0]!.description).toContain('<script>alert(1)</script>');

    // Web requests wait for a dispatcher (no dispatcher page yet: through the API).
    const dispatcher = await lab.t.createUser('dispatcher');
    const dispatched = await lab.t.inject({ method: 'POST', url: `/api/cases/${rows[0]!.id}/dispatch`, headers: dispatcher.headers, payload: { departmentCode: dept.code } });
    expect(dispatched.statusCode).toBe(200);

    const inbox = await openPage(browser, errors);
    await signInAs(inbox, `${lab.baseUrl}/department/`, staff);
    await lab.waitFor(async () => {
      await inbox.locator('#btn-refresh').click();
      return (await inbox.locator('.count[data-key=waiting] .n').textContent()) === '1';
    }, 'the web request waiting in the inbox', 10000);
    await inbox.locator('#btn-claim').click();
    await inbox.waitForFunction((no) => document.querySelector('#detail-tracking')?.textContent?.includes(no), webNo);
    expect(await inbox.locator('#detail').textContent()).toContain('<script>alert(1)</script>');
    await inbox.locator('#f-resolve-reply').fill('路灯已由城管所维修恢复。');
    await inbox.locator('#f-resolve button[type=submit]').click();
    await inbox.waitForFunction(() => document.querySelector('#detail-status')?.textContent?.startsWith('已办结'));
    await inbox.close();

    await portal.locator('#lk-tracking').fill(webNo);
    await portal.locator('#lk-last4').fill('0000');
    await portal.locator('#lookup-form button').click();
    await portal.locator('#status .notice-error').waitFor();
    expect(await portal.locator('#status').textContent()).toContain('不匹配');
    await portal.locator('#lk-last4').fill('4321');
    await portal.locator('#lookup-form button').click();
    await portal.locator('#status-reply').waitFor();
    expect(await portal.locator('#status-reply').textContent()).toBe('路灯已由城管所维修恢复。');
    expect(await portal.locator('#status-label').textContent()).toBe('已办结');
    expect(await portal.locator('#status').textContent()).toContain('区住建局');
    await portal.locator('#guides details summary').first().click();
    expect(await portal.locator('#guides details .pre').first().textContent()).toContain('报修电话');
    await screenshot(portal, 'portal-2-status');
    await portal.close();
  });

  it('supervisor page: live agent board, search with facets and safe <mark> snippets, case history, extension approval', async () => {
    // A case whose department asked for more time (set up through the API).
    const t = lab.t;
    const made = await t.inject({
      method: 'POST',
      url: '/api/cases',
      headers: supervisor.headers,
      payload: { title: '噪音扰民', description: '夜间施工噪音', departmentCode: dept.code },
    });
    expect(made.statusCode).toBe(201);
    const extCase = made.json<{ id: number; trackingNo: string }>();
    await lab.waitFor(async () => {
      const r = await t.inject({ method: 'POST', url: `/api/departments/${dept.code}/tickets/claim`, headers: staff.headers });
      return r.statusCode === 200;
    }, 'claim of the noise case', 10000);
    const ext = await t.inject({ method: 'POST', url: `/api/cases/${extCase.id}/extension`, headers: staff.headers, payload: { days: 5, reason: '需协调施工单位' } });
    expect(ext.statusCode).toBe(200);

    const page = await openPage(browser, errors);
    await signInAs(page, `${lab.baseUrl}/admin/`, supervisor);
    await page.locator(`#agents tr[data-agent="${agent.agentId}"]`).waitFor();
    expect(await page.locator(`#agents tr[data-agent="${agent.agentId}"]`).textContent()).toContain('李话务');
    expect(await page.locator('#live-summary').textContent()).toContain('排队 0 人');
    await page.locator('#kpi-tiles').waitFor(); // the KPI dashboard draws the last seven days at once

    await page.locator('#search-q').fill('路灯');
    await page.locator('#search-form button').click();
    await page.locator('#results .result').first().waitFor();
    expect(await page.locator('#results mark').count()).toBeGreaterThan(0);
    expect(await page.locator('#results mark').first().textContent()).toBe('路灯');
    // The web request's text holds a <script> tag: it is shown as text, never as an element.
    expect(await page.locator('#results').textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('#results script, #results img, #results b').count()).toBe(0);
    const before = await page.locator('#results .result').count();
    await page.locator('#facets button[data-facet=type][data-key=request]').click();
    await page.waitForFunction(() => document.querySelector('#active-filters button') !== null);
    const types = await page.locator('#results .result').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.type));
    expect(types.length).toBeGreaterThan(0);
    expect(types.length).toBeLessThanOrEqual(before);
    expect(new Set(types)).toEqual(new Set(['request']));
    await page.locator('#results .result a').first().click();
    await page.locator('#detail .history').waitFor();
    expect(await page.locator('#detail .history').textContent()).toContain('已办结');
    await screenshot(page, 'admin-1-search-board');

    await page.locator(`#extensions li[data-case="${extCase.id}"] button.primary`).click();
    await page.locator('#extensions').filter({ hasText: '暂无延期申请' }).waitFor();
    const { rows } = await t.app.db.query(`select status, extension_until is not null as extended from cases where id = $1`, [extCase.id]);
    expect(rows).toEqual([{ status: 'in_progress', extended: true }]);
    await screenshot(page, 'admin-2-approved');
    await page.close();
  });

  it('had no page errors and no Content-Security-Policy violations', () => {
    expect(errors).toEqual([]);
  });
});
