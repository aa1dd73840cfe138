// A case opened by phone, seen from the resident's side in real Chromium at 390 px (a phone): the agent's case
// creation returns a lookup code (and hands number + code to the SMS gateway adapter when one is configured), the
// portal finds the case with that code or with the phone's last four digits, a failed submission clears an earlier
// success box, nothing is wider than the screen, and no raw code is on the page.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { describeBrowser, launch, rawCodesOnPage, screenshot } from './browser';

const CALLER = '13912345678';

describeBrowser('phone-created cases on the resident portal (390 px)', () => {
  let t: TestApp;
  let baseUrl = '';
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let agent: TestUser;
  let sms: http.Server;
  const texts: { to: string; text: string; auth: string | undefined }[] = [];
  let trackingNo = '';
  let lookupCode = '';

  beforeAll(async () => {
    // The SMS gateway adapter: a webhook receiving {to, text} (SMS_WEBHOOK_URL, read with the configuration).
    sms = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        texts.push({ ...(JSON.parse(body) as { to: string; text: string }), auth: req.headers.authorization });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => sms.listen(0, '127.0.0.1', r));
    t = await build({ env: { SMS_WEBHOOK_URL: `http://127.0.0.1:${(sms.address() as AddressInfo).port}/sms`, SMS_WEBHOOK_TOKEN: 'sms-secret' } });
    await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.fastify.server.address();
    baseUrl = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : '';
    await t.app.db.query(`insert into departments (code, name) values ('zjj', '区住建局')`);
    await t.app.db.query(`insert into categories (code, name) values ('heat', '供暖问题')`);
    agent = await t.createUser('agent', { username: 'li.hw' });
    browser = await launch();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', isMobile: true, hasTouch: true });
    page = await context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((r) => sms?.close(r));
  });

  it('a case created from a call gets a lookup code, sent by the SMS gateway adapter', async () => {
    const { rows } = await t.app.db.query<{ id: string }>(
      `insert into calls (id, node_id, channel_id, caller_number, state, outcome, agent_id, started_at)
       values (gen_random_uuid(), 'test', 'ch-portal', $1, 'ended', 'answered', $2, now()) returning id`,
      [CALLER, agent.agentId],
    );
    const res = await t.inject({
      method: 'POST',
      url: `/api/calls/${rows[0]!.id}/case`,
      headers: agent.headers,
      payload: { title: '暖气不热', description: '和平区幸福路1号暖气不热', departmentCode: 'zjj' },
    });
    expect(res.statusCode).toBe(201);
    const c = res.json<{ trackingNo: string; lookupCode: string; smsSent: boolean; channel: string }>();
    expect(c.channel).toBe('phone');
    expect(c.lookupCode).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}$/);
    expect(c.smsSent).toBe(true);
    trackingNo = c.trackingNo;
    lookupCode = c.lookupCode;
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatchObject({ to: CALLER, auth: 'Bearer sms-secret' });
    expect(texts[0]!.text).toContain(`受理编号 ${trackingNo}，查询码 ${lookupCode}`);
  });

  it('the portal finds the phone-created case with the lookup code, and with the last four digits of the phone', async () => {
    await page.goto(`${baseUrl}/portal/`);
    await page.locator('#lk-tracking').fill(trackingNo);
    await page.locator('#lk-last4').fill(lookupCode.toLowerCase().replace(/-/g, ' '));
    await page.locator('#lookup-form button').click();
    await page.locator('#status-label').waitFor();
    expect(await page.locator('#status h3').first().textContent()).toContain(trackingNo);
    expect(await page.locator('#status-label').textContent()).toBe('已派单');
    expect(await page.locator('#status').textContent()).toContain('区住建局');
    // Personal data never shows on the public page.
    expect(await page.locator('#status').textContent()).not.toContain(CALLER);
    await screenshot(page, 'portal-3-phone-case-390px');

    await page.locator('#lk-last4').fill('0000');
    await page.locator('#lookup-form button').click();
    await page.locator('#status .notice-error').waitFor();
    expect(await page.locator('#status-label').count()).toBe(0);
    await page.locator('#lk-last4').fill(CALLER.slice(-4));
    await page.locator('#lookup-form button').click();
    await page.locator('#status-label').waitFor();
    expect(await page.locator('#status h3').first().textContent()).toContain(trackingNo);
    expect(await rawCodesOnPage(page)).toEqual([]);
  });

  it('at 390 px nothing overflows the screen; the search and lookup buttons are inside it', async () => {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const sel of ['#guide-form button[type=submit]', '#lookup-form button', '#btn-submit', '#guide-q', '#guide-kind']) {
      const box = await page.locator(sel).boundingBox();
      expect([sel, box !== null && box.x >= 0 && box.x + box.width <= 390]).toEqual([sel, true]);
    }
  });

  it('after a network error the previous success box is gone, and the form keeps what was typed', async () => {
    await page.locator('#req-category option[value=heat]').waitFor({ state: 'attached' });
    await page.locator('#req-category').selectOption('heat');
    await page.locator('#req-description').fill('楼道灯不亮');
    await page.locator('#req-location').fill('和平区幸福路2号');
    await page.locator('#btn-submit').click();
    await page.locator('#request-accepted').waitFor();

    await page.route('**/api/public/requests', (route) => route.abort('connectionfailed'));
    await page.locator('#req-category').selectOption('heat');
    await page.locator('#req-description').fill('第二次提交');
    await page.locator('#req-location').fill('和平区幸福路3号');
    await page.locator('#btn-submit').click();
    await page.locator('#request-failed').waitFor();
    expect(await page.locator('#request-accepted').count()).toBe(0);
    expect(await page.locator('#request-failed').textContent()).toContain('无法连接服务器');
    expect(await page.locator('#req-description').inputValue()).toBe('第二次提交');
    await screenshot(page, 'portal-4-network-error-390px');
    await page.unroute('**/api/public/requests');
  });

  it('had no page errors', () => {
    expect(errors).toEqual([]);
  });
});
