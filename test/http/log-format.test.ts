// Issue 12 item 8: readable logs on a terminal (pino-pretty when stdout is a TTY), JSON everywhere else; the
// same redaction in both. The TTY case runs a real child process under a pseudo-terminal (util-linux `script`).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, usePretty } from '../../src/infra/logger';

const ROOT = path.resolve(__dirname, '../..');
const SNIPPET = `require('./src/infra/logger').createLogger('info').info({ callerNumber: '13812345678', password: 'pw-1' }, '来电已接通')`;

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString('utf8'));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

it('decides pretty by the terminal unless LOG_FORMAT says otherwise', () => {
  expect([
    usePretty('auto', true),
    usePretty('auto', false),
    usePretty('json', true),
    usePretty('pretty', false),
  ]).toEqual([true, false, false, true]);
});

it('writes JSON lines to a pipe, and pretty lines on a terminal, both redacted', () => {
  const env = { ...process.env, LOG_FORMAT: '', FORCE_COLOR: '0' };
  const piped = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', SNIPPET], { cwd: ROOT, env, encoding: 'utf8' });
  const line = JSON.parse(piped.trim()) as Record<string, unknown>;
  expect(line).toMatchObject({ level: 30, msg: '来电已接通', callerNumber: '***5678', password: '[secret]' });

  const command = [process.execPath, '-r', '@swc-node/register', '-e', JSON.stringify(SNIPPET)].join(' ');
  const tty = execFileSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8' });
  const plain = tty.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
  expect(plain).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: 来电已接通/m);
  expect(plain).toContain('callerNumber: "***5678"');
  expect(plain).not.toContain('13812345678');
  expect(plain).not.toContain('pw-1');
  expect(plain.trim().startsWith('{')).toBe(false);
});

it('LOG_FORMAT=pretty prettifies an explicit destination too; the default stays JSON there', () => {
  const pretty = sink();
  createLogger('info', pretty.stream, { format: 'pretty' }).info({ phone: '010-12345678' }, '工单已派发');
  expect(pretty.text()).toMatch(/INFO: 工单已派发/);
  expect(pretty.text()).toContain('***5678');
  const json = sink();
  createLogger('info', json.stream).info('工单已派发');
  expect(JSON.parse(json.text())).toMatchObject({ msg: '工单已派发' });
});
