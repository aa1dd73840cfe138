// The agent console as a hotline floor uses it, in real Chromium at 1366×768 (the usual operator laptop) against a
// real service and the Asterisk simulator: every call control inside the viewport during a call with a long
// history, the ring alert (tone, notification, title flash) starting on the offer and stopping on answer, keyboard
// shortcuts, the caller record corrected from the pop, a blind transfer nobody answers coming back with
// 转接失败，来电已回到您这里, and 完成整理 ending the wrap-up on the server.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLab, type CallLab } from '../helpers/telephony';
import type { TestUser } from '../helpers/build';
import { describeBrowser, launch, rawCodesOnPage, screenshot, signInAs } from './browser';

const CALLER = '13811112222';

/** Every control an agent needs during a call (seat state, call bar, note save). */
const CALL_CONTROLS = [
  '#btn-ready', '#btn-pause', '#pause-reason', '#btn-logout',
  '#btn-hangup', '#btn-wrapup-done', '#transfer-dept', '#btn-transfer-blind', '#btn-transfer-3way',
  '#btn-transfer-complete', '#btn-transfer-cancel', '#btn-police', '#btn-shortcuts',
  '#note-category', '#note-content', '#note-resolved', '#btn-save-note', '#btn-caller-edit',
];

interface Probe {
  ring: { active: boolean; tone: boolean; notified: boolean; titleFlashes: number; started: number; stopped: number };
}

describeBrowser('agent console for the floor (1366×768)', () => {
  let lab: CallLab;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  let agent: TestUser;
  let callerId = 0;

  const probe = () => page.evaluate(() => (window as unknown as { __h114: Probe }).__h114.ring);

  beforeAll(async () => {
    browser = await launch();
    lab = await startLab({ env: { CALL_RING_TIMEOUT_SEC: '20', CALL_WRAPUP_SEC: '600', CALL_TRANSFER_RING_SEC: '5' } });
    const { t, sim } = lab;
    agent = await t.createUser('agent', { displayName: '周话务', username: 'zhou.hw' });
    const { rows } = await t.app.db.query<{ extension: string }>('select extension from agents where id = $1', [agent.agentId]);
    sim.addEndpoint(`agent${rows[0]!.extension}`, { context: 'from-agents', behavior: { answerAfterMs: 1500 } });
    await t.app.db.query(`insert into departments (code, name, sip_endpoint) values ('water', '自来水公司', 'PJSIP/dept-water')`);
    sim.addEndpoint('dept-water', { context: 'from-trunk', behavior: { ring: 'forever' } });

    // A caller with a long history: the pop's lists must not push the call controls below the fold.
    const supervisor = await t.createUser('supervisor');
    const created = await t.inject({
      method: 'POST',
      url: '/api/callers',
      headers: supervisor.headers,
      payload: { number: CALLER, name: '钱女士', address: '建设路88号2单元', district: '和平区', note: '老人独居，说话慢', vip: true },
    });
    expect(created.statusCode).toBe(201);
    callerId = created.json<{ id: number }>().id;
    for (let i = 1; i <= 8; i++) {
      await t.app.db.query(
        `insert into calls (id, node_id, channel_id, caller_number, caller_id, state, outcome, started_at, ended_at)
         values (gen_random_uuid(), 'old', $1, $2, $3, 'ended', $4, now() - ($5 || ' days')::interval, now() - ($5 || ' days')::interval)`,
        [`old-${i}`, CALLER, callerId, i % 3 === 0 ? 'abandoned' : 'answered', String(i)],
      );
    }
    for (let i = 1; i <= 4; i++) {
      const r = await t.inject({
        method: 'POST',
        url: '/api/cases',
        headers: supervisor.headers,
        payload: { title: `第${i}次反映：楼上漏水导致天花板渗水，物业多次协调未果`, description: '详见通话记录', contactPhone: CALLER },
      });
      expect(r.statusCode).toBe(201);
    }

    context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await context.grantPermissions(['notifications']);
    page = await context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) errors.push(`csp: ${msg.text()}`);
    });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await lab?.close();
  });

  it('signs in; the 未签入 badge is dark text on a light background; 签入 makes the seat ready', async () => {
    await signInAs(page, `${lab.baseUrl}/console/`, agent);
    await page.waitForFunction(() => (window as unknown as { __h114: { wsOpen: boolean } }).__h114.wsOpen);
    const contrast = await page.locator('#agent-state').evaluate((e) => {
      const rgb = (s: string) => (s.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: number[]) => {
        const [r, g, b] = c.map((v) => {
          const x = v / 255;
          return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const s = getComputedStyle(e);
      const [a, b] = [lum(rgb(s.color)), lum(rgb(s.backgroundColor))];
      return { text: e.textContent, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
    });
    expect(contrast.text).toBe('未签入');
    expect(contrast.ratio).toBeGreaterThanOrEqual(7);
    // Nothing but 签入 is possible while signed out.
    expect(await page.locator('#btn-ready').isDisabled()).toBe(true);
    expect(await page.locator('#btn-logout').isDisabled()).toBe(true);
    await page.locator('#btn-login').click();
    await page.locator('#agent-state[data-state=ready]').waitFor();
    expect(await page.locator('#btn-ready').isDisabled()).toBe(true);
    expect(await page.locator('#btn-hangup').isDisabled()).toBe(true);
  });

  it('rings with a tone, a desktop notification and a flashing title until the call is answered', async () => {
    const before = await probe();
    lab.sim.dial({ from: 'caller-floor', callerNumber: CALLER, app: 'hotline114', appArgs: ['inbound'] });
    await page.locator('#callbar[data-phase=ringing]').waitFor({ timeout: 5000 });
    const ringing = await probe();
    expect(ringing.active).toBe(true);
    expect(ringing.started).toBe(before.started + 1);
    expect(ringing.tone).toBe(true);
    expect(ringing.notified).toBe(true);
    await page.waitForFunction(() => document.title.startsWith('【来电】'));
    await page.waitForFunction(() => (window as unknown as { __h114: Probe }).__h114.ring.titleFlashes >= 2);
    // While it rings: no hang-up (that would drop the caller), no 就绪/签出.
    expect(await page.locator('#btn-hangup').isDisabled()).toBe(true);
    expect(await page.locator('#btn-ready').isDisabled()).toBe(true);
    expect(await page.locator('#btn-logout').isDisabled()).toBe(true);

    await page.locator('#callbar[data-phase=connected]').waitFor({ timeout: 5000 });
    const answered = await probe();
    expect(answered.active).toBe(false);
    expect(answered.stopped).toBe(before.stopped + 1);
    expect(await page.title()).toBe('坐席工作台 · 114阳光政务服务热线');
  });

  it('shows every call control inside the 1366×768 viewport during the call with a long history', async () => {
    expect(await page.locator('#recent-calls li').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('#open-cases li').count()).toBe(4);
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    const outside: string[] = [];
    for (const sel of CALL_CONTROLS) {
      const box = await page.locator(sel).boundingBox();
      if (!box || box.x < 0 || box.y < 0 || box.x + box.width > 1366 || box.y + box.height > 768) outside.push(`${sel} ${JSON.stringify(box)}`);
    }
    expect(outside).toEqual([]);
    expect(await page.locator('#btn-hangup').isEnabled()).toBe(true);
    expect(await page.locator('#btn-transfer-blind').isEnabled()).toBe(true);
    expect(await page.locator('#btn-wrapup-done').isDisabled()).toBe(true);
    await screenshot(page, 'console-floor-1-connected-1366x768');
    expect(await rawCodesOnPage(page)).toEqual([]);
  });

  it('works from the keyboard: Alt+N writes the note, Alt+S saves it', async () => {
    await page.keyboard.press('Alt+KeyN');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('note-content');
    await page.keyboard.type('来电反映楼上漏水，已告知将派物业协调。');
    await page.keyboard.press('Alt+KeyS');
    await page.locator('#notes li').first().waitFor();
    const { rows } = await lab.t.app.db.query(`select n.content from call_notes n join calls c on c.id = n.call_id where c.caller_number = $1`, [CALLER]);
    expect(rows).toEqual([{ content: '来电反映楼上漏水，已告知将派物业协调。' }]);
    await page.locator('#btn-shortcuts').click();
    expect(await page.locator('#shortcuts').textContent()).toContain('Alt+H 挂断');
    await page.locator('#btn-shortcuts').click();
  });

  it('corrects the caller record from the pop', async () => {
    await page.locator('#btn-caller-edit').click();
    await page.locator('#cf-name').fill('钱秀英');
    await page.locator('#cf-address').fill('建设路88号2单元301');
    await page.locator('#btn-caller-save').click();
    await page.locator('#caller-form').waitFor({ state: 'hidden' });
    expect(await page.locator('#caller-name').textContent()).toBe('钱秀英');
    const { rows } = await lab.t.app.db.query(`select name, address, district, vip from callers where id = $1`, [callerId]);
    expect(rows).toEqual([{ name: '钱秀英', address: '建设路88号2单元301', district: '和平区', vip: true }]);
  });

  it('creates a case from the call: the agent sees the tracking number and the lookup code to read to the caller', async () => {
    await page.locator('#case-title').fill('楼上漏水');
    await page.locator('#btn-create-case').click();
    await page.locator('#case-created').waitFor();
    const no = (await page.locator('#case-created .tracking-no').textContent()) ?? '';
    const code = (await page.locator('#case-created .lookup-code').textContent()) ?? '';
    expect(no).toMatch(/^114-\d{8}-\d{6}$/);
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}$/);
    expect(await page.locator('#case-created .read-out').textContent()).toContain(`受理编号 ${no}，查询码 ${code}`);
    const { rows } = await lab.t.app.db.query<{ channel: string; hashed: boolean }>(
      `select channel, lookup_code_hash is not null as hashed from cases where tracking_no = $1`,
      [no],
    );
    expect(rows).toEqual([{ channel: 'phone', hashed: true }]);
    expect(await rawCodesOnPage(page)).toEqual([]);
  });

  it('a blind transfer nobody answers: 转接失败，来电已回到您这里, and the caller rings here again', async () => {
    const pops = await page.evaluate(() => (window as unknown as { __h114: { pops: number } }).__h114.pops);
    await page.locator('#transfer-dept').selectOption('water');
    await page.keyboard.press('Alt+KeyT');
    await page.locator('#callbar[data-phase=wrapup]').waitFor();
    await page.waitForFunction(() => document.querySelector('#transfer-status')?.textContent?.includes('等待对方接听'));
    // CALL_TRANSFER_RING_SEC=5: the department never answers, the service offers the caller back to this agent.
    await page.waitForFunction((n) => (window as unknown as { __h114: { pops: number } }).__h114.pops > n, pops, { timeout: 15000 });
    await page.locator('#call-notice').waitFor();
    expect(await page.locator('#call-notice').textContent()).toBe('转接失败，来电已回到您这里');
    expect(await page.locator('#transfer-status').textContent()).toContain('转接失败');
    expect(await page.locator('#message').textContent()).toContain('转接失败');
    expect((await probe()).active).toBe(true);
    await screenshot(page, 'console-floor-2-transfer-failed');
    await page.locator('#callbar[data-phase=connected]').waitFor({ timeout: 5000 });
    expect((await probe()).active).toBe(false);
    const tr = await lab.t.app.db.query(`select t.result from call_transfers t join calls c on c.id = t.call_id where c.caller_number = $1`, [CALLER]);
    expect(tr.rows).toEqual([{ result: 'no_answer' }]);
  });

  it('完成整理 ends the wrap-up on the server (CALL_WRAPUP_SEC=600)', async () => {
    const caller = lab.sim.channels().find((c) => !c.isOriginated && c.state !== 'destroyed');
    expect(caller).toBeDefined();
    caller!.hangup();
    await page.locator('#callbar[data-phase=wrapup]').waitFor({ timeout: 5000 });
    await page.locator('#agent-state[data-state=wrap_up]').waitFor();
    // The console hears "ended" first, then the ACD puts the agent into wrap-up.
    await lab.waitFor(async () => (await lab.t.app.acd.get(agent.agentId!)).state === 'wrap_up', 'wrap-up in the ACD');
    expect(await page.locator('#btn-hangup').isDisabled()).toBe(true);
    await screenshot(page, 'console-floor-3-wrapup');
    expect(await rawCodesOnPage(page)).toEqual([]);
    await page.keyboard.press('Alt+KeyW');
    await page.locator('#callbar[data-phase=idle]').waitFor();
    await page.locator('#agent-state[data-state=ready]').waitFor();
    const live = await lab.t.app.acd.get(agent.agentId!);
    expect(live.state).toBe('ready');
    expect(live.wrapUntil).toBeNull();
    expect(await lab.t.app.acd.eligibleCount()).toBe(1);
    // Asked again outside wrap-up: a readable 409.
    const again = await lab.t.inject({ method: 'POST', url: '/api/agents/me/wrapup/done', headers: agent.headers });
    expect(again.statusCode).toBe(200);
    await lab.t.inject({ method: 'POST', url: '/api/agents/me/pause', headers: agent.headers, payload: { reason: '休息' } });
    const paused = await lab.t.inject({ method: 'POST', url: '/api/agents/me/wrapup/done', headers: agent.headers });
    expect(paused.statusCode).toBe(409);
    expect(paused.json()).toMatchObject({ error: 'agent_not_wrap_up', message: '当前不在话后整理中' });
  });

  it('had no page errors and no Content-Security-Policy violations', () => {
    expect(errors).toEqual([]);
  });
});
