// npm run demo (the try-it mode) as a newcomer meets it: the script starts the service with the simulated PBX and
// the caller generator in its own process, on its own schema and Redis prefix; in Chromium the demo agent signs in
// with the printed password, every page says 演示模式, and a generated call pops on the console and connects.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/db';
import { describeBrowser, launch, openPage, rawCodesOnPage, screenshot, signInAs } from './browser';

describeBrowser('try-it mode (npm run demo)', () => {
  const schema = uniqueName('demo');
  const prefix = uniqueName('h114demo');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const base = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let out = '';
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    child = spawn(process.execPath, ['-r', '@swc-node/register', 'demo/run.ts'], {
      cwd: path.resolve(__dirname, '../..'),
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        DEMO_DB_SCHEMA: schema,
        DEMO_REDIS_PREFIX: prefix,
        DEMO_CALL_EVERY_SEC: '3',
        DEMO_BOT_AGENTS: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const until = Date.now() + 60000;
    while (!out.includes('Ctrl+C')) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`demo did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launch();
  }, 90000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`).finally(() => c.end());
    const redis = new Redis(TEST_REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }, 30000);

  it('prints how to sign in, marks itself as a demo and reports the simulated PBX as up', async () => {
    expect(out).toContain('演示模式');
    expect(out).toContain('agent1001');
    expect(out).toContain('demo-114');
    expect(await (await fetch(`${base}/api/public/mode`)).json()).toEqual({ demo: true });
    // The demo prints its banner as soon as HTTP listens; the simulated PBX connects right after: poll with a deadline.
    const deadline = Date.now() + 20000;
    let health: unknown;
    for (;;) {
      health = await (await fetch(`${base}/health`)).json();
      const h = health as { ari?: string; ami?: string };
      if ((h.ari === 'up' && h.ami === 'up') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(health).toMatchObject({ ari: 'up', ami: 'up' });
  });

  it('the demo agent signs in, sees the 演示模式 banner, and a generated call pops and connects', async () => {
    const page = await openPage(browser, errors);
    await signInAs(page, `${base}/console/`, { username: 'agent1001', password: 'demo-114' });
    await page.locator('#demo-banner').waitFor();
    expect(await page.locator('#demo-banner').textContent()).toContain('演示模式');
    // Generated callers are already waiting: the first is offered as soon as the seat signs in.
    await page.locator('#btn-login').click();
    await page.locator('#callbar[data-phase=ringing]').waitFor({ timeout: 20000 });
    expect(await page.locator('#caller-number').textContent()).toMatch(/^\d{11}$/);
    await page.locator('#callbar[data-phase=connected]').waitFor({ timeout: 10000 });
    expect(await rawCodesOnPage(page)).toEqual([]);
    await screenshot(page, 'demo-1-console-live-call');
    const portal = await openPage(browser, errors);
    await portal.goto(`${base}/portal/`);
    await portal.locator('#demo-banner').waitFor();
    await portal.close();
    await page.close();
  }, 60000);

  it('had no page errors and no Content-Security-Policy violations', () => {
    expect(errors).toEqual([]);
  });
});
