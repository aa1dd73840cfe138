// The lab around a real Asterisk 22 for bench/asterisk/run.ts: our asterisk-config/ rendered by its own entrypoint
// (so production configuration is what is measured), plus a bench overlay that production never loads — a caller
// endpoint identified by address, agent phones with static contacts on one sipp, Queue() for the comparison —
// a private PostgreSQL cluster and Redis (their CPU is then ours alone), Asterisk, and the service from a built
// checkout. Nothing of Asterisk is in this repository: ASTERISK_PREFIX points at an install made elsewhere.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { generatePrompts } from '../../src/cli/prompts';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface LabPorts {
  sip: number;
  http: number;
  ami: number;
  pg: number;
  redis: number;
  service: number;
  agentSipp: number;
}

/** Addresses on loopback: Asterisk, the callers' sipp (identified by address), the agents' sipp. */
export const ASTERISK_IP = '127.0.0.1';
export const CALLER_IP = '127.0.0.2';
export const AGENT_IP = '127.0.0.3';

export interface LabOptions {
  dir: string;
  asteriskPrefix: string;
  agents: number; // agent phones 2001…(2000+agents)
  queueSizes: number[]; // Queue() "benchN" with the first N agents as members
  ports: LabPorts;
  secrets: { ari: string; ami: string };
  /** The bench endpoints, dialplan and Queue(); false: production configuration only (ports and paths aside). */
  overlay?: boolean;
  /** The templates to render (default this checkout's asterisk-config/). */
  configDir?: string;
}

export function extensionOf(i: number): string {
  return String(2001 + i);
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; user?: string } = {}): string {
  const [bin, argv] = opts.user ? ['runuser', ['-u', opts.user, '--', cmd, ...args]] : [cmd, args];
  return execFileSync(bin, argv, { env: { ...process.env, ...opts.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Renders asterisk-config/ with docker-entrypoint.sh into <dir>/etc and adds the bench overlay. */
export function renderAsteriskConfig(o: LabOptions): string {
  const etc = path.join(o.dir, 'etc');
  const lib = path.join(o.dir, 'var', 'lib');
  // spool/recording and spool/monitor: where ARI recordings and MixMonitor write (the image has them).
  for (const d of [etc, lib, path.join(o.dir, 'spool', 'recording'), path.join(o.dir, 'spool', 'monitor'), path.join(o.dir, 'run'), path.join(o.dir, 'log'), path.join(o.dir, 'cache')]) {
    mkdirSync(d, { recursive: true });
  }
  // The install's data files (XML documentation, which Stasis needs to start; rest-api; keys…), next to our sounds.
  const installed = path.join(o.asteriskPrefix, 'var', 'lib', 'asterisk');
  for (const e of existsSync(installed) ? readdirSync(installed) : []) {
    if (e !== 'sounds' && e !== 'moh' && !existsSync(path.join(lib, e))) symlinkSync(path.join(installed, e), path.join(lib, e));
  }
  // `true` as the command: the entrypoint renders, checks the placeholders and runs it instead of Asterisk.
  const templates = path.resolve(o.configDir ?? path.join(ROOT, 'asterisk-config'));
  run('sh', [path.join(templates, 'docker-entrypoint.sh'), 'true'], {
    env: { ASTERISK_TEMPLATE_DIR: templates, ASTERISK_ETC_DIR: etc, ARI_PASSWORD: o.secrets.ari, AMI_SECRET: o.secrets.ami },
  });
  const edit = (file: string, fn: (s: string) => string) => writeFileSync(path.join(etc, file), fn(readFileSync(path.join(etc, file), 'utf8')));
  const dirs: Record<string, string> = {
    astcachedir: path.join(o.dir, 'cache'),
    astetcdir: etc,
    astmoddir: path.join(o.asteriskPrefix, 'lib', 'asterisk', 'modules'),
    astvarlibdir: lib,
    astdbdir: lib,
    astkeydir: lib,
    astdatadir: lib,
    astagidir: path.join(lib, 'agi-bin'),
    astspooldir: path.join(o.dir, 'spool'),
    astrundir: path.join(o.dir, 'run'),
    astlogdir: path.join(o.dir, 'log'),
    astsbindir: path.join(o.asteriskPrefix, 'sbin'),
  };
  edit('asterisk.conf', (s) => s.replace(/^(\w+dir) => .*$/gm, (line, key: string) => (dirs[key] ? `${key} => ${dirs[key]}` : line)));
  // Ports of our own, so a lab never meets another Asterisk on this machine.
  edit('pjsip.conf', (s) => s.replace(/^bind = 0\.0\.0\.0:5060$/m, `bind = ${ASTERISK_IP}:${o.ports.sip}`));
  edit('http.conf', (s) => s.replace(/^bindaddr = .*$/m, `bindaddr = ${ASTERISK_IP}`).replace(/^bindport = .*$/m, `bindport = ${o.ports.http}`));
  edit('manager.conf', (s) => s.replace(/^port = 5038$/m, `port = ${o.ports.ami}`).replace(/^bindaddr = .*$/m, `bindaddr = ${ASTERISK_IP}`));
  if (o.overlay === false) return etc;
  // Queue() is not loaded in production (the service is the ACD); the comparison needs it.
  edit('modules.conf', (s) => s.replace(/^noload => app_queue\.so$/m, '; app_queue loaded for bench/asterisk'));

  const agents = Array.from({ length: o.agents }, (_, i) => extensionOf(i));
  appendFileSync(
    path.join(etc, 'pjsip.conf'),
    [
      '',
      '; ---- bench/asterisk overlay (never in production) ----',
      '[benchcaller](caller-endpoint)',
      'context = bench-callers',
      '',
      '[benchcaller-identify]',
      'type = identify',
      'endpoint = benchcaller',
      `match = ${CALLER_IP}`,
      '',
      ...agents.flatMap((ext) => [
        `[agent${ext}](agent-endpoint)`,
        `aors = agent${ext}`,
        `callerid = "Agent ${ext}" <${ext}>`,
        '',
        `[agent${ext}]`,
        'type = aor',
        `contact = sip:agent${ext}@${AGENT_IP}:${o.ports.agentSipp}`,
        'max_contacts = 1',
        'qualify_frequency = 0',
        '',
      ]),
    ].join('\n'),
  );
  appendFileSync(
    path.join(etc, 'extensions.conf'),
    [
      '',
      '; ---- bench/asterisk overlay (never in production) ----',
      '; 114: the hotline as in [from-callers]; 1NN: Queue() "benchNN", recording the bridged call as the service does.',
      '[bench-callers]',
      'exten => 114,1,NoOp(hotline call from ${CALLERID(all)})',
      ' same => n,Gosub(hotline-inbound,s,1)',
      ' same => n,Hangup()',
      ...o.queueSizes.flatMap((n) => [
        `exten => ${queueExten(n)},1,NoOp(queue call from \${CALLERID(all)})`,
        ' same => n,MixMonitor(bench-${UNIQUEID}.wav,b)',
        ` same => n,Queue(bench${n})`,
        ' same => n,Hangup()',
      ]),
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(etc, 'queues.conf'),
    [
      '; bench/asterisk: the same agents as the service, the settings of issue 14',
      '[general]',
      'persistentmembers = no',
      'autofill = yes',
      '',
      ...o.queueSizes.flatMap((n) => [
        `[bench${n}]`,
        'strategy = leastrecent',
        'autofill = yes',
        'ringinuse = no',
        'timeout = 20',
        'wrapuptime = 0',
        'joinempty = yes',
        'leavewhenempty = no',
        'announce-frequency = 0',
        'periodic-announce-frequency = 0',
        'announce-holdtime = no',
        'musicclass = default',
        ...agents.slice(0, n).map((ext) => `member => PJSIP/agent${ext}`),
        '',
      ]),
    ].join('\n'),
  );
  return etc;
}

export function queueExten(size: number): string {
  return String(1000 + size);
}

/** Our voice prompts and hold music, where the lab Asterisk looks for them (sounds/zh/hotline114). */
export async function installPrompts(dir: string): Promise<void> {
  const dest = path.join(dir, 'var', 'lib', 'sounds', 'zh', 'hotline114');
  const cache = path.join(ROOT, 'sounds', 'build', 'zh', 'hotline114');
  if (existsSync(path.join(cache, 'welcome.wav')) && existsSync(path.join(cache, 'moh', 'hold.wav'))) {
    mkdirSync(path.dirname(dest), { recursive: true });
    cpSync(cache, dest, { recursive: true });
    return;
  }
  await generatePrompts({ outDir: dest });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Two consecutive UDP ports free on `ip` (sipp's SIP port, or its media port and the RTCP one after it). Still a
 * race with other programs until sipp binds them: block() starts sipp again when it could not bind.
 */
export function freeUdpPort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, ip, () => {
      const port = s.address().port;
      const next = dgram.createSocket('udp4');
      next.once('error', () => s.close(() => resolve(freeUdpPort(ip))));
      next.bind(port + 1, ip, () => next.close(() => s.close(() => resolve(port))));
    });
  });
}

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

export function start(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; nice?: boolean } = {}): Proc {
  const child = spawn(opts.nice ? 'nice' : cmd, opts.nice ? ['-n', '10', cmd, ...args] : args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      out += String(err);
      resolve(-1);
    });
  });
  return { name, child, exited, output: () => out };
}

export async function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(t);
}

/** Polls `fn` until it returns a truthy value, or throws after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 60_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A PostgreSQL 15 cluster of the lab's own (runs as user postgres); returns its postmaster pid. */
export async function startPostgres(dir: string, port: number): Promise<{ proc: Proc; pid: () => number }> {
  const bin = '/usr/lib/postgresql/15/bin';
  const data = path.join(dir, 'pg');
  const sock = path.join(dir, 'pgsock');
  mkdirSync(sock, { recursive: true });
  chmodSync(dir, 0o755);
  run('chown', ['postgres', sock]);
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    mkdirSync(data, { recursive: true });
    run('chown', ['postgres', data]);
    run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8'], { user: 'postgres' });
  }
  // PG_STATEMENTS=1: pg_stat_statements on, so the bench can say which statements take PostgreSQL's CPU per call.
  const extra = process.env.PG_STATEMENTS === '1' ? ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all'] : [];
  const proc = start('postgres', 'runuser', ['-u', 'postgres', '--', path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', sock, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...extra]);
  await until('postgres', () => {
    try {
      run(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      return true;
    } catch {
      return false;
    }
  });
  const pid = () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { proc, pid };
}

/** pid and the pids of its children (PostgreSQL's backends and workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** CPU time (user + system) per process in ms. */
export function cpuSnapshot(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) * TICK_MS); // utime, stime (fields 14, 15)
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU ms spent between two snapshots (a process new since `before` counts from 0; one gone since, not at all). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}
