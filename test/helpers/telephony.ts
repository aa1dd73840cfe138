// A service process wired to the Asterisk simulator, with agents whose consoles are real WebSocket clients.
import WebSocket from 'ws';
import { AsteriskSimulator, type EndpointBehavior } from '../asterisk';
import { build, type TestApp, type TestUser } from './build';

export interface Console {
  messages: Record<string, unknown>[];
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

export interface TestAgent {
  user: TestUser;
  agentId: number;
  extension: string;
  endpoint: string; // simulator endpoint name, e.g. agent7003
  console: Console;
}

export interface CallLab {
  sim: AsteriskSimulator;
  t: TestApp;
  baseUrl: string;
  addAgent(behavior: EndpointBehavior, opts?: { login?: boolean }): Promise<TestAgent>;
  waitFor<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs?: number): Promise<T>;
  callRow(callId: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startLab(
  opts: { env?: Record<string, string>; sim?: AsteriskSimulator; schema?: string; ami?: boolean } = {},
): Promise<CallLab> {
  const sim = opts.sim ?? (await AsteriskSimulator.start({ defaultSoundMs: 200 }));
  const t = await build({
    telephony: true,
    schema: opts.schema,
    env: {
      ARI_ENABLED: 'true',
      ARI_URL: sim.ariUrl,
      ARI_USERNAME: 'hotline114',
      ARI_PASSWORD: 'hotline114',
      ARI_APP: 'hotline114',
      AMI_ENABLED: opts.ami === false ? 'false' : 'true',
      AMI_HOST: '127.0.0.1',
      AMI_PORT: String(sim.amiPort),
      AMI_USERNAME: 'hotline114',
      AMI_SECRET: 'hotline114',
      AGENT_ENDPOINT_TEMPLATE: 'PJSIP/agent{extension}',
      CALL_WRAPUP_SEC: '0',
      CALL_ANNOUNCE_EVERY_SEC: '0',
      CALL_SURVEY: 'false',
      ...opts.env,
    },
  });
  await t.app.fastify.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.app.fastify.server.address();
  const baseUrl = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : '';
  const consoles: Console[] = [];

  async function waitFor<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v as T;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // Generous: under CPU load the client's first connect can time out once and retry.
  await waitFor(() => t.app.health.report().then((h) => h.ari === 'up'), 'ARI up', 30_000);
  // AMI logs in on its own connection: a lab is ready when both are (the board and presence read AMI).
  if (opts.ami !== false) await waitFor(() => t.app.health.report().then((h) => h.ami === 'up'), 'AMI up', 30_000);
  // The events WebSocket can be open on our side a moment before Asterisk has registered the app; a call dialled
  // in between fails in Stasis(), as on a real Asterisk.
  await waitFor(() => sim.isAppConnected('hotline114'), 'Stasis app registered', 30_000);

  async function addAgent(behavior: EndpointBehavior, o: { login?: boolean } = {}): Promise<TestAgent> {
    const user = await t.createUser('agent');
    const { rows } = await t.app.db.query<{ extension: string }>('select extension from agents where id = $1', [user.agentId]);
    const extension = rows[0]!.extension;
    const endpoint = `agent${extension}`;
    sim.addEndpoint(endpoint, { context: 'from-agents', behavior });
    const console = await openConsole(baseUrl, user.token);
    consoles.push(console);
    await console.next('hello');
    if (o.login !== false) {
      const res = await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: user.headers, payload: {} });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
    }
    return { user, agentId: user.agentId!, extension, endpoint, console };
  }

  return {
    sim,
    t,
    baseUrl,
    addAgent,
    waitFor,
    callRow: async (callId) => (await t.app.db.query('select * from calls where id = $1', [callId])).rows[0]!,
    close: async () => {
      for (const c of consoles) c.close();
      await t.close();
      if (!opts.sim) await sim.stop();
    },
  };
}

export async function openConsole(baseUrl: string, token: string): Promise<Console> {
  // A bearer-token client sets the header on the upgrade request (tokens never go into URLs).
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/api/agents/ws`, { headers: { authorization: `Bearer ${token}` } });
  const messages: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  let cursor = 0;
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Record<string, unknown>;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.type === m.type) {
        waiters.splice(waiters.indexOf(w), 1);
        cursor = messages.length;
        w.resolve(m);
        return;
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    messages,
    // Next message of that type not yet consumed by an earlier next().
    next(type, timeoutMs = 5000) {
      const found = messages.slice(cursor).find((m) => m.type === type);
      if (found) {
        cursor = messages.indexOf(found) + 1;
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} on the console within ${timeoutMs} ms (got ${messages.map((m) => m.type).join(', ')})`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    close: () => ws.close(),
  };
}
