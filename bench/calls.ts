// bench/calls: N concurrent simulated calls through the Asterisk simulator into a real service process.
// Prints screen-pop latency (StasisStart sent by "Asterisk" → call.offered received on the agent's console
// WebSocket), call set-ups per second, and the service's RSS.
//
//   npm run bench:calls                      (defaults: 200 concurrent, 2000 calls, 200 agents)
//   CONCURRENCY=100 CALLS=1000 AGENTS=100 npm run bench:calls
//
// The service runs as its own process (built JS, as in production); the simulator and the load driver share
// this one. Both on the same 2 cores: the figures include that contention.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { AsteriskSimulator } from '../test/asterisk';
import { createTestSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../test/helpers/db';
import { createAuthService } from '../src/auth/service';
import { createLogger } from '../src/infra/logger';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 200);
const CALLS = Number(process.env.CALLS ?? 2000);
const AGENTS = Number(process.env.AGENTS ?? CONCURRENCY);
const ANSWER_MS = Number(process.env.ANSWER_MS ?? 50);
const ROOT = path.resolve(__dirname, '..');

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  console.log(`bench/calls: ${CALLS} calls, ${CONCURRENCY} concurrent, ${AGENTS} agents answering after ${ANSWER_MS} ms`);
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

  const t = await createTestSchema();
  const sim = await AsteriskSimulator.start({ defaultSoundMs: 100 });
  const logger = createLogger('silent');
  const auth = createAuthService({ db: t.db, logger });
  const tokens: { token: string; agentId: number }[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const ext = String(5000 + i);
    const user = await auth.createUser({ username: `bench-${ext}`, displayName: `坐席${ext}`, role: 'agent', extension: ext });
    tokens.push({ token: (await auth.issueToken(user.id, { label: 'bench' })).token, agentId: user.agentId! });
    sim.addEndpoint(`agent${ext}`, { context: 'from-agents', behavior: { answerAfterMs: ANSWER_MS } });
  }

  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [...(process.env.SERVICE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVICE_CPU_PROF}`] : []), 'dist/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.SERVICE_LOG_LEVEL ?? 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: TEST_DATABASE_URL,
      DB_SCHEMA: t.schema,
      MIGRATE_ON_START: 'false',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: uniqueName('h114bench'),
      ARI_URL: sim.ariUrl,
      AMI_PORT: String(sim.amiPort),
      AGENT_ENDPOINT_TEMPLATE: 'PJSIP/agent{extension}',
      CALL_WRAPUP_SEC: '0',
      CALL_ANNOUNCE_EVERY_SEC: '0',
      CALL_RING_TIMEOUT_SEC: '20',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const h = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ ari: string }>).catch(() => null);
      if (h?.ari === 'up') break;
      if (i > 300) throw new Error('service did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }

    // StasisStart as sent by the simulator, per caller number.
    const stasisAt = new Map<string, number>();
    sim.on('ariEvent', (ev: { type: string; args?: string[]; channel?: { caller?: { number?: string } } }) => {
      if (ev.type === 'StasisStart' && ev.args?.[0] === 'inbound') stasisAt.set(ev.channel!.caller!.number!, performance.now());
    });
    const popLatency: number[] = [];
    let connectedCount = 0;
    const sockets: WebSocket[] = [];
    for (const a of tokens) {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/agents/ws?token=${a.token}`);
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; callerNumber?: string };
        if (m.type === 'call.offered') {
          const at = stasisAt.get(m.callerNumber!);
          if (at !== undefined) popLatency.push(performance.now() - at);
        } else if (m.type === 'call.connected') connectedCount++;
      });
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      sockets.push(ws);
      const res = await fetch(`${base}/api/agents/me/login`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      if (res.status !== 200) throw new Error(`login failed ${res.status}`);
    }

    let started = 0;
    let peakRss = rssMb(child.pid!);
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMb(child.pid!))), 200);
    const t0 = performance.now();
    // Each slot: dial, wait until bridged with an agent, hang up, dial again — CONCURRENCY calls in flight.
    const slot = async (s: number): Promise<void> => {
      while (started < CALLS) {
        const n = started++;
        const c = sim.dial({ from: `caller${s}`, callerNumber: `138${String(n).padStart(8, '0')}`, app: 'hotline114', appArgs: ['inbound'] });
        await c.waitFor('bridged');
        c.hangup();
        await c.waitFor('destroyed');
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, s) => slot(s)));
    const elapsed = (performance.now() - t0) / 1000;
    clearInterval(rssTimer);

    popLatency.sort((a, b) => a - b);
    console.log(`calls completed        ${CALLS} in ${elapsed.toFixed(2)} s`);
    console.log(`call set-ups per second ${(CALLS / elapsed).toFixed(1)}  (dial → bridged with an agent → hang up, ${CONCURRENCY} in flight; includes ${ANSWER_MS} ms agent answer time)`);
    console.log(`screen pops received   ${popLatency.length} (connected: ${connectedCount})`);
    console.log(
      `screen-pop latency ms  p50 ${pct(popLatency, 50).toFixed(2)}  p95 ${pct(popLatency, 95).toFixed(2)}  p99 ${pct(popLatency, 99).toFixed(2)}  max ${popLatency[popLatency.length - 1]?.toFixed(2)}`,
    );
    console.log(`service RSS MB         peak ${peakRss.toFixed(1)}  now ${rssMb(child.pid!).toFixed(1)}`);
    for (const ws of sockets) ws.close();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await sim.stop();
    await t.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
