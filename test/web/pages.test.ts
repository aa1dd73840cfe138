// The pages are served by the service itself with a strict CSP, without a catch-all route in front of the API,
// and the browser scripts (JavaScript with JSDoc types) type-check against the DOM library.
import path from 'node:path';
import ts from 'typescript';
import { build, type TestApp } from '../helpers/build';
import { PAGES } from '../../src/web/routes';

let t: TestApp;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

it('serves every page with its script, a strict Content-Security-Policy and no-cache', async () => {
  for (const page of PAGES) {
    const html = await t.inject({ method: 'GET', url: `/${page}/` });
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toContain("script-src 'self'");
    expect(html.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(html.headers['cache-control']).toBe('no-cache');
    expect(html.body).toContain('lang="zh-CN"');
    const js = await t.inject({ method: 'GET', url: `/${page}/${page}.js` });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const bare = await t.inject({ method: 'GET', url: `/${page}` });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe(`/${page}/`);
  }
  const root = await t.inject({ method: 'GET', url: '/' });
  expect(root.headers.location).toBe('/portal/');
  // No wildcard route: unknown paths still get the API's JSON 404, and the API keeps its own headers.
  const missing = await t.inject({ method: 'GET', url: '/console/nope.js' });
  expect(missing.statusCode).toBe(404);
  expect(missing.json()).toMatchObject({ error: 'not_found' });
  // One policy for every response (helmet): the API and /docs carry it too (issue 11).
  const page = await t.inject({ method: 'GET', url: '/portal/' });
  const health = await t.inject({ method: 'GET', url: '/health' });
  expect(health.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
});

it('browser scripts never assign innerHTML/outerHTML or use insertAdjacentHTML/document.write', async () => {
  const fs = await import('node:fs');
  const dir = path.resolve(__dirname, '../../src/web/public');
  const files = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.js'));
  expect(files.length).toBeGreaterThanOrEqual(5);
  for (const f of files) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    expect([f, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/.test(src)]).toEqual([f, false]);
  }
});

it('browser scripts type-check (src/web/tsconfig.json: checkJs, DOM lib)', () => {
  const configPath = path.resolve(__dirname, '../../src/web/tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath));
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(parsed.fileNames.length).toBeGreaterThanOrEqual(5);
  expect(diagnostics).toEqual([]);
}, 60000);
