// npm run demo — the try-it mode: the service with a simulated PBX (the Asterisk simulator of test/asterisk, which
// speaks ARI and AMI on the wire like Asterisk 22) and a caller generator, so a newcomer without Asterisk sees live
// calls, screen pops and the queue. Every page shows a 演示模式 banner. The real path is unchanged: `npm start`
// talks ARI/AMI to a real Asterisk; nothing here is used by it.
//
// Uses the local PostgreSQL and Redis (DATABASE_URL, REDIS_URL) but its own schema (DEMO_DB_SCHEMA, default
// hotline114_demo) and Redis prefix, so it never touches a real installation's data.
// Settings: PORT (3000), DEMO_CALL_EVERY_SEC (20), DEMO_BOT_AGENTS (2: agents 1002… answer by themselves).
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createDb } from '../src/infra/db';
import { createLogger } from '../src/infra/logger';
import { migrate } from '../src/infra/migrate';
import { seed, CALLERS, DEMO_PASSWORD, USERS } from '../src/cli/seed';
import { AsteriskSimulator } from '../test/asterisk';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const rand = (min: number, max: number) => min + Math.random() * (max - min);

async function main(): Promise<void> {
  const sim = await AsteriskSimulator.start({ defaultSoundMs: 400 });
  const schema = process.env.DEMO_DB_SCHEMA ?? 'hotline114_demo';
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'development',
    PORT: process.env.PORT ?? '3000',
    DB_SCHEMA: schema,
    REDIS_PREFIX: process.env.DEMO_REDIS_PREFIX ?? 'h114demo',
    ARI_ENABLED: 'true',
    ARI_URL: sim.ariUrl,
    ARI_USERNAME: 'hotline114',
    ARI_PASSWORD: 'hotline114',
    ARI_APP: 'hotline114',
    AMI_ENABLED: 'true',
    AMI_HOST: '127.0.0.1',
    AMI_PORT: String(sim.amiPort),
    AMI_USERNAME: 'hotline114',
    AMI_SECRET: 'hotline114',
    AGENT_ENDPOINT_TEMPLATE: 'PJSIP/agent{extension}',
    CALL_WRAPUP_SEC: process.env.CALL_WRAPUP_SEC ?? '20',
    CALL_SURVEY: 'false',
  });
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', undefined, { format: config.logFormat });

  // The demo's own schema, created and migrated before the service starts; then the demo data (seed).
  const admin = createDb({ url: config.databaseUrl, schema: null, max: 1, logger });
  await admin.query(`create schema if not exists "${schema.replace(/"/g, '')}"`);
  await admin.close();
  await migrate(config.databaseUrl, schema, logger);
  const db = createDb({ url: config.databaseUrl, schema, max: 2, logger });
  const seeded = await seed(db, { logger, password: () => DEMO_PASSWORD });
  await db.close();

  const app = await buildApp({ config, logger, demo: true });
  await app.fastify.listen({ host: config.http.host, port: config.http.port });
  const base = `http://localhost:${config.http.port}`;

  // The agents' phones: agent 1001 is the newcomer's seat in the browser (its phone answers 3 s after it rings);
  // the bot agents (1002…) sign in and answer by themselves, so the queue keeps moving.
  const agents = USERS.filter((u) => u.role === 'agent' && u.extension);
  const bots = agents.slice(1, 1 + num('DEMO_BOT_AGENTS', 2));
  for (const a of agents) sim.addEndpoint(`agent${a.extension!}`, { context: 'from-agents', behavior: { answerAfterMs: a === agents[0] ? 3000 : 1500 } });
  for (const b of bots) {
    const token = seeded.tokens.find((t) => t.username === b.username)?.token;
    const res = await app.fastify.inject({ method: 'POST', url: '/api/agents/me/login', headers: { authorization: `Bearer ${token}` }, payload: {} });
    if (res.statusCode !== 200) throw new Error(`demo bot ${b.username} could not sign in: ${res.body}`);
  }
  for (const d of ['heating', 'water', 'housing']) sim.addEndpoint(`dept-${d}`, { context: 'from-trunk', behavior: { answerAfterMs: 2500 } });
  await app.db.query(`update departments set sip_endpoint = 'PJSIP/dept-' || code where code = any($1) and sip_endpoint is null`, [['heating', 'water', 'housing']]);

  const callers = generateCalls(sim, num('DEMO_CALL_EVERY_SEC', 20) * 1000);

  process.stdout.write(
    `\n==== 114 热线 · 演示模式（模拟电话系统，来电自动生成；真实部署请用 npm start 连接 Asterisk）====\n` +
      `打开 ${base}/signin/ 登录（密码均为 ${DEMO_PASSWORD}）：\n` +
      `  坐席工作台   ${agents[0]!.username}（${agents[0]!.displayName}，分机 ${agents[0]!.extension}）→ 点“签入”后等待来电，话机 3 秒后自动接听\n` +
      `  派单员       dispatcher\n  班长         supervisor\n  部门工作人员 heating-staff、water-staff\n  市民门户     ${base}/portal/（无需登录）\n` +
      `机器人坐席 ${bots.map((b) => b.username).join('、') || '无'} 已签入；每约 ${num('DEMO_CALL_EVERY_SEC', 20)} 秒一个模拟来电。Ctrl+C 结束。\n\n`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    callers.stop();
    await app.close().catch(() => undefined);
    await sim.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/**
 * Simulated residents: a call every ~interval (±50 %) from a seeded caller or a new number; once connected they
 * talk 30–90 s and hang up (unless the agent does first); a caller kept waiting beyond their patience (45–120 s)
 * gives up — an abandoned call in the missed-call list.
 */
function generateCalls(sim: AsteriskSimulator, intervalMs: number): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let n = 0;
  const next = () => {
    timer = setTimeout(dial, rand(0.5, 1.5) * intervalMs);
  };
  const dial = () => {
    n += 1;
    const known = Math.random() < 0.5 ? CALLERS[Math.floor(Math.random() * CALLERS.length)] : undefined;
    const number = known?.number ?? `13${Math.floor(rand(100000000, 999999999))}`;
    const ch = sim.dial({ from: `demo-caller-${n}`, callerNumber: number, app: 'hotline114', appArgs: ['inbound'] });
    const hangup = () => {
      if (ch.state !== 'destroyed') ch.hangup();
    };
    const patience = setTimeout(hangup, rand(45, 120) * 1000);
    void ch.waitFor('bridged').then(() => {
      clearTimeout(patience);
      setTimeout(hangup, rand(30, 90) * 1000);
    }, () => clearTimeout(patience));
    void ch.waitFor('destroyed').then(() => clearTimeout(patience), () => undefined);
    next();
  };
  timer = setTimeout(dial, 3000);
  return { stop: () => clearTimeout(timer) };
}

main().catch((err: unknown) => {
  process.stderr.write(`演示模式启动失败：${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
