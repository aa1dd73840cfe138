// Issue 11 item 4: the framework's own refusals in Chinese without echoing the input, over a real socket (Node's HTTP
// parser answers 431 before Fastify sees anything); one sentence for an enum error; HEAD on streams answers.
import net from 'node:net';
import { build, type TestApp, type TestUser } from '../helpers/build';

const HAN = /[\u4e00-\u9fff]/;
let t: TestApp;
let port: number;
let agent: TestUser;
let supervisor: TestUser;

beforeAll(async () => {
  t = await build();
  agent = await t.createUser('agent');
  supervisor = await t.createUser('supervisor');
  await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.fastify.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await t?.close();
});

/** Sends raw bytes, returns status and body of the answer (the server may close the socket after it). */
function raw(request: string | Buffer): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body, head });
    });
    socket.write(request);
  });
}

describe('framework refusals', () => {
  test('headers over the limit → 431 in Chinese', async () => {
    const r = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40000)}\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body)).toEqual({ error: 'headers_too_large', message: '请求头或请求地址过长' });
    expect(r.head).toMatch(/content-type: application\/json; charset=utf-8/i);
  });

  test('a URL over the limit → 431 in Chinese, nothing of it echoed', async () => {
    const r = await raw(`GET /api/public/knowledge?q=${'q'.repeat(40000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(r.body).toMatch(HAN);
    expect(r.body).not.toContain('qqqq');
  });

  test('a path parameter over the router limit → 414 in Chinese, no echo', async () => {
    const r = await raw(`GET /api/callers/${'7'.repeat(500)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(414);
    expect(JSON.parse(r.body)).toEqual({ error: 'uri_too_long', message: '请求地址中的参数过长' });
  });

  test('bad percent-encoding (path and query) and invalid UTF-8 → 400 in Chinese, no echo', async () => {
    for (const url of ['/api/callers/%E0%A4%A', '/api/callers/%', '/api/public/knowledge?q=%C3%28', '/api/public/knowledge?q=%00', '/open311/v2/requests/%FF.json']) {
      const r = await raw(`GET ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(HAN);
      expect(r.body).not.toContain(url.split('/').pop()!.slice(0, 4));
    }
    const o = await raw(`GET /open311/v2/requests/%FF.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(JSON.parse(o.body)).toEqual([{ code: 400, description: expect.stringMatching(HAN) }]); // Open311's error format
  });

  test('a malformed request line → 400 in Chinese', async () => {
    const r = await raw('THIS IS NOT HTTP\r\n\r\n');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ error: 'bad_request', message: '请求格式不正确' });
  });

  test('raw invalid UTF-8 and NUL in a JSON body → 400 invalid_characters', async () => {
    const bad = Buffer.concat([Buffer.from('{"category":"x","description":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","location":"y"}')]);
    const a = await t.inject({ method: 'POST', url: '/api/public/requests', payload: bad, headers: { 'content-type': 'application/json' } });
    expect(a.statusCode).toBe(400);
    expect(a.json()).toMatchObject({ error: 'invalid_characters' });
    const b = await t.inject({ method: 'POST', url: '/api/public/requests', payload: '{"category":"x","description":"a\\u0000b","location":"y"}', headers: { 'content-type': 'application/json' } });
    expect(b.statusCode).toBe(400);
    expect(b.json()).toMatchObject({ error: 'invalid_characters' });
  });
});

describe('enum errors', () => {
  test('one sentence naming every allowed value, not one per value', async () => {
    const res = await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.headers, payload: { state: 'sleeping' } });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { message: string; details: unknown[] };
    expect(body.message).toBe('请求参数错误：「状态」取值无效，可选值：ready、paused');
    expect(body.details).toHaveLength(1);
    // a nullable enum (anyOf [enum, null]) too
    const g = await t.inject({ method: 'POST', url: '/api/callers', headers: agent.headers, payload: { number: '13800000000', gender: 'robot' } });
    expect(g.statusCode).toBe(400);
    expect((g.json() as { message: string }).message).toMatch(/^请求参数错误：「性别」取值无效[^；]*$/);
  });
});

describe('HEAD on streams', () => {
  test('HEAD on the board stream answers at once with the stream headers and no body', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/supervision/board/stream`, { method: 'HEAD', headers: supervisor.headers, signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(await res.text()).toBe('');
  });
});
