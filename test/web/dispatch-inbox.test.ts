// The dispatcher's work queue (待派单) and the department inbox by urgency, in real Chromium against a real service:
// waiting cases and web requests urgent first then oldest first, a department suggested from past dispatches of the
// same category in the same place (none without history, never a default), dispatching from the queue; the inbox
// with an overdue ticket first, countdowns, a pending extension shown as pending, keyboard-reachable rows, notices
// linking to their ticket, 签收下一件 taking the overdue ticket; no raw code on either page.
import type { Browser } from 'playwright-core';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { flushOutbox } from '../cases/helpers';
import { describeBrowser, launch, openPage, rawCodesOnPage, screenshot, signInAs } from './browser';

describeBrowser('dispatcher queue (待派单) and inbox by urgency', () => {
  let t: TestApp;
  let baseUrl = '';
  let browser: Browser;
  const errors: string[] = [];
  let dispatcher: TestUser;
  let staff: TestUser;
  const ids: Record<string, number> = {};
  const tracking: Record<string, string> = {};

  const post = async (u: TestUser | null, url: string, payload?: unknown) => {
    const res = await t.inject({ method: 'POST', url, headers: u?.headers ?? {}, ...(payload === undefined ? {} : { payload: payload as object }) });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json<{ id: number; trackingNo: string }>();
  };
  /** A web request (public intake) in a place; returns the case id. */
  const webRequest = async (category: string, location: string, description: string) => {
    const r = await post(null, '/api/public/requests', { category, location, description, phone: '13900001234' });
    const { rows } = await t.app.db.query<{ id: number }>(`select id from cases where tracking_no = $1`, [r.trackingNo]);
    tracking[description] = r.trackingNo;
    return rows[0]!.id;
  };

  beforeAll(async () => {
    browser = await launch();
    t = await build();
    await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.fastify.server.address();
    baseUrl = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : '';
    await t.app.db.query(
      `insert into departments (code, name) values ('aa-police', '公安局'), ('zjj', '区住建局'), ('cgj', '区城管局'), ('sw', '自来水公司')`,
    );
    await t.app.db.query(
      `insert into categories (code, name) values ('heat', '供暖问题'), ('noise', '噪音扰民'), ('leak', '管道漏水'), ('complain', '投诉')`,
    );
    // A leak must be fixed within 0.1 s (so its ticket is overdue at once); complaints get 13 working days.
    await t.app.db.query(
      `insert into sla_policies (name, urgency, category_code, priority, sign_minutes, resolve_minutes, resolve_working_days)
       values ('漏水（测试：0.1 秒）', null, 'leak', 20, 0.001, 0.002, null), ('投诉 13 个工作日', null, 'complain', 20, 30, null, 13)`,
    );
    dispatcher = await t.createUser('dispatcher', { displayName: '孙派单', username: 'sun.pd' });
    staff = await t.createUser('department_staff', { departmentCode: 'zjj', displayName: '赵办理', username: 'zhao.bl' });

    // History: heating in 和平区 went to 区住建局 twice; heating in 河西区 went to 区城管局 three times.
    for (const [place, dept, n] of [['和平区幸福路', 'zjj', 2], ['河西区解放路', 'cgj', 3]] as const) {
      for (let i = 0; i < n; i++) {
        const id = await webRequest('heat', `${place}${i + 1}号`, `历史供暖 ${dept} ${i}`);
        await post(dispatcher, `/api/cases/${id}/dispatch`, { departmentCode: dept });
      }
    }
    // Waiting: two web requests (oldest first) and an urgent phone-desk case created last.
    ids.heat = await webRequest('heat', '和平区建设路5号', '暖气不热，室温15度');
    ids.noise = await webRequest('noise', '南开区长江道', '夜间施工噪音');
    ids.urgent = (await post(dispatcher, '/api/cases', { description: '燃气味道很重', title: '疑似燃气泄漏', urgency: 'urgent' })).id;
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists every case waiting for a department, urgent first then oldest first, with a suggestion and no default', async () => {
    const api = await t.inject({ method: 'GET', url: '/api/dispatch/queue', headers: dispatcher.headers });
    expect(api.statusCode).toBe(200);
    const q = api.json<{ total: number; items: { id: number; suggestion: { departmentCode: string; samePlace: number } | null; place: string | null }[] }>();
    expect(q.items.map((k) => k.id)).toEqual([ids.urgent, ids.heat, ids.noise]);
    expect(q.total).toBe(3);
    // Same category, same place (和平区): 区住建局, though 区城管局 has more heating dispatches overall.
    expect(q.items[1]).toMatchObject({ place: '和平区', suggestion: { departmentCode: 'zjj', samePlace: 2 } });
    expect(q.items[2]!.suggestion).toBeNull();
    expect(q.items[0]!.suggestion).toBeNull();
    expect((await t.inject({ method: 'GET', url: '/api/dispatch/queue', headers: staff.headers })).statusCode).toBe(403);

    const page = await openPage(browser, errors);
    await signInAs(page, `${baseUrl}/admin/`, dispatcher);
    await page.locator('#queue-list .queue-item').first().waitFor();
    const order = await page.locator('#queue-list .queue-item').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.case)));
    expect(order).toEqual([ids.urgent, ids.heat, ids.noise]);
    const heat = page.locator(`#queue-list .queue-item[data-case="${ids.heat}"]`);
    expect(await heat.locator('.suggested-dept').textContent()).toBe('区住建局');
    expect(await heat.locator('.suggestion').textContent()).toContain('和平区的“供暖问题”诉求曾 2 次派往该部门');
    expect(await page.locator(`#queue-list .queue-item[data-case="${ids.noise}"] .suggestion`).textContent()).toBe('无历史派单可参考，请选择部门');
    // No department is chosen for the dispatcher (the old page defaulted to the first one, 公安局).
    expect(await heat.locator('select').inputValue()).toBe('');
    expect(await heat.locator('button[data-action=dispatch]').isDisabled()).toBe(true);
    expect(await rawCodesOnPage(page)).toEqual([]);
    await screenshot(page, 'dispatch-1-queue');

    await heat.locator('button[data-action=accept]').click();
    expect(await heat.locator('select').inputValue()).toBe('zjj');
    await heat.locator('button[data-action=dispatch]').click();
    await page.locator(`#queue-list .queue-item[data-case="${ids.heat}"]`).waitFor({ state: 'detached' });
    const { rows } = await t.app.db.query(`select c.status, d.code from cases c join departments d on d.id = c.department_id where c.id = $1`, [ids.heat]);
    expect(rows).toEqual([{ status: 'dispatched', code: 'zjj' }]);
    await page.close();
  });

  it('inbox: overdue ticket first, countdowns, pending extension as pending, keyboard rows, notices linking, 签收下一件 takes the overdue one', async () => {
    // Besides the heating ticket (3 working days): a complaint (13 working days), then a leak (overdue at once).
    ids.complaint = (await post(dispatcher, '/api/cases', { description: '物业不作为', categoryId: await cat('complain'), departmentCode: 'zjj' })).id;
    ids.extended = (await post(dispatcher, '/api/cases', { description: '楼道墙皮脱落', departmentCode: 'zjj' })).id;
    ids.leak = (await post(dispatcher, '/api/cases', { description: '楼下管道漏水', categoryId: await cat('leak'), departmentCode: 'zjj' })).id;
    await flushOutbox(t);
    // The extension case: signed directly, then an extension requested (pending until approved).
    await post(staff, `/api/cases/${ids.extended}/sign`);
    await post(staff, `/api/cases/${ids.extended}/extension`, { days: 5, reason: '需协调施工单位' });
    const ext = (await t.app.db.query<{ resolve_deadline: Date; extension_until: Date }>(`select resolve_deadline, extension_until from cases where id = $1`, [ids.extended])).rows[0]!;

    const page = await openPage(browser, errors);
    await signInAs(page, `${baseUrl}/department/`, staff);
    await page.locator('#tickets tr[data-id]').first().waitFor();
    // The leak's notices (签收超时, 黄牌, 红牌, 督办) come from SLA timers: wait until they are there.
    await waitFor(async () => {
      await page.locator('#btn-refresh').click();
      return (await page.locator(`#notices li[data-case="${ids.leak}"]`).count()) > 0;
    }, 'notices of the overdue leak');
    const rows = await page.locator('#tickets tr[data-id]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
    // (The two earlier heating tickets of the history are in this inbox too, due before the new heating one.)
    expect(rows[0]).toBe(ids.leak);
    const mine = new Set([ids.leak, ids.heat, ids.extended, ids.complaint]);
    expect(rows.filter((id) => mine.has(id))).toEqual([ids.leak, ids.heat, ids.extended, ids.complaint]);
    expect(rows).toHaveLength(6);
    const first = page.locator(`#tickets tr[data-id="${ids.leak}"]`);
    expect(await first.getAttribute('class')).toContain('sla-red');
    expect(await first.locator('.countdown').textContent()).toMatch(/^已超期 \d+ 分钟$/);
    expect(await page.locator(`#tickets tr[data-id="${ids.heat}"] .countdown`).textContent()).toMatch(/^剩余 \d+ (小时|天)$/);
    // The pending extension: the deadline stays the current one; the requested date is labelled as pending.
    const extRow = page.locator(`#tickets tr[data-id="${ids.extended}"]`);
    expect(await extRow.locator('.pending-extension').textContent()).toContain('（待审批）');
    const shown = (await extRow.locator('td').nth(3).textContent()) ?? '';
    const fmt = (d: Date) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', dateStyle: 'short', timeStyle: 'short' }).format(d);
    expect(shown.startsWith(fmt(ext.resolve_deadline))).toBe(true);
    expect(shown).toContain(`申请延至 ${fmt(ext.extension_until)}`);
    expect(await rawCodesOnPage(page)).toEqual([]);
    await screenshot(page, 'department-3-by-urgency');

    // Keyboard: rows take the focus, arrows move, Enter opens.
    await first.focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id)).toBe(String(rows[1]));
    await page.keyboard.press('Enter');
    const secondNo = (await t.app.db.query<{ tracking_no: string }>(`select tracking_no from cases where id = $1`, [rows[1]])).rows[0]!.tracking_no;
    await page.waitForFunction((no) => document.querySelector('#detail-tracking')?.textContent?.includes(no), secondNo);

    // A notice opens its ticket.
    const leakNo = (await t.app.db.query<{ tracking_no: string }>(`select tracking_no from cases where id = $1`, [ids.leak])).rows[0]!.tracking_no;
    await page.locator(`#notices li[data-case="${ids.leak}"] a.notice-case`).first().click();
    await page.waitForFunction((no) => document.querySelector('#detail-tracking')?.textContent?.includes(no), leakNo);

    // 签收下一件: the overdue leak, though the heating ticket was dispatched before it.
    await page.locator('#btn-claim').click();
    await page.locator('#message.notice-ok').waitFor();
    expect(await page.locator('#message').textContent()).toBe(`已签收工单 ${leakNo}`);
    const signed = await t.app.db.query(`select status from cases where id = $1`, [ids.leak]);
    expect(signed.rows).toEqual([{ status: 'signed' }]);
    await page.close();
  });

  it('had no page errors and no Content-Security-Policy violations', () => {
    expect(errors).toEqual([]);
  });

  async function cat(code: string): Promise<number> {
    return (await t.app.db.query<{ id: number }>(`select id from categories where code = $1`, [code])).rows[0]!.id;
  }

  async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    }
  }
});
