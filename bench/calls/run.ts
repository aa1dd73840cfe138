// bench/calls: N concurrent simulated calls into a real service process, measuring the service alone. Three
// processes besides this one (which only sets up, samples and prints): the service (built JS, as in production),
// the Asterisk simulator (simulator.ts) and the load driver with the agents' consoles (driver.ts). Each has its own
// event loop, so neither the simulator nor the driver delays the service's events or the pops' clock.
//
//   npm run bench:calls                      (defaults: 200 concurrent, 2000 calls, 200 agents)
//   CONCURRENCY=100 CALLS=1000 AGENTS=100 npm run bench:calls
//
// Prints call set-ups per second (dial → bridged with an agent → hang up, CONCURRENCY in flight), screen-pop
// latency (StasisStart sent by the simulator → call.offered on the console, every pop waited for), missing pops,
// the service's CPU ms per call and its peak RSS, and the CPU of the simulator and the driver for comparison.
// All processes share this machine's cores: the simulator and the driver still compete with the service for them.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../test/helpers/db';
import { createAuthService } from '../../src/auth/service';
import { createLogger } from '../../src/infra/logger';
import type { DriverReport } from './driver';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 200);
const CALLS = Number(process.env.CALLS ?? 2000);
const AGENTS = Number(process.env.AGENTS ?? CONCURRENCY);
const ANSWER_MS = Number(process.env.ANSWER_MS ?? 50);
const POP_WAIT_MS = Number(process.env.POP_WAIT_MS ?? 30_000);
const RATE = Number(process.env.RATE ?? 0); // calls offered per second; 0 = closed loop of CONCURRENCY residents
const HOLD_MS = Number(process.env.HOLD_MS ?? 0); // paced: how long each resident stays on after being bridged
const FIRST_EXTENSION = 5000;
const ROOT = path.resolve(__dirname, '..', '..');
const TS = ['-r', '@swc-node/register'];

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function message<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off('message', onMessage);
      resolve(m[key] as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before sending ${key}`)));
  });
}

async function main(): Promise<void> {
  console.log(
    RATE > 0
      ? `bench/calls: ${CALLS} calls offered at ${RATE}/s, each held ${HOLD_MS} ms once bridged, ${AGENTS} agents answering after ${ANSWER_MS} ms`
      : `bench/calls: ${CALLS} calls, ${CONCURRENCY} concurrent, ${AGENTS} agents answering after ${ANSWER_MS} ms`,
  );
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

  const t = await createTestSchema();
  const auth = createAuthService({ db: t.db, logger: createLogger('silent') });
  const tokens: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const ext = String(FIRST_EXTENSION + i);
    const user = await auth.createUser({ username: `bench-${ext}`, displayName: `坐席${ext}`, role: 'agent', extension: ext });
    tokens.push((await auth.issueToken(user.id, { label: 'bench' })).token);
  }

  // Production mode refuses the documented default secrets: the simulator gets fresh ones.
  const secrets = { ari: randomBytes(12).toString('hex'), ami: randomBytes(12).toString('hex') };
  const simulator = fork(path.join(__dirname, 'simulator.ts'), [], {
    execArgv: TS,
    env: { ...process.env, SIM_ARI_PASSWORD: secrets.ari, SIM_AMI_SECRET: secrets.ami, AGENTS: String(AGENTS), FIRST_EXTENSION: String(FIRST_EXTENSION), ANSWER_MS: String(ANSWER_MS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let service: ChildProcess | null = null;
  let driver: ChildProcess | null = null;
  try {
    const sim = await message<{ ariUrl: string; amiPort: number; controlPort: number }>(simulator, 'ready');
    const port = 20000 + Math.floor(Math.random() * 20000);
    service = spawn(process.execPath, [...(process.env.SERVICE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVICE_CPU_PROF}`] : []), 'dist/main.js'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        NODE_ENV: 'development', // the simulator's lab secrets: production mode refuses them (nothing else differs)
        LOG_LEVEL: process.env.SERVICE_LOG_LEVEL ?? 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: TEST_DATABASE_URL,
        DB_SCHEMA: t.schema,
        MIGRATE_ON_START: 'false',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: uniqueName('h114bench'),
        ARI_URL: sim.ariUrl,
        ARI_PASSWORD: secrets.ari,
        AMI_PORT: String(sim.amiPort),
        AMI_SECRET: secrets.ami,
        SESSION_SECRET: randomBytes(32).toString('hex'),
        METRICS_TOKEN: randomBytes(12).toString('hex'),
        AGENT_ENDPOINT_TEMPLATE: 'PJSIP/agent{extension}',
        CALL_WRAPUP_SEC: '0',
        CALL_ANNOUNCE_EVERY_SEC: '0',
        CALL_RING_TIMEOUT_SEC: '20',
      },
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const h = await fetch(`${base}/health`)
        .then((r) => r.json() as Promise<Record<string, unknown>>)
        .catch(() => null);
      if (h && JSON.stringify(h).includes('"ari":"up"')) break;
      if (i > 300 || service.exitCode !== null) throw new Error('service did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }

    driver = fork(path.join(__dirname, 'driver.ts'), [], { execArgv: TS, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const pids = { service: service.pid!, simulator: simulator.pid!, driver: driver.pid! };
    // The driver signs its agents in first; CPU is counted from here on, so that sign-in is in the service's figure.
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    let peakRss = rssMb(pids.service);
    const rssTimer = setInterval(() => {
      if (service?.exitCode === null) peakRss = Math.max(peakRss, rssMb(pids.service));
    }, 200);
    driver.send({ start: { controlPort: sim.controlPort, base, tokens, calls: CALLS, concurrency: CONCURRENCY, popWaitMs: POP_WAIT_MS, rate: RATE, holdMs: HOLD_MS } });
    const report = await message<DriverReport>(driver, 'report').finally(() => clearInterval(rssTimer));
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - before[k]!]));

    const pops = [...report.pops].sort((a, b) => a - b);
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
    console.log(`calls completed         ${report.calls} in ${report.seconds.toFixed(2)} s`);
    if (RATE > 0) {
      console.log(`call set-ups per second ${(report.calls / report.bridgedSeconds).toFixed(1)}  (offered ${RATE}/s; first dial → last call bridged ${report.bridgedSeconds.toFixed(2)} s)`);
      console.log(`open calls              peak ${report.peakOpen}`);
    } else {
      console.log(`call set-ups per second ${(report.calls / report.seconds).toFixed(1)}  (dial → bridged with an agent → hang up, ${CONCURRENCY} in flight; includes the ${ANSWER_MS} ms agent answer)`);
    }
    const setups = [...report.setups].sort((a, b) => a - b);
    console.log(`dial → bridged ms       p50 ${f(pct(setups, 50))}  p95 ${f(pct(setups, 95))}  p99 ${f(pct(setups, 99))}  (includes the ${ANSWER_MS} ms agent answer)`);
    console.log(`screen pops             ${pops.length} of ${report.calls}: missing ${report.missingPops}, duplicate ${report.duplicatePops}, after call.connected ${report.popsAfterConnected}`);
    console.log(`screen-pop latency ms   p50 ${f(pct(pops, 50))}  p95 ${f(pct(pops, 95))}  p99 ${f(pct(pops, 99))}  max ${f(pops[pops.length - 1] ?? NaN)}`);
    console.log(`service CPU ms per call ${(cpu.service! / report.calls).toFixed(2)}  (simulator ${(cpu.simulator! / report.calls).toFixed(2)}, driver + consoles ${(cpu.driver! / report.calls).toFixed(2)})`);
    console.log(`service RSS MB          peak ${peakRss.toFixed(1)}  now ${rssMb(pids.service).toFixed(1)}`);
  } finally {
    driver?.kill();
    if (service) {
      service.kill('SIGTERM');
      if (service.exitCode === null) await new Promise((r) => service!.once('exit', r));
    }
    simulator.send({ stop: true });
    if (simulator.exitCode === null) await new Promise((r) => simulator.once('exit', r));
    await t.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
