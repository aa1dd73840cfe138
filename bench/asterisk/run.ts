// bench/asterisk: call set-up of hotline114 against Asterisk's own Queue() on a REAL Asterisk 22, with sipp phones
// on loopback, measured from a packet capture on `lo` (see bench/README.md for the method and how to repeat it).
//
//   ASTERISK_PREFIX=/opt/asterisk-22 npm run bench:asterisk
//
// Environment: ASTERISK_PREFIX (required: an Asterisk 22 install with sbin/asterisk and lib/asterisk/modules),
// SERVICE_DIR (a checkout with node_modules and a built dist/, default this one — build it first), LAB_DIR (default
// a new temp dir), PHASES (default single,open20,burst,open200), SCALE (multiplies the number of calls, default 1),
// HOLD_MS (how long a caller stays after the answer in the 20-agent phases, default 1000), GAP_MS (a sipp slot stays
// taken this long after its caller hung up, so the next caller does not race the freeing agent; default 300),
// VARIANTS (default service,queue; queue alone shows what the service spends on calls it does not handle),
// ASTERISK_CONFIG_DIR (the
// asterisk-config/ to render, default this checkout's).
// Needs sipp, tcpdump and tshark (apt-get install sip-tester tcpdump tshark), root (tcpdump, the lab PostgreSQL
// runs as user postgres).
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { openConsole } from '../console';
import {
  AGENT_IP,
  ASTERISK_IP,
  CALLER_IP,
  ROOT,
  cpuDelta,
  cpuSnapshot,
  extensionOf,
  freePort,
  freeUdpPort,
  installPrompts,
  processTree,
  queueExten,
  renderAsteriskConfig,
  start,
  startPostgres,
  stop,
  until,
  type LabPorts,
  type Proc,
} from './lab';

const env = process.env;
const PREFIX = env.ASTERISK_PREFIX ?? '';
const SERVICE_DIR = path.resolve(env.SERVICE_DIR ?? ROOT);
const PHASES = (env.PHASES ?? 'single,open20,burst,open200').split(',').map((s) => s.trim());
const SCALE = Number(env.SCALE ?? 1);
const HOLD_MS = Number(env.HOLD_MS ?? 1000);
const GAP_MS = Number(env.GAP_MS ?? 300);
const VARIANTS = (env.VARIANTS ?? 'service,queue').split(',').map((s) => s.trim()) as Variant[];
const WARMUP = Number(env.WARMUP ?? 40);
const AGENTS = 200;
const IDLE_SEC = 10;
let idleServiceMsPerSec = NaN;
const SCENARIOS = path.join(__dirname, 'sipp');

type Variant = 'service' | 'queue';

interface Block {
  id: number; // two digits in the caller numbers: 139<id><n>
  phase: string;
  variant: Variant;
  calls: number;
  cpu: Record<string, number>;
  sippExit: number | null;
  startedAt: number;
  endedAt: number;
  cpuWindowSec: number; // the CPU figures cover the block and the settling after it
}

interface Lab {
  dir: string;
  ports: LabPorts;
  asterisk: Proc;
  service: Proc;
  redis: Proc;
  pg: { proc: Proc; pid: () => number };
  agentSipp: Proc;
  tcpdump: Proc;
  pcap: string;
  base: string;
  tokens: string[];
  sockets: WebSocket[];
  offered: Map<string, number>; // caller number → epoch ms of the first call.offered on a console
  callIds: Map<string, string>; // caller number → the service's call id (from that call.offered)
  connected: Map<string, number>;
  loggedIn: number;
}

const nowMs = () => performance.timeOrigin + performance.now();

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function f1(n: number): string {
  return Number.isFinite(n) ? n.toFixed(1) : '–';
}

async function setUp(): Promise<Lab> {
  if (!PREFIX || !existsSync(path.join(PREFIX, 'sbin', 'asterisk'))) throw new Error('set ASTERISK_PREFIX to an Asterisk 22 install (sbin/asterisk)');
  if (!existsSync(path.join(SERVICE_DIR, 'dist', 'main.js'))) throw new Error(`${SERVICE_DIR}/dist/main.js missing: build the service first (npm run build)`);
  const dir = env.LAB_DIR ?? mkdtempSync(path.join(tmpdir(), 'h114-asterisk-lab-'));
  const ports: LabPorts = {
    sip: await freePort(),
    http: await freePort(),
    ami: await freePort(),
    pg: await freePort(),
    redis: await freePort(),
    service: await freePort(),
    agentSipp: await freePort(),
  };
  const secrets = { ari: `lab-${randomBytes(8).toString('hex')}`, ami: `lab-${randomBytes(8).toString('hex')}` };
  const etc = renderAsteriskConfig({ dir, asteriskPrefix: PREFIX, agents: AGENTS, queueSizes: [20, AGENTS], ports, secrets, configDir: env.ASTERISK_CONFIG_DIR });
  await installPrompts(dir);
  console.log(`lab in ${dir}`);

  const pg = await startPostgres(dir, ports.pg);
  if (env.PG_STATEMENTS === '1') {
    execFileSync('psql', ['-h', '127.0.0.1', '-p', String(ports.pg), '-U', 'postgres', '-d', 'postgres', '-qc', 'create extension if not exists pg_stat_statements']);
  }
  const redis = start('redis', 'redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const asterisk = start('asterisk', path.join(PREFIX, 'sbin', 'asterisk'), ['-f', '-C', path.join(etc, 'asterisk.conf')]);
  await until(
    'Asterisk fully booted',
    () => {
      execFileSync(path.join(PREFIX, 'sbin', 'asterisk'), ['-C', path.join(etc, 'asterisk.conf'), '-rx', 'core waitfullybooted'], { stdio: 'ignore', timeout: 5000 });
      return true;
    },
    60_000,
    500,
  );
  const messages = path.join(dir, 'log', 'messages.log');
  const log = existsSync(messages) ? readFileSync(messages, 'utf8') : '';
  const errors = log.split('\n').filter((l) => /\bERROR\[/.test(l));
  const warnings = log.split('\n').filter((l) => /\bWARNING\[/.test(l));
  console.log(`asterisk-config loaded: ${errors.length} ERROR and ${warnings.length} WARNING lines at start`);
  for (const l of [...errors, ...warnings].slice(0, 20)) console.log(`  ${l}`);

  const tcpdump = start('tcpdump', 'tcpdump', ['-i', 'lo', '-n', '-s', '2048', '-B', '32768', '-U', '-w', path.join(dir, 'sip.pcap'), 'udp', 'port', String(ports.sip)]);
  await until('tcpdump listening', () => tcpdump.output().includes('listening on'), 10_000);

  const agentSipp = start(
    'sipp-agents',
    'sipp',
    ['-sf', path.join(SCENARIOS, 'agent.xml'), '-i', AGENT_IP, '-p', String(ports.agentSipp), '-mp', String(ports.agentSipp + 2), '-nostdin', '-trace_err', '-error_file', path.join(dir, 'sipp-agents.err'), `${ASTERISK_IP}:${ports.sip}`],
    { cwd: dir },
  );

  const databaseUrl = `postgres://postgres@127.0.0.1:${ports.pg}/postgres`;
  // SERVICE_CPU_PROF=<dir>: a --cpu-prof of the service, written when the lab stops it.
  const prof = env.SERVICE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.SERVICE_CPU_PROF)}`] : [];
  // SERVICE_NODE_ARGS="--trace-gc …": more flags for the service's node (their output goes to service.log).
  const nodeArgs = (env.SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const service = start('service', process.execPath, [...prof, ...nodeArgs, path.join(SERVICE_DIR, 'dist', 'main.js')], {
    cwd: SERVICE_DIR,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: env.SERVICE_LOG_LEVEL ?? 'warn',
      HOST: '127.0.0.1',
      PORT: String(ports.service),
      DATABASE_URL: databaseUrl,
      DB_SCHEMA: '',
      REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
      REDIS_PREFIX: 'h114lab',
      ARI_URL: `http://${ASTERISK_IP}:${ports.http}`,
      ARI_PASSWORD: secrets.ari,
      AMI_HOST: ASTERISK_IP,
      AMI_PORT: String(ports.ami),
      AMI_SECRET: secrets.ami,
      METRICS_TOKEN: randomBytes(12).toString('hex'),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      AGENT_ENDPOINT_TEMPLATE: 'PJSIP/agent{extension}',
      CALL_WRAPUP_SEC: '0',
      // SERVICE_CALL_RECORD=false: the service without its call recording (Queue() still runs MixMonitor), to see
      // what recording costs Asterisk; not a fair comparison, a diagnosis.
      ...(env.SERVICE_CALL_RECORD ? { CALL_RECORD: env.SERVICE_CALL_RECORD } : {}),
    },
  });
  // The service's log stays in the lab directory (SERVICE_LOG_LEVEL=debug shows each step's timing).
  const serviceLog = createWriteStream(path.join(dir, 'service.log'));
  service.child.stdout?.pipe(serviceLog);
  service.child.stderr?.pipe(serviceLog);
  const base = `http://127.0.0.1:${ports.service}`;
  await until(
    'service up with ARI and AMI',
    async () => {
      if (service.child.exitCode !== null) throw Object.assign(new Error(`service exited: ${service.output().slice(-3000)}`), { fatal: true });
      const h = (await fetch(`${base}/health`).then((r) => r.json())) as Record<string, unknown>;
      const text = JSON.stringify(h);
      return text.includes('"ari":"up"') && text.includes('"ami":"up"');
    },
    90_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${service.output().slice(-3000)}`);
  });

  // Agents 2001…2200 with tokens, from the service's own compiled modules (the same code the service runs).
  const req = (m: string) => import(path.join(SERVICE_DIR, 'dist', m)) as Promise<Record<string, unknown>>;
  const { createDb } = (await req('infra/db.js')) as { createDb: (o: { url: string; max?: number }) => { close(): Promise<void> } };
  const { createLogger } = (await req('infra/logger.js')) as { createLogger: (level: string) => unknown };
  const { createAuthService } = (await req('auth/service.js')) as {
    createAuthService: (d: { db: unknown; logger: unknown }) => {
      createUser(i: { username: string; displayName: string; role: string; extension: string }): Promise<{ id: number }>;
      issueToken(id: number, o: { label: string }): Promise<{ token: string }>;
    };
  };
  const db = createDb({ url: databaseUrl, max: 4 });
  const auth = createAuthService({ db, logger: createLogger('silent') });
  const tokens: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const ext = extensionOf(i);
    const user = await auth.createUser({ username: `lab-${ext}`, displayName: `坐席${ext}`, role: 'agent', extension: ext });
    tokens.push((await auth.issueToken(user.id, { label: 'bench' })).token);
  }
  await db.close();

  const lab: Lab = { dir, ports, asterisk, service, redis, pg, agentSipp, tcpdump, pcap: path.join(dir, 'sip.pcap'), base, tokens, sockets: [], offered: new Map(), callIds: new Map(), connected: new Map(), loggedIn: 0 };
  for (const token of tokens) {
    const ws = await openConsole(base, token);
    ws.on('message', (data) => {
      const at = nowMs();
      const m = JSON.parse(data.toString()) as { type: string; callerNumber?: string; callId?: string };
      if (!m.callerNumber) return;
      if (m.type === 'call.offered' && !lab.offered.has(m.callerNumber)) {
        lab.offered.set(m.callerNumber, at);
        if (m.callId) lab.callIds.set(m.callerNumber, m.callId);
      }
      if (m.type === 'call.connected' && !lab.connected.has(m.callerNumber)) lab.connected.set(m.callerNumber, at);
    });
    lab.sockets.push(ws);
  }
  return lab;
}

/** Signs in agents until `n` are ready (the service offers calls only to signed-in agents). */
async function signIn(lab: Lab, n: number): Promise<void> {
  for (; lab.loggedIn < n; lab.loggedIn++) {
    const res = await fetch(`${lab.base}/api/agents/me/login`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lab.tokens[lab.loggedIn]}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (res.status !== 200) throw new Error(`agent sign-in answered ${res.status}: ${await res.text()}`);
  }
}

function labPids(lab: Lab): Record<string, number[]> {
  return {
    asterisk: [lab.asterisk.child.pid!],
    service: [lab.service.child.pid!],
    postgres: processTree(lab.pg.pid()),
    redis: [lab.redis.child.pid!],
  };
}

let nextBlockId = 10;

/** One sipp run of callers; CPU of every lab process around it. */
/** The statements that took PostgreSQL's time over the whole run (both variants: Queue() calls run none). */
function printStatements(lab: Lab): void {
  const sql = `select calls, round(total_exec_time::numeric, 1) as total_ms, round(mean_exec_time::numeric, 3) as mean_ms,
                      regexp_replace(left(query, 110), '\\s+', ' ', 'g') as query
                 from pg_stat_statements order by total_exec_time desc limit 20`;
  const out = execFileSync('psql', ['-h', '127.0.0.1', '-p', String(lab.ports.pg), '-U', 'postgres', '-d', 'postgres', '-P', 'pager=off', '-c', sql], { encoding: 'utf8' });
  console.log(`\nPostgreSQL statements by total time (pg_stat_statements):\n${out}`);
}

/** The callers of one block: one sipp run, resolved with its exit code. */
async function runCallers(
  lab: Lab,
  id: number,
  service: string,
  errFile: string,
  o: { calls: number; limit: number; rate: number; ratePeriodMs: number; holdMs: number; gapMs: number },
): Promise<number | null> {
  const sipp = start(
    `sipp-${id}`,
    'sipp',
    [
      `${ASTERISK_IP}:${lab.ports.sip}`,
      '-sf',
      path.join(SCENARIOS, 'caller.xml'),
      '-s',
      service,
      '-i',
      CALLER_IP,
      '-p',
      String(await freeUdpPort(CALLER_IP)),
      '-mp',
      String(await freeUdpPort(CALLER_IP)),
      '-set',
      'block',
      String(id),
      '-set',
      'hold_ms',
      String(o.holdMs),
      '-set',
      'gap_ms',
      String(o.gapMs),
      '-m',
      String(o.calls),
      '-l',
      String(o.limit),
      '-r',
      String(o.rate),
      '-rp',
      String(o.ratePeriodMs),
      '-timeout',
      '300',
      '-nostdin',
      '-trace_err',
      '-error_file',
      errFile,
    ],
    { cwd: lab.dir },
  );
  return sipp.exited;
}

async function block(lab: Lab, phase: string, variant: Variant, o: { calls: number; limit: number; rate: number; ratePeriodMs: number; holdMs: number; gapMs: number; queue: number }): Promise<Block> {
  const id = nextBlockId++;
  const pids = labPids(lab);
  const before = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, cpuSnapshot(v)]));
  const startedAt = nowMs();
  const service = variant === 'service' ? '114' : queueExten(o.queue);
  const errFile = path.join(lab.dir, `sipp-${id}.err`);
  let sippExit: number | null;
  // sipp binds its ports a moment after we found them free; when another program took one meanwhile it exits
  // before placing any call ("Unable to bind", errno 98), and the block is started again on other ports.
  for (let attempt = 1; ; attempt++) {
    sippExit = await runCallers(lab, id, service, errFile, o);
    const bindFailed = sippExit !== 0 && existsSync(errFile) && /errno = 98|Address already in use/.test(readFileSync(errFile, 'utf8'));
    if (!bindFailed || attempt === 3) break;
    console.log(`  block ${id}: sipp could not bind its ports, starting it again`);
  }
  // A block whose callers never ran would divide CPU by calls that never happened.
  if (sippExit !== 0 && existsSync(errFile) && /errno = 98|Address already in use/.test(readFileSync(errFile, 'utf8'))) {
    throw new Error(`block ${id} (${phase} ${variant}): sipp could not bind its ports three times; see ${errFile}`);
  }
  const endedAt = nowMs();
  // Let the last hang-ups settle (wrap-up 0, device states) before the next block starts.
  await new Promise((r) => setTimeout(r, 1500));
  const after = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, cpuSnapshot(k === 'postgres' ? processTree(lab.pg.pid()) : v)]));
  const cpu = Object.fromEntries(Object.keys(pids).map((k) => [k, cpuDelta(before[k]!, after[k]!)]));
  const b: Block = { id, phase, variant, calls: o.calls, cpu, sippExit, startedAt, endedAt, cpuWindowSec: (nowMs() - startedAt) / 1000 };
  console.log(
    `  block ${id} ${phase} ${variant}: ${o.calls} calls in ${((endedAt - startedAt) / 1000).toFixed(1)} s, sipp exit ${sippExit}; CPU ms asterisk ${cpu.asterisk!.toFixed(0)} service ${cpu.service!.toFixed(0)} postgres ${cpu.postgres!.toFixed(0)} redis ${cpu.redis!.toFixed(0)}`,
  );
  return b;
}

interface Invite {
  at: number;
  callId: string;
  fromUser: string;
}

/** Initial INVITEs (no To tag) from the capture: callers → Asterisk, Asterisk → agents (first per Call-ID). */
function readCapture(lab: Lab): { callerIn: Map<string, number>; agentOut: Map<string, number>; callerAnswered: Map<string, number> } {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      lab.pcap,
      '-n',
      '-d',
      `udp.port==${lab.ports.sip},sip`,
      '-Y',
      '(sip.Method == "INVITE" && !sip.to.tag) || (sip.Status-Code == 200 && sip.CSeq.method == "INVITE")',
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'sip.Call-ID',
      '-e',
      'sip.from.user',
      '-e',
      'sip.Status-Code',
    ],
    { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  const callerIn = new Map<string, number>();
  const agentOut = new Map<string, number>();
  const callerAnswered = new Map<string, number>();
  const seen = new Set<string>();
  for (const line of out.split('\n')) {
    const [t, src, dst, callId, fromUser, status] = line.split('\t');
    if (!t || !callId || !fromUser) continue;
    const inv: Invite = { at: Number(t) * 1000, callId, fromUser };
    if (status === '200') {
      // Asterisk answering the caller's INVITE.
      if (src === ASTERISK_IP && dst === CALLER_IP && !callerAnswered.has(inv.fromUser)) callerAnswered.set(inv.fromUser, inv.at);
      continue;
    }
    const key = `${src}>${dst}|${callId}`;
    if (seen.has(key)) continue; // retransmission
    seen.add(key);
    if (src === CALLER_IP && dst === ASTERISK_IP && !callerIn.has(inv.fromUser)) callerIn.set(inv.fromUser, inv.at);
    if (src === ASTERISK_IP && dst === AGENT_IP && !agentOut.has(inv.fromUser)) agentOut.set(inv.fromUser, inv.at);
  }
  return { callerIn, agentOut, callerAnswered };
}

interface PhaseResult {
  phase: string;
  variant: Variant;
  calls: number;
  setUp: number[];
  missing: number;
  answeredBeforeRing: number;
  cpu: Record<string, number>;
  pops: number[];
  popsMissing: number;
  popsAfterConnected: number;
  seconds: number;
  cpuWindowSec: number;
  /** Set-up split at the service's own timestamps (debug log only): before it, in it, after it. */
  parts: { asterisk_in: number[]; service: number[]; asterisk_out: number[] };
}

function summarise(lab: Lab, blocks: Block[]): PhaseResult[] {
  const cap = readCapture(lab);
  const timings = serviceTimings(lab);
  const results = new Map<string, PhaseResult>();
  for (const b of blocks) {
    const key = `${b.phase}|${b.variant}`;
    const r = results.get(key) ?? { phase: b.phase, variant: b.variant, calls: 0, setUp: [], missing: 0, answeredBeforeRing: 0, cpu: {}, pops: [], popsMissing: 0, popsAfterConnected: 0, seconds: 0, cpuWindowSec: 0, parts: { asterisk_in: [], service: [], asterisk_out: [] } };
    results.set(key, r);
    r.calls += b.calls;
    r.seconds += (b.endedAt - b.startedAt) / 1000;
    r.cpuWindowSec += b.cpuWindowSec;
    for (const [k, v] of Object.entries(b.cpu)) r.cpu[k] = (r.cpu[k] ?? 0) + v;
    const prefix = `139${b.id}`;
    for (const [num, tin] of cap.callerIn) {
      if (!num.startsWith(prefix) || num.length < prefix.length + 1) continue;
      const tout = cap.agentOut.get(num);
      if (tout === undefined) {
        r.missing++;
        continue;
      }
      r.setUp.push(tout - tin);
      const answered = cap.callerAnswered.get(num);
      if (answered !== undefined && answered < tout) r.answeredBeforeRing++;
      if (b.variant === 'service') {
        const pop = lab.offered.get(num);
        if (pop === undefined) r.popsMissing++;
        else {
          r.pops.push(pop - tin);
          const conn = lab.connected.get(num);
          if (conn !== undefined && conn < pop) r.popsAfterConnected++;
        }
        const t = timings.get(lab.callIds.get(num) ?? '');
        if (t) {
          r.parts.asterisk_in.push(t.receivedAt - tin);
          r.parts.service.push(t.originateAt - t.receivedAt);
          r.parts.asterisk_out.push(tout - t.originateAt);
        }
      }
    }
  }
  return [...results.values()];
}

function report(results: PhaseResult[]): void {
  const by = (phase: string, v: Variant) => results.find((r) => r.phase === phase && r.variant === v);
  console.log('\ncall set-up: caller INVITE at Asterisk → Asterisk INVITE to the agent (packet capture on lo), ms');
  console.log('| phase | calls (each) | app_queue p50 / p95 / p99 | hotline114 p50 / p95 / p99 | ratio p50 / p95 | not rung (queue / service) | caller answered before an agent rang (queue / service) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const phase of PHASES) {
    // With one variant only (VARIANTS=service), its column is filled and the other shows '-'.
    const q = by(phase, 'queue');
    const s = by(phase, 'service');
    if (!q && !s) continue;
    const cell = (r: PhaseResult | undefined) => (r ? `${f1(pct(r.setUp, 50))} / ${f1(pct(r.setUp, 95))} / ${f1(pct(r.setUp, 99))}` : '-');
    for (const r of [q, s]) r?.setUp.sort((a, b) => a - b);
    const ratio = q && s ? `${(pct(s.setUp, 50) / pct(q.setUp, 50)).toFixed(2)}× / ${(pct(s.setUp, 95) / pct(q.setUp, 95)).toFixed(2)}×` : '-';
    console.log(
      `| ${phase} | ${(s ?? q)!.calls} | ${cell(q)} | ${cell(s)} | ${ratio} | ${q?.missing ?? '-'} / ${s?.missing ?? '-'} | ${q?.answeredBeforeRing ?? '-'} / ${s?.answeredBeforeRing ?? '-'} |`,
    );
  }
  console.log('\nCPU ms per call (all lab processes, same 2 cores; PostgreSQL = the lab cluster, Redis = the lab server)');
  console.log('| phase | variant | calls/s | asterisk | service | postgres | redis | total | total vs app_queue (Asterisk alone) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const phase of PHASES) {
    const q = by(phase, 'queue');
    for (const r of [q, by(phase, 'service')]) {
      if (!r) continue;
      const per = (k: string) => (r.cpu[k] ?? 0) / r.calls;
      const total = per('asterisk') + per('service') + per('postgres') + per('redis');
      const qBase = q ? (q.cpu.asterisk ?? 0) / q.calls : NaN;
      console.log(
        `| ${phase} | ${r.variant === 'queue' ? 'app_queue' : 'hotline114'} | ${f1(r.calls / r.seconds)} | ${f1(per('asterisk'))} | ${f1(per('service'))} | ${f1(per('postgres'))} | ${f1(per('redis'))} | ${f1(total)} | ${r.variant === 'service' && q ? `${(total / qBase).toFixed(2)}×` : ''} |`,
      );
    }
  }
  console.log('\nservice CPU while Asterisk runs Queue() calls it does not handle, vs idle (ms per second of wall time)');
  for (const phase of PHASES) {
    const q = by(phase, 'queue');
    if (!q) continue;
    const above = ((q.cpu.service ?? 0) - idleServiceMsPerSec * q.cpuWindowSec) / q.calls;
    console.log(
      `  ${phase}: ${f1((q.cpu.service ?? 0) / q.cpuWindowSec)} ms/s during Queue() blocks, idle ${f1(idleServiceMsPerSec)} ms/s: ${f1((q.cpu.service ?? 0) / q.calls)} ms per Queue() call, ${above.toFixed(2)} above idle`,
    );
  }
  console.log('\nscreen pop: caller INVITE at Asterisk → call.offered on the agent console (hotline114 blocks), ms');
  console.log('| phase | pops | p50 / p95 / p99 | missing | after call.connected |');
  console.log('|---|---|---|---|---|');
  for (const phase of PHASES) {
    const s = by(phase, 'service');
    if (!s) continue;
    s.pops.sort((a, b) => a - b);
    console.log(`| ${phase} | ${s.pops.length} | ${f1(pct(s.pops, 50))} / ${f1(pct(s.pops, 95))} / ${f1(pct(s.pops, 99))} | ${s.popsMissing} | ${s.popsAfterConnected} |`);
  }
  const parts = results.filter((r) => r.variant === 'service' && r.parts.asterisk_in.length);
  if (!parts.length) return;
  console.log('\nwhere the set-up time goes (SERVICE_LOG_LEVEL=debug; capture and service clocks are both epoch), ms p50 / p95:');
  console.log('| phase | calls | INVITE → caller reaches the service (Asterisk, Stasis, WebSocket) | in the service until the originate | originate sent → INVITE to the agent (Asterisk) |');
  console.log('|---|---|---|---|---|');
  for (const r of parts) {
    const cell = (a: number[]) => (a.sort((x, y) => x - y), `${f1(pct(a, 50))} / ${f1(pct(a, 95))}`);
    console.log(`| ${r.phase} | ${r.parts.asterisk_in.length} | ${cell(r.parts.asterisk_in)} | ${cell(r.parts.service)} | ${cell(r.parts.asterisk_out)} |`);
  }
}

/** The service's debug line per offer (offer.ts): when the caller reached it and when it originated, by call id. */
function serviceTimings(lab: Lab): Map<string, { receivedAt: number; originateAt: number }> {
  const out = new Map<string, { receivedAt: number; originateAt: number }>();
  const file = path.join(lab.dir, 'service.log');
  if (!existsSync(file)) return out;
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    if (!line.includes('"screen pop sent"')) continue;
    try {
      const j = JSON.parse(line) as { callId?: string; receivedAtEpoch?: number; originateAtEpoch?: number };
      if (j.callId && j.receivedAtEpoch && j.originateAtEpoch && !out.has(j.callId)) out.set(j.callId, { receivedAt: j.receivedAtEpoch, originateAt: j.originateAtEpoch });
    } catch {
      // a line cut by the stop: ignored
    }
  }
  return out;
}

async function main(): Promise<void> {
  const lab = await setUp();
  const blocks: Block[] = [];
  const n = (x: number) => Math.max(1, Math.round(x * SCALE));
  try {
    await signIn(lab, 20);
    // The service's own background work (timers, queue workers, keep-alives) with no call at all: the floor under
    // "the service's CPU while Asterisk runs calls it does not handle" (the Queue() blocks).
    const idlePids = [lab.service.child.pid!];
    const idleBefore = cpuSnapshot(idlePids);
    await new Promise((r) => setTimeout(r, IDLE_SEC * 1000));
    idleServiceMsPerSec = cpuDelta(idleBefore, cpuSnapshot(idlePids)) / IDLE_SEC;
    console.log(`service idle (no calls, ${IDLE_SEC} s): ${idleServiceMsPerSec.toFixed(1)} CPU ms per second`);
    // Warm-up, not measured: the service's JavaScript is compiled during its first calls, and Asterisk's and
    // PostgreSQL's caches fill; a hotline that runs all day is warm. WARMUP calls per variant (0: none).
    if (WARMUP > 0) {
      console.log(`warm-up: ${WARMUP} calls per variant, not measured`);
      for (const v of VARIANTS) await block(lab, 'warm-up', v, { calls: WARMUP, limit: 10, rate: 1000, ratePeriodMs: 1000, holdMs: 300, gapMs: GAP_MS, queue: 20 });
    }
    // Interleaved blocks: service, queue, service, queue… so drift on the machine hits both alike.
    const alternate = async (phase: string, rounds: number, o: Parameters<typeof block>[3]) => {
      console.log(`phase ${phase}: ${rounds} rounds of ${o.calls} calls per variant`);
      for (let i = 0; i < rounds; i++) {
        for (const v of (i % 2 ? ['queue', 'service'] : ['service', 'queue']) as Variant[]) if (VARIANTS.includes(v)) blocks.push(await block(lab, phase, v, o));
      }
    };
    if (PHASES.includes('single')) await alternate('single', 4, { calls: n(10), limit: 1, rate: 1000, ratePeriodMs: 1000, holdMs: 300, gapMs: GAP_MS, queue: 20 });
    if (PHASES.includes('open20')) await alternate('open20', 3, { calls: n(100), limit: 20, rate: 1000, ratePeriodMs: 1000, holdMs: HOLD_MS, gapMs: GAP_MS, queue: 20 });
    // 20 callers within ~100 ms, all 20 agents free: one sipp run per burst.
    if (PHASES.includes('burst')) await alternate('burst', 5, { calls: 20, limit: 20, rate: 200, ratePeriodMs: 1000, holdMs: HOLD_MS, gapMs: 0, queue: 20 });
    if (PHASES.includes('open200')) {
      await signIn(lab, AGENTS);
      await alternate('open200', 2, { calls: n(300), limit: 200, rate: 100, ratePeriodMs: 1000, holdMs: 2000, gapMs: GAP_MS, queue: AGENTS });
    }
    // Every console message that is coming has come: the last block ended seconds ago.
    report(summarise(lab, blocks));
    if (process.env.PG_STATEMENTS === '1') printStatements(lab);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${lab.service.child.pid}/status`, 'utf8'));
    console.log(`\nservice RSS at the end ${rss ? (Number(rss[1]) / 1024).toFixed(0) : '?'} MB; lab kept in ${lab.dir}`);
  } finally {
    for (const ws of lab.sockets) ws.close();
    await stop(lab.service);
    await stop(lab.agentSipp);
    await stop(lab.tcpdump, 'SIGINT');
    await stop(lab.asterisk);
    await stop(lab.redis);
    // runuser may not pass the signal on: the postmaster itself gets it (fast shutdown).
    process.kill(lab.pg.pid(), 'SIGINT');
    await stop(lab.pg.proc, 'SIGINT');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
