// bench/calls, process 3 of 3: the load driver and the agents' consoles. Closed loop (default): it keeps CONCURRENCY
// residents calling through the simulator (dial → bridged with an agent → hang up → dial again) until CALLS calls
// were placed. Paced (RATE > 0): a new resident dials every 1/RATE s whatever the service does, and each stays on
// HOLD_MS after being bridged, so the open calls are RATE × (set-up + HOLD_MS), as on a real hotline. It holds one
// console WebSocket per agent and counts every screen pop: it waits for all of them (or POP_WAIT_MS after the last
// call) before it reports to run.ts over IPC.
import net from 'node:net';
import type WebSocket from 'ws';
import { openConsole } from '../console';

const nowMs = () => performance.timeOrigin + performance.now();

interface Start {
  controlPort: number;
  base: string;
  tokens: string[];
  calls: number;
  concurrency: number;
  popWaitMs: number;
  /** Calls offered per second (paced); 0 = closed loop of `concurrency` residents. */
  rate: number;
  /** How long a paced resident stays on after being bridged. */
  holdMs: number;
}

export interface DriverReport {
  calls: number;
  seconds: number;
  pops: number[]; // StasisStart sent by the simulator → call.offered on the console (ms, both epoch clocks)
  missingPops: number;
  duplicatePops: number;
  popsAfterConnected: number;
  connected: number;
  setups: number[]; // dial sent → bridged reported by the simulator (ms)
  peakOpen: number; // calls dialled and not yet destroyed, at most
  bridgedSeconds: number; // first dial → last call bridged
}

async function run(o: Start): Promise<DriverReport> {
  const stasisAt = new Map<string, number>();
  const popAt = new Map<string, number>();
  const connectedAt = new Map<string, number>();
  let duplicatePops = 0;
  const sockets: WebSocket[] = [];
  for (const token of o.tokens) {
    const ws = await openConsole(o.base, token);
    ws.on('message', (data) => {
      const at = nowMs();
      const m = JSON.parse(data.toString()) as { type: string; callerNumber?: string };
      if (!m.callerNumber) return;
      if (m.type === 'call.offered') {
        if (popAt.has(m.callerNumber)) duplicatePops++;
        else popAt.set(m.callerNumber, at);
      } else if (m.type === 'call.connected' && !connectedAt.has(m.callerNumber)) connectedAt.set(m.callerNumber, at);
    });
    sockets.push(ws);
    const res = await fetch(`${o.base}/api/agents/me/login`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    if (res.status !== 200) throw new Error(`agent sign-in answered ${res.status}`);
  }

  const control = net.connect(o.controlPort, '127.0.0.1');
  control.setNoDelay(true);
  await new Promise((r) => control.once('connect', r));
  const waiting = new Map<string, () => void>(); // `${ev}:${n}` → resolve
  const numbers: string[] = [];
  let buf = '';
  control.setEncoding('utf8');
  control.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const m = JSON.parse(buf.slice(0, i)) as { ev: string; n: number; at?: number };
      buf = buf.slice(i + 1);
      if (m.ev === 'stasis') stasisAt.set(numbers[m.n]!, m.at!);
      const key = `${m.ev}:${m.n}`;
      waiting.get(key)?.();
      waiting.delete(key);
    }
  });
  const expect = (ev: string, n: number) => new Promise<void>((r) => waiting.set(`${ev}:${n}`, r));
  const send = (msg: object) => control.write(`${JSON.stringify(msg)}\n`);

  let started = 0;
  let open = 0;
  let peakOpen = 0;
  const setups: number[] = [];
  const t0 = nowMs();
  let lastBridgedAt = t0;
  const call = async (n: number, holdMs: number): Promise<void> => {
    numbers[n] = `138${String(n).padStart(8, '0')}`;
    const bridged = expect('bridged', n);
    const dialAt = nowMs();
    open++;
    peakOpen = Math.max(peakOpen, open);
    send({ op: 'dial', n, number: numbers[n] });
    await bridged;
    lastBridgedAt = nowMs();
    setups.push(lastBridgedAt - dialAt);
    if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    const destroyed = expect('destroyed', n);
    send({ op: 'hangup', n });
    await destroyed;
    open--;
  };
  if (o.rate > 0) {
    // Open loop: each dial at its own time from t0, late ones sent at once (the driver never waits for the service).
    const running: Promise<void>[] = [];
    while (started < o.calls) {
      const due = t0 + (started * 1000) / o.rate;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      running.push(call(started++, o.holdMs));
    }
    await Promise.all(running);
  } else {
    const slot = async (): Promise<void> => {
      while (started < o.calls) await call(started++, 0);
    };
    await Promise.all(Array.from({ length: o.concurrency }, () => slot()));
  }
  const seconds = (nowMs() - t0) / 1000;
  const bridgedSeconds = (lastBridgedAt - t0) / 1000;

  // Every call was bridged, so every call was offered: wait for each pop (a late one still counts, with its delay).
  const deadline = Date.now() + o.popWaitMs;
  while (popAt.size < o.calls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pops: number[] = [];
  let popsAfterConnected = 0;
  for (const number of numbers) {
    const s = stasisAt.get(number);
    const p = popAt.get(number);
    if (s === undefined || p === undefined) continue;
    pops.push(p - s);
    const c = connectedAt.get(number);
    if (c !== undefined && c < p) popsAfterConnected++;
  }
  for (const ws of sockets) ws.close();
  control.destroy();
  return { calls: o.calls, seconds, pops, missingPops: o.calls - popAt.size, duplicatePops, popsAfterConnected, connected: connectedAt.size, setups, peakOpen, bridgedSeconds };
}

process.on('message', (m: { start?: Start }) => {
  if (!m.start) return;
  run(m.start).then(
    (report) => process.send!({ report }, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
