// Issue 12 item 1 in real Chromium: every staff page starts at the one Chinese sign-in form; password sign-in,
// lockout after repeated wrong passwords, sign-out here and everywhere, the forced password change after an admin
// reset, and a form posted from another origin refused (same-site: no CSRF token → 403; cross-site: the Strict
// cookie is not even sent → 401), with the victim's session intact.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { build, type TestApp, type TestUser } from '../helpers/build';
import { describeBrowser, launch, openPage, screenshot, signInAs } from './browser';

describeBrowser('sign-in in the browser', () => {
  let t: TestApp;
  let baseUrl = '';
  let browser: Browser;
  const errors: string[] = [];
  let staff: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    browser = await launch();
    t = await build({ env: { SIGNIN_LOCK_AFTER: '3', SIGNIN_LOCK_BASE_SEC: '2', SIGNIN_RATE_PER_MIN: '10000' } });
    await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(t.app.fastify.server.address() as AddressInfo).port}`;
    staff = await t.createUser('department_staff', { displayName: '赵办理', username: 'zhao.bl' });
    admin = await t.createUser('admin', { displayName: '钱管理', username: 'qian.gl' });
  }, 30000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  afterEach(() => {
    expect(errors).toEqual([]);
  });

  const message = (page: Page) => page.locator('#message').textContent();

  async function fillSignIn(page: Page, username: string, password: string): Promise<void> {
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(password);
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/auth/signin')), page.locator('#btn-signin').click()]);
  }

  /** After a refused attempt: the form is ready again and shows this message. */
  async function refused(page: Page, text: RegExp): Promise<string> {
    await page.locator('#btn-signin:not([disabled])').waitFor();
    await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#message')?.textContent ?? ''), text.source);
    return (await message(page)) ?? '';
  }

  it('sends every staff page to the Chinese sign-in form, and back to the page after signing in', async () => {
    const page = await openPage(browser, errors);
    for (const p of ['console', 'department', 'admin']) {
      await page.goto(`${baseUrl}/${p}/`);
      await page.waitForURL(`${baseUrl}/signin/?next=${encodeURIComponent(`/${p}/`)}`);
      await page.locator('#signin').waitFor();
    }
    expect(await page.locator('#signin h2').textContent()).toBe('账号登录');
    expect(await page.locator('label[for=username]').textContent()).toBe('用户名');
    expect(await page.locator('label[for=password]').textContent()).toBe('密码');
    expect(await page.locator('#btn-signin').textContent()).toBe('登录');
    await page.setViewportSize({ width: 1366, height: 768 });
    await screenshot(page, 'signin-page');

    await page.goto(`${baseUrl}/department/`);
    await page.waitForURL(/\/signin\//);
    await fillSignIn(page, staff.username, 'not-my-password-1');
    expect(await refused(page, /用户名或密码错误/)).toBe('用户名或密码错误');
    expect(await page.locator('#password').inputValue()).toBe(''); // cleared for the next try
    await fillSignIn(page, staff.username, staff.password);
    await page.waitForURL(`${baseUrl}/department/`);
    await page.locator('#workspace').waitFor();
    expect(await page.locator('#who').textContent()).toContain('赵办理');
    // The session cookie is not readable by the page; nothing is kept in web storage.
    expect(await page.evaluate(() => document.cookie + sessionStorage.length + localStorage.length)).toBe('00');
    // Signed in already: the sign-in page goes straight on to the role's page.
    await page.goto(`${baseUrl}/signin/`);
    await page.waitForURL(`${baseUrl}/department/`);
    await page.context().close();
  }, 60000);

  it('locks the account after repeated wrong passwords, refuses even the right one while locked, then lets in', async () => {
    const user = await t.createUser('dispatcher', { displayName: '孙派单' });
    const page = await openPage(browser, errors);
    await page.goto(`${baseUrl}/signin/`);
    await page.locator('#signin').waitFor();
    for (let i = 1; i <= 2; i++) {
      await fillSignIn(page, user.username, `wrong-guess-${i}`);
      expect(await refused(page, /^用户名或密码错误$/)).toBe('用户名或密码错误');
    }
    await fillSignIn(page, user.username, 'wrong-guess-3');
    expect(await refused(page, /已临时锁定/)).toMatch(/^密码错误次数过多，账号已临时锁定，请 \d+ 秒后再试$/);
    await screenshot(page, 'signin-locked');
    await page.evaluate(() => (document.querySelector('#message')!.textContent = ''));
    await fillSignIn(page, user.username, user.password);
    await refused(page, /已临时锁定/);
    expect(page.url()).toContain('/signin/');

    const deadline = Date.now() + 10_000;
    while ((await t.app.db.query(`select 1 from users where id = $1 and locked_until < now()`, [user.id])).rowCount === 0) {
      if (Date.now() > deadline) throw new Error('lock did not expire');
      await page.waitForTimeout(50); // polling the database, not waiting for something to happen
    }
    await fillSignIn(page, user.username, user.password);
    await page.waitForURL(`${baseUrl}/admin/`);
    const row = await t.app.db.query(`select failed_signins, locked_until from users where id = $1`, [user.id]);
    expect(row.rows[0]).toEqual({ failed_signins: 0, locked_until: null });
    await page.context().close();
  }, 60000);

  it('signs out here, and everywhere: the other browser is sent back to sign-in', async () => {
    const user = await t.createUser('department_staff', { displayName: '周部门' });
    const first = await openPage(browser, errors);
    const second = await openPage(browser, errors);
    await signInAs(first, `${baseUrl}/department/`, user);
    await signInAs(second, `${baseUrl}/department/`, user);

    await first.locator('#btn-signout').click();
    await first.waitForURL(`${baseUrl}/signin/?signedout=1`);
    expect(await message(first)).toBe('您已退出登录');
    expect(await first.context().cookies()).toEqual([]);
    await first.goto(`${baseUrl}/department/`);
    await first.waitForURL(/\/signin\/\?next=/);
    // The other browser is still signed in.
    await second.reload();
    await second.locator('#workspace').waitFor();
    expect(second.url()).toBe(`${baseUrl}/department/`);

    await signInAs(first, `${baseUrl}/department/`, user);
    first.once('dialog', (d) => void d.accept());
    await first.locator('#btn-signout-all').click();
    await first.waitForURL(/\/signin\/\?signedout=1/);
    await second.reload();
    await second.waitForURL(/\/signin\/\?next=/);
    await second.locator('#signin').waitFor();
    await first.context().close();
    await second.context().close();
  }, 60000);

  it('an agent disabled by an admin leaves the open console for the sign-in page at once, and cannot sign in again', async () => {
    const agent = await t.createUser('agent', { displayName: '冯话务' });
    const page = await openPage(browser, errors);
    await signInAs(page, `${baseUrl}/console/`, agent);
    await page.waitForFunction(() => (window as unknown as { __h114: { wsOpen: boolean } }).__h114.wsOpen);
    const res = await t.inject({ method: 'POST', url: `/api/admin/users/${agent.id}/disable`, headers: admin.headers });
    expect(res.statusCode).toBe(204);
    // The server closes the console's socket (4401); the console reloads and is sent to sign in.
    await page.waitForURL(`${baseUrl}/signin/?next=${encodeURIComponent('/console/')}`);
    await fillSignIn(page, agent.username, agent.password);
    expect(await refused(page, /停用/)).toBe('该账号已被停用，请联系管理员');
    await page.context().close();
  }, 60000);

  it('forces a new password at the first sign-in after an admin reset', async () => {
    const user = await t.createUser('department_staff', { displayName: '吴新人' });
    const reset = await t.inject({ method: 'POST', url: `/api/admin/users/${user.id}/password`, headers: admin.headers });
    const temp = reset.json<{ temporaryPassword: string }>().temporaryPassword;
    const page = await openPage(browser, errors);
    await page.goto(`${baseUrl}/department/`);
    await page.waitForURL(/\/signin\//);
    await fillSignIn(page, user.username, temp);
    await page.locator('#change').waitFor();
    expect(await page.locator('#change h2').textContent()).toBe('修改密码');
    expect(await page.locator('#change-why').textContent()).toContain('首次登录或密码已被管理员重置');
    await screenshot(page, 'signin-change-password');

    // Until the password is changed, the page itself stays closed: it sends the browser back to the change form.
    await page.goto(`${baseUrl}/department/`);
    await page.waitForURL(/\/signin\/\?next=.*change=1/).catch(async (err: unknown) => {
      throw new Error(`${String(err)} at ${page.url()}: ${await page.locator('body').innerText()}`);
    });
    await page.locator('#change').waitFor();

    const change = async (current: string, next: string, again = next) => {
      await page.locator('#current-password').fill(current);
      await page.locator('#new-password').fill(next);
      await page.locator('#new-password-2').fill(again);
      await page.locator('#btn-change').click();
    };
    await change(temp, 'new-pass-2026', 'new-pass-2027');
    await page.waitForFunction(() => document.querySelector('#message')?.textContent === '两次输入的新密码不一致');
    await change(temp, '12345678');
    await page.waitForFunction(() => document.querySelector('#message')?.textContent === '新密码须同时包含数字和字母（或其他字符）');
    await change(temp, 'new-pass-2026');
    await page.waitForURL(`${baseUrl}/department/`);
    await page.locator('#workspace').waitFor();
    const row = await t.app.db.query(`select must_change_password from users where id = $1`, [user.id]);
    expect(row.rows[0]).toEqual({ must_change_password: false });
    await page.context().close();
  }, 60000);

  it('an admin creates a user with a temporary password, disables and enables them on the users page', async () => {
    const page = await openPage(browser, errors);
    await signInAs(page, `${baseUrl}/admin/`, admin);
    await page.locator('#link-users').click();
    await page.waitForURL(`${baseUrl}/users/`);
    await page.locator('#new-username').fill('chen.hw');
    await page.locator('#new-name').fill('陈话务');
    await page.locator('#new-role').selectOption('agent');
    await page.locator('#new-ext').fill('8801');
    await page.locator('#create button[type=submit]').click();
    const temp = (await page.locator('#temp-password').textContent()) ?? '';
    expect(temp).toMatch(/^[A-Za-z0-9]{12}$/);
    const newRow = page.locator('tr[data-user="chen.hw"]');
    expect(await newRow.locator('td').allTextContents()).toEqual(['chen.hw', '陈话务', '话务员', '分机 8801', '正常', '重置密码 停用']);
    await screenshot(page, 'users-page');

    // The new user signs in with the temporary password and must replace it.
    const other = await openPage(browser, errors);
    await other.goto(`${baseUrl}/console/`);
    await other.waitForURL(/\/signin\//);
    await fillSignIn(other, 'chen.hw', temp);
    await other.locator('#change').waitFor();

    page.on('dialog', (d) => void d.accept());
    await newRow.locator('button[data-action=disable]').click();
    await page.locator('tr[data-user="chen.hw"] button[data-action=enable]').waitFor();
    expect(await page.locator('tr[data-user="chen.hw"] td').nth(4).textContent()).toBe('已停用');
    // The half-finished sign-in of the disabled user is over.
    const status = await other.evaluate(() => fetch('/api/auth/session').then((r) => r.status));
    expect(status).toBe(401);
    await page.locator('tr[data-user="chen.hw"] button[data-action=enable]').click();
    await page.locator('tr[data-user="chen.hw"] button[data-action=disable]').waitFor();
    await other.context().close();
    await page.context().close();
  }, 60000);

  it('refuses a form posted from another origin: no CSRF token (same site) or no cookie at all (cross site)', async () => {
    const user = await t.createUser('department_staff', { displayName: '郑受害' });
    const victim = await openPage(browser, errors);
    await signInAs(victim, `${baseUrl}/department/`, user);
    const epoch = async () => (await t.app.db.query(`select session_epoch from users where id = $1`, [user.id])).rows[0]!.session_epoch as number;
    const before = await epoch();

    // The attacker's page: a form that posts to "sign out everywhere" as soon as it loads.
    const target = `${baseUrl}/api/auth/signout-all`;
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><body><form id="f" method="POST" action="${target}"><input name="x" value="1"></form>` +
        `<script>document.getElementById('f').submit()</script></body></html>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
    const evilPort = (evil.address() as AddressInfo).port;
    try {
      const answers: number[] = [];
      victim.on('response', (r) => {
        if (r.url() === target) answers.push(r.status());
      });
      // Same site (127.0.0.1, another port): the Strict cookie goes along, the missing CSRF token refuses it.
      await victim.goto(`http://127.0.0.1:${evilPort}/`);
      await victim.waitForURL(target);
      expect(JSON.parse((await victim.locator('body').textContent()) ?? '')).toEqual({ error: 'csrf_invalid', message: '安全校验失败，请刷新页面后重试' });
      // Cross site (localhost is another site than 127.0.0.1): the browser does not even send the cookie.
      await victim.goto(`http://localhost:${evilPort}/`);
      await victim.waitForURL(target);
      expect(JSON.parse((await victim.locator('body').textContent()) ?? '')).toMatchObject({ error: 'unauthorized' });
      // 403 (not 401) proves the cookie went along the first time; 401 that it did not the second time.
      expect(answers).toEqual([403, 401]);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
    // Nothing happened: the session epoch is unchanged and the victim is still signed in.
    expect(await epoch()).toBe(before);
    await victim.goto(`${baseUrl}/department/`);
    await victim.locator('#workspace').waitFor();
    expect(victim.url()).toBe(`${baseUrl}/department/`);
    await victim.context().close();
  }, 60000);
});
