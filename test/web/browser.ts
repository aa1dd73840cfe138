// Headless Chromium (Debian package) driven by playwright-core, for the end-to-end tests of the pages.
// Without /usr/bin/chromium (or CHROMIUM_PATH) the browser suites fail with a clear message; .ci/run installs it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = fs.existsSync(CHROMIUM);
export const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

/** describe; without Chromium the suite fails with a message saying how to install it (never a silent skip). */
export function describeBrowser(name: string, fn: () => void): void {
  if (haveChromium) {
    describe(name, fn);
    return;
  }
  describe(name, () => {
    it('needs Chromium', () => {
      throw new Error(`${CHROMIUM} not found: apt-get install -y chromium fonts-noto-cjk (.ci/run does it), or set CHROMIUM_PATH`);
    });
  });
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that fails the test on uncaught page errors and CSP violations (collected, asserted by the test). */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(8000); // below Jest's test timeout, so a missing element fails with its selector
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) errors.push(`csp: ${msg.text()}`);
  });
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Opens a staff page, which sends the browser to the shared sign-in page; signs in with the password and waits
 * until the page is back and signed in (its sign-out button shows).
 */
export async function signInAs(page: Page, url: string, user: { username: string; password: string }): Promise<void> {
  await page.goto(url);
  await page.waitForURL(/\/signin\/\?next=/);
  await page.locator('#username').fill(user.username);
  await page.locator('#password').fill(user.password);
  await page.locator('#btn-signin').click();
  await page.waitForURL(url);
  await page.locator('#btn-signout').waitFor();
}

/**
 * The codes of the shared label dictionary (src/web/public/assets/labels.js) that appear as words in the page's
 * rendered text (outside the header's user name): every one is an English code that reached a person instead of its
 * Chinese label.
 */
export async function rawCodesOnPage(page: Page): Promise<string[]> {
  // A string, not a function: the test transpiler would rewrite import() into require().
  return page.evaluate(`(async () => {
    const m = await import('/assets/labels.js');
    const codes = new Set(Object.values(m.ALL).flatMap((d) => Object.keys(d)));
    // The signed-in user's own username (e.g. agent1001, supervisor-3) is data, not a code.
    let text = document.body.innerText;
    for (const who of document.querySelectorAll('.who')) text = text.split(who.innerText).join(' ');
    return [...codes].filter((c) => new RegExp('(^|[^A-Za-z0-9_])' + c + '($|[^A-Za-z0-9_])').test(text));
  })()`) as Promise<string[]>;
}
