// Issue 11 item 5: security headers through @fastify/helmet, one strict CSP for pages, API and /docs; the Swagger
// UI still works under it in Chromium.
import type { AddressInfo } from 'node:net';
import { describeBrowser, launch, openPage } from '../web/browser';
import { build, type TestApp } from '../helpers/build';

let t: TestApp;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

const STRICT = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"];

test('every kind of response carries the same strict CSP and the helmet headers', async () => {
  const seen = new Set<string>();
  for (const url of ['/health', '/docs', '/docs/json', '/docs/static/index.html', '/portal/', '/api/public/categories', '/api/nope', '/open311/v2/services.json']) {
    const res = await t.inject({ method: 'GET', url });
    const csp = String(res.headers['content-security-policy'] ?? '');
    for (const d of STRICT) expect(`${url}: ${csp}`).toContain(d);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    seen.add(csp);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['x-powered-by']).toBeUndefined();
  }
  expect(seen.size).toBe(1);
  const api = await t.inject({ method: 'GET', url: '/api/public/categories' });
  expect(api.headers['cache-control']).toBe('no-store');
});

describeBrowser('Swagger UI under the strict CSP', () => {
  test('renders the operations with no script blocked and no page error', async () => {
    await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(t.app.fastify.server.address() as AddressInfo).port}`;
    const browser = await launch();
    const errors: string[] = [];
    try {
      const page = await openPage(browser, errors);
      await page.goto(`${base}/docs`);
      await page.locator('.opblock').first().waitFor();
      expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
      expect(await page.locator('.title').first().textContent()).toContain('hotline114');
    } finally {
      await browser.close();
    }
    // Style attributes set by Swagger UI's scripts are blocked (style-src 'self') without breaking it; scripts never are.
    expect(errors.filter((e) => !/style/i.test(e))).toEqual([]);
  }, 60000);
});
