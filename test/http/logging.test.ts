// Request logs carry the route pattern, status and user id: no query strings, bodies or tokens (phone numbers).
import { Writable } from 'node:stream';
import { createLogger } from '../../src/infra/logger';
import { build, type TestApp } from '../helpers/build';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    lines.push(chunk.toString('utf8'));
    cb();
  },
});

let t: TestApp;
beforeAll(async () => {
  t = await build({ logger: createLogger('info', sink) });
});
afterAll(async () => {
  await t?.close();
});

it('does not log phone numbers or tokens', async () => {
  const u = await t.createUser('agent');
  await t.inject({ method: 'GET', url: '/api/callers?number=13812345678', headers: u.headers });
  await t.inject({ method: 'POST', url: '/api/callers', headers: u.headers, payload: { number: '13887654321', name: '张三' } });
  await t.inject({ method: 'GET', url: '/api/calls?callerNumber=13812345678', headers: u.headers });
  const log = lines.join('');
  expect(log).toContain('"route":"/api/callers"');
  expect(log).toContain('"statusCode":201');
  expect(log).not.toMatch(/13812345678|13887654321|张三/);
  expect(log).not.toContain(u.token);
});
