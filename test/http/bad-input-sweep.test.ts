// Issue 11 item 4: a sweep of NUL, invalid UTF-8 and oversized inputs over every route in /docs/json (path
// parameters, query parameters, JSON and form bodies), as a signed-in admin and without a token: no response ≥ 500,
// and every 4xx carries a Chinese message that does not echo the input.
import { build, type TestApp, type TestUser } from '../helpers/build';

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

const HAN = /[\u4e00-\u9fff]/;
const BAD_PATH = ['%00', 'a%00b', '%C3%28', '%FF%FE', '%E0%A4%A', '%', '%ED%A0%80'];
const BAD_QUERY = ['%00', 'ab%00', '%C3%28', '%FF', '%E0%A4%A', '%ED%A0%80'];
const OVERSIZED_PATH = 'x'.repeat(3000);
const OVERSIZED_QUERY = 'y'.repeat(20000);

let t: TestApp;
let admin: TestUser;
let doc: { paths: Record<string, Record<string, OpenApiOperation>> };

beforeAll(async () => {
  t = await build();
  admin = await t.createUser('admin');
  doc = (await t.inject({ method: 'GET', url: '/docs/json' })).json();
});
afterAll(async () => {
  await t?.close();
});

function fill(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

/** JSON text with every declared property (or a probe property) set to `raw` (already JSON-escaped text). */
function jsonBody(op: OpenApiOperation, raw: string): string {
  const props = Object.keys(op.requestBody?.content?.['application/json']?.schema?.properties ?? { probe: 1 });
  return `{${props.map((p) => `${JSON.stringify(p)}:"${raw}"`).join(',')}}`;
}

describe('bad input over every documented route', () => {
  test('NUL, invalid UTF-8 and oversized values in paths, queries and bodies: 0 responses ≥ 500, Chinese messages, no echo', async () => {
    const problems: string[] = [];
    let requests = 0;
    // expect: 'refused' = 400 (429 when rate limited; 401/403 when a route guard runs before the body is read),
    // 'any' = anything below 500.
    const send = async (method: string, url: string, opts: { payload?: string | Buffer; contentType?: string; auth: boolean; expect?: 'refused' | 'any' }) => {
      const res = await t.inject({
        method: method.toUpperCase() as 'GET',
        url,
        payload: opts.payload,
        headers: { ...(opts.auth ? admin.headers : {}), ...(opts.contentType ? { 'content-type': opts.contentType } : {}) },
      });
      requests += 1;
      const where = `${method.toUpperCase()} ${url.slice(0, 120)}${opts.payload ? ` body ${String(opts.payload).slice(0, 60)}` : ''}`;
      if (res.statusCode >= 500) problems.push(`${where} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      else if (opts.expect === 'refused' && ![400, 429].includes(res.statusCode) && !(opts.payload !== undefined && [401, 403].includes(res.statusCode))) {
        problems.push(`${where} → ${res.statusCode}, expected 400`);
      }
      else if (res.statusCode >= 400 && !HAN.test(res.body)) problems.push(`${where} → ${res.statusCode} without a Chinese message: ${res.body.slice(0, 200)}`);
      else if (res.statusCode >= 400 && /y{100}|x{100}|\\u0000|%00|%C3%28/.test(res.body)) problems.push(`${where} → ${res.statusCode} echoes the input`);
      return res;
    };

    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path.startsWith('/docs')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const hasBody = ['post', 'put', 'patch'].includes(method);
        const goodPath = fill(path, '1');
        for (const auth of [true, false]) {
          const body = hasBody ? { payload: '{}', contentType: 'application/json' } : {};
          if (path.includes('{')) {
            for (const v of BAD_PATH) await send(method, fill(path, v), { auth, ...body, expect: 'refused' });
            await send(method, fill(path, OVERSIZED_PATH), { auth, ...body, expect: 'any' });
          }
          const queryNames = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
          for (const name of queryNames.length ? queryNames : ['probe']) {
            for (const v of BAD_QUERY) await send(method, `${goodPath}?${encodeURIComponent(name)}=${v}`, { auth, ...body, expect: 'refused' });
            await send(method, `${goodPath}?${encodeURIComponent(name)}=${OVERSIZED_QUERY}`, { auth, ...body, expect: 'any' });
          }
          if (hasBody) {
            const json = { auth, contentType: 'application/json', expect: 'refused' as const };
            await send(method, goodPath, { ...json, payload: jsonBody(op, 'a\\u0000b') });
            await send(method, goodPath, { ...json, payload: jsonBody(op, '\\ud800') });
            await send(method, goodPath, { ...json, payload: Buffer.concat([Buffer.from(jsonBody(op, 'X').replace(/"X"/g, '"')), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) });
            await send(method, goodPath, { ...json, payload: Buffer.concat([Buffer.from('{"probe":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) });
            await send(method, goodPath, { auth, contentType: 'application/json', payload: jsonBody(op, 'z'.repeat(1_100_000)), expect: 'any' });
            if (path.startsWith('/open311')) {
              const form = { auth, contentType: 'application/x-www-form-urlencoded', expect: 'refused' as const };
              for (const f of ['description=a%00b&service_code=x', 'description=%C3%28&api_key=%FF', 'api_key=k&description=%E0%A4%A']) await send(method, goodPath, { ...form, payload: f });
              await send(method, goodPath, { ...form, payload: Buffer.concat([Buffer.from('description='), Buffer.from([0xc3, 0x28])]) });
            }
          }
        }
      }
    }
    if (process.env.SWEEP_REPORT) process.stdout.write(`bad-input sweep: ${Object.keys(doc.paths).length} paths, ${requests} requests, ${problems.length} problems\n`);
    expect(problems).toEqual([]);
    expect(requests).toBeGreaterThan(1000);
  }, 180000);
});
