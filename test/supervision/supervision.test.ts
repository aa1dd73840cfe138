// Supervision through the simulator with real PostgreSQL/Redis: AMI presence routes calls, the live board shows
// agents and calls, listen/whisper/barge send the right ChanSpy Originate, recordings stream back.
import http from 'node:http';
import { startLab, type CallLab } from '../helpers/telephony';
import { build, type TestApp } from '../helpers/build';

/** A Server-Sent Events client over node:http (closing it really closes the socket). */
function sseGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; nextEvent(name: string): Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let buf = '';
      const waiters: (() => void)[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (const w of waiters.splice(0)) w();
      });
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        nextEvent(name) {
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no ${name} event`)), 5000);
            const check = () => {
              const m = new RegExp(`event: ${name}\\ndata: (.*)\\n\\n`).exec(buf);
              if (m) {
                clearTimeout(timer);
                done(m[1]!);
              } else waiters.push(check);
            };
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

function header(action: Record<string, string>, name: string): string | undefined {
  const k = Object.keys(action).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : action[k];
}

describe('supervision with the simulator', () => {
  let lab: CallLab;
  // The board is published every 100 ms here (1 s by default).
  const env = { SUPERVISION_PUBLISH_MS: '100' };
  afterEach(async () => {
    await lab?.close();
  });

  it('never offers a call to an agent whose phone went offline (AMI), and offers again once it is back', async () => {
    lab = await startLab({ env: { ...env, CALL_RING_TIMEOUT_SEC: '5', CALL_SURVEY: 'false' } });
    const { sim, t, waitFor } = lab;
    const first = await lab.addAgent({ answerAfterMs: 50 }); // longest idle
    const second = await lab.addAgent({ answerAfterMs: 50 });
    const supervisor = await t.createUser('supervisor');

    sim.setOnline(first.endpoint, false);
    await waitFor(async () => (await t.app.acd.get(first.agentId)).device === 'UNAVAILABLE', 'first agent unavailable');
    // The board shows the phone as unavailable and its registration as lost.
    const board = await waitFor(async () => {
      const b = (await t.inject({ method: 'GET', url: '/api/supervision/board', headers: supervisor.headers })).json();
      const a = b.agents.find((x: { agentId: number }) => x.agentId === first.agentId);
      return a?.registration === 'Unreachable' ? b : null;
    }, 'registration on the board');
    expect(board.agents.find((x: { agentId: number }) => x.agentId === first.agentId)).toMatchObject({ state: 'ready', presence: 'unavailable' });

    const c1 = sim.dial({ from: 'caller1', callerNumber: '13800000001', app: 'hotline114', appArgs: ['inbound'] });
    const offered = await second.console.next('call.offered');
    await second.console.next('call.connected');
    expect(first.console.messages.some((m) => m.type === 'call.offered')).toBe(false);
    c1.hangup();
    await second.console.next('call.ended');

    sim.setOnline(first.endpoint, true);
    await waitFor(async () => (await t.app.acd.get(first.agentId)).device === 'NOT_INUSE', 'first agent available again');
    sim.setOnline(second.endpoint, false);
    await waitFor(async () => (await t.app.acd.get(second.agentId)).device === 'UNAVAILABLE', 'second agent unavailable');
    const c2 = sim.dial({ from: 'caller2', callerNumber: '13800000002', app: 'hotline114', appArgs: ['inbound'] });
    const offered2 = await first.console.next('call.offered');
    expect(offered2.callId).not.toBe(offered.callId);
    await first.console.next('call.connected');
    c2.hangup();
    await first.console.next('call.ended');
  });

  it('shows live calls on the board, spies with the right ChanSpy options, and streams the recording', async () => {
    lab = await startLab({ env: { ...env, CALL_RING_TIMEOUT_SEC: '5', CALL_SURVEY: 'false' } });
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 50 });
    const other = await lab.addAgent({ answerAfterMs: 50 }, { login: false });
    const supervisor = await t.createUser('supervisor', { agent: true });
    const { rows } = await t.app.db.query<{ extension: string }>('select extension from agents where id = $1', [supervisor.agentId]);
    const supEndpoint = `agent${rows[0]!.extension}`;
    sim.addEndpoint(supEndpoint, { context: 'from-agents', behavior: { answerAfterMs: 30 } });

    const caller = sim.dial({ from: 'caller1', callerNumber: '13912345678', app: 'hotline114', appArgs: ['inbound'] });
    const pop = await agent.console.next('call.offered');
    const callId = pop.callId as string;
    await agent.console.next('call.connected');

    // The board (fed by the per-process publisher through Redis) shows the call and the busy agent.
    const board = await waitFor(async () => {
      const b = (await t.inject({ method: 'GET', url: '/api/supervision/board', headers: supervisor.headers })).json();
      return b.calls?.some((c: { callId: string; state: string }) => c.callId === callId && c.state === 'connected') ? b : null;
    }, 'the call on the board');
    expect(board.agents.find((a: { agentId: number }) => a.agentId === agent.agentId)).toMatchObject({
      state: 'busy',
      callId,
      call: { callerNumber: '13912345678', state: 'connected' },
    });
    expect(board.queue).toEqual({ waiting: 0, longestWaitMs: 0 });
    expect(board.telephony).toEqual({ ari: 'up', ami: 'up' });
    expect(board.summary.busy).toBeGreaterThanOrEqual(1);

    // Listen / whisper / barge: AMI Originate to the supervisor's phone running ChanSpy on the agent's channel.
    const row = await lab.callRow(callId);
    const agentChannel = sim.channel(row.agent_channel_id as string)!.name;
    expect(agentChannel).toMatch(/^PJSIP\/agent\d+-[0-9a-f]{8}$/);
    for (const [mode, opts] of [['listen', 'q'], ['whisper', 'qw'], ['barge', 'qB']] as const) {
      const before = sim.amiActions.length;
      const res = await t.inject({ method: 'POST', url: `/api/supervision/calls/${callId}/spy`, headers: supervisor.headers, payload: { mode } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ callId, mode, endpoint: `PJSIP/${supEndpoint}`, agentChannel, data: `${agentChannel},${opts}` });
      const originate = sim.amiActions.slice(before).find((a) => header(a, 'Action') === 'Originate');
      expect(originate).toBeDefined();
      expect(header(originate!, 'Channel')).toBe(`PJSIP/${supEndpoint}`);
      expect(header(originate!, 'Application')).toBe('ChanSpy');
      expect(header(originate!, 'Data')).toBe(`${agentChannel},${opts}`);
    }
    const sessions = await t.app.db.query('select mode from supervision_sessions where call_id = $1 order by id', [callId]);
    expect(sessions.rows.map((r) => r.mode)).toEqual(['listen', 'whisper', 'barge']);

    // Only supervisors; readable errors for bad input and calls that are not live.
    const asAgent = await t.inject({ method: 'POST', url: `/api/supervision/calls/${callId}/spy`, headers: agent.user.headers, payload: { mode: 'listen' } });
    expect(asAgent.statusCode).toBe(403);
    const bad = await t.inject({ method: 'POST', url: `/api/supervision/calls/${callId}/spy`, headers: supervisor.headers, payload: { mode: 'shout' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/「方式」/);
    const gone = await t.inject({
      method: 'POST',
      url: '/api/supervision/calls/00000000-0000-4000-8000-000000000000/spy',
      headers: supervisor.headers,
      payload: { mode: 'listen' },
    });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ error: 'call_not_live' });
    const noSeat = await t.createUser('supervisor');
    const noExt = await t.inject({ method: 'POST', url: `/api/supervision/calls/${callId}/spy`, headers: noSeat.headers, payload: { mode: 'listen' } });
    expect(noExt.statusCode).toBe(409);
    expect(noExt.json()).toMatchObject({ error: 'no_extension' });

    // The call ends; the recording is stored and streams back to the supervisor and the call's agent only.
    caller.hangup();
    await agent.console.next('call.ended');
    const name = await waitFor(async () => (await lab.callRow(callId)).recording_name as string | null, 'recording name');
    await waitFor(() => sim.storedRecordings().includes(name), 'stored recording');
    const rec = await t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: supervisor.headers });
    expect(rec.statusCode).toBe(200);
    expect(rec.headers['content-type']).toBe('audio/wav');
    expect(rec.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(Number(rec.headers['content-length'])).toBe(rec.rawPayload.length);
    expect((await t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: agent.user.headers })).statusCode).toBe(200);
    const foreign = await t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: other.user.headers });
    expect(foreign.statusCode).toBe(403);
    const unknown = await t.inject({ method: 'GET', url: '/api/calls/00000000-0000-4000-8000-000000000000/recording', headers: supervisor.headers });
    expect(unknown.statusCode).toBe(404);
    const badId = await t.inject({ method: 'GET', url: '/api/calls/nope/recording', headers: supervisor.headers });
    expect(badId.statusCode).toBe(400);

    // The call is over: no spying on it any more; ARI down → 503 for the recording.
    const over = await t.inject({ method: 'POST', url: `/api/supervision/calls/${callId}/spy`, headers: supervisor.headers, payload: { mode: 'listen' } });
    expect(over.statusCode).toBe(404);
    await sim.setAriDown(true);
    await waitFor(async () => (await t.app.health.report()).ari === 'down', 'ARI down');
    const down = await t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: supervisor.headers });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ error: 'ari_unavailable' });
    await sim.setAriDown(false);
  });

  it('streams the board as Server-Sent Events to a supervisor (bearer header; tokens never in the URL)', async () => {
    lab = await startLab({ env: { ...env, CALL_SURVEY: 'false' } });
    const { t, baseUrl } = lab;
    const supervisor = await t.createUser('supervisor');
    const agent = await t.createUser('agent');
    const forbidden = await sseGet(`${baseUrl}/api/supervision/board/stream`, agent.headers);
    expect(forbidden.status).toBe(403);
    forbidden.close();
    const inUrl = await sseGet(`${baseUrl}/api/supervision/board/stream?intervalMs=500&token=${encodeURIComponent(supervisor.token)}`);
    expect(inUrl.status).toBe(400);
    inUrl.close();
    const stream = await sseGet(`${baseUrl}/api/supervision/board/stream?intervalMs=500`, supervisor.headers);
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const data = await stream.nextEvent('board');
      expect(JSON.parse(data)).toMatchObject({ queue: { waiting: 0 }, agents: expect.any(Array), telephony: { ari: 'up', ami: 'up' } });
    } finally {
      stream.close();
    }
  });
});

describe('supervision without telephony', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 503 ami_unavailable for spying, and guards the board by role', async () => {
    const supervisor = await t.createUser('supervisor', { agent: true });
    const res = await t.inject({
      method: 'POST',
      url: '/api/supervision/calls/00000000-0000-4000-8000-000000000000/spy',
      headers: supervisor.headers,
      payload: { mode: 'barge' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'ami_unavailable', message: expect.stringContaining('AMI') });
    const admin = await t.createUser('admin');
    expect((await t.inject({ method: 'POST', url: '/api/supervision/calls/00000000-0000-4000-8000-000000000000/spy', headers: admin.headers, payload: { mode: 'listen' } })).statusCode).toBe(403);
    const agent = await t.createUser('agent');
    expect((await t.inject({ method: 'GET', url: '/api/supervision/board', headers: agent.headers })).statusCode).toBe(403);
    expect((await t.inject({ method: 'GET', url: '/api/supervision/board' })).statusCode).toBe(401);
    const board = await t.inject({ method: 'GET', url: '/api/supervision/board', headers: supervisor.headers });
    expect(board.statusCode).toBe(200);
    expect(board.json()).toMatchObject({ telephony: { ari: 'disabled', ami: 'disabled' }, calls: [], queue: { waiting: 0, longestWaitMs: 0 } });
  });
});
