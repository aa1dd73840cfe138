// bench/calls, process 2 of 3: the Asterisk simulator (test/asterisk) alone, so its CPU is not the service's nor
// the load driver's. Started by run.ts with an IPC channel: it answers {ready: {ariUrl, amiPort, controlPort}}.
// The load driver speaks to it over TCP, one JSON object per line:
//   → {op: 'dial', n, number}     a resident calls 114        ← {ev: 'stasis', n, at}  StasisStart sent (epoch ms)
//                                                              ← {ev: 'bridged', n}     bridged with an agent
//   → {op: 'hangup', n}           the resident hangs up        ← {ev: 'destroyed', n}
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { AsteriskSimulator, type SimChannel } from '../../test/asterisk';

const AGENTS = Number(process.env.AGENTS ?? 200);
const FIRST_EXTENSION = Number(process.env.FIRST_EXTENSION ?? 5000);
const ANSWER_MS = Number(process.env.ANSWER_MS ?? 50);
const nowMs = () => performance.timeOrigin + performance.now();

/** The AMI event names manager.conf lets through to the service (`eventfilter(action(include),name(X))`). */
function managerEventNames(): string[] {
  const conf = readFileSync(path.resolve(__dirname, '..', '..', 'asterisk-config', 'manager.conf'), 'utf8');
  return [...conf.matchAll(/^eventfilter\(action\(include\),name\(([A-Za-z]+)\)\)/gm)].map((m) => m[1]!);
}

async function main(): Promise<void> {
  // As the real Asterisk with asterisk-config/: AMI sends the service only the event names it handles.
  const sim = await AsteriskSimulator.start({ defaultSoundMs: 100, ariPassword: process.env.SIM_ARI_PASSWORD, amiSecret: process.env.SIM_AMI_SECRET, amiEventNames: managerEventNames() });
  for (let i = 0; i < AGENTS; i++) sim.addEndpoint(`agent${FIRST_EXTENSION + i}`, { context: 'from-agents', behavior: { answerAfterMs: ANSWER_MS } });
  sim.addEndpoint('benchcaller', { context: 'from-callers' });

  const byNumber = new Map<string, number>();
  let driver: net.Socket | null = null;
  const send = (msg: object) => driver?.write(`${JSON.stringify(msg)}\n`);
  sim.on('ariEvent', (ev: { type: string; args?: string[]; channel?: { caller?: { number?: string } } }) => {
    if (ev.type !== 'StasisStart' || ev.args?.[0] !== 'inbound') return;
    const n = byNumber.get(ev.channel?.caller?.number ?? '');
    if (n !== undefined) send({ ev: 'stasis', n, at: nowMs() });
  });

  const calls = new Map<number, { channel: SimChannel; number: string }>();
  const server = net.createServer((socket) => {
    driver = socket;
    socket.setNoDelay(true);
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = JSON.parse(line) as { op: 'dial' | 'hangup'; n: number; number?: string };
        if (m.op === 'dial') {
          byNumber.set(m.number!, m.n);
          // As asterisk-config's [hotline-inbound] does: MixMonitor, ringback, then Stasis with what it did.
          const rec = `hotline114/bench/${m.number!}-${m.n}`;
          const c = sim.dial({ from: 'benchcaller', callerNumber: m.number!, app: 'hotline114', appArgs: ['inbound', 'ringing', `recording=${rec}`], ringing: true, mixMonitor: rec });
          calls.set(m.n, { channel: c, number: m.number! });
          c.waitFor('bridged').then(() => send({ ev: 'bridged', n: m.n }));
        } else {
          const c = calls.get(m.n);
          if (!c) continue;
          calls.delete(m.n);
          byNumber.delete(c.number);
          c.channel.waitFor('destroyed').then(() => send({ ev: 'destroyed', n: m.n }));
          c.channel.hangup();
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.send!({ ready: { ariUrl: sim.ariUrl, amiPort: sim.amiPort, controlPort: (server.address() as net.AddressInfo).port } });
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop) {
      server.close();
      driver?.destroy();
      if (process.env.SIM_REST_MIX) {
        const mix = new Map<string, number>();
        for (const e of sim.restLog) {
          const k = `${e.method} ${e.path.split('?')[0]!.replace(/\/[^/]*[0-9][^/]*/g, '/:id')}`;
          mix.set(k, (mix.get(k) ?? 0) + 1);
        }
        for (const [k, v] of [...mix].sort((a, b) => b[1] - a[1])) console.log(`rest ${String(v).padStart(6)} ${k}`);
      }
      void sim.stop().then(() => process.exit(0));
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
