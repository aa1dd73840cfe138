// Call recording through a snoop channel on the caller's channel (src/calls/connect.ts): the caller/agent bridge
// stays two-party (a bridge recording would add a Recorder and make Asterisk mix the call), the recording keeps
// its name, the snoop ends with the caller or before the survey, and a restart keeps or hangs up orphan snoops. A
// call the dialplan records itself (MixMonitor, "recording=<name>") gets no snoop.
import { AsteriskSimulator } from '../asterisk';
import { startLab, type CallLab } from '../helpers/telephony';
import { createDb } from '../../src/infra/db';
import { TEST_DATABASE_URL, uniqueName } from '../helpers/db';

// Each test builds its own schema, service and simulator: on a loaded 2-core machine that alone can take ~20 s, so the
// deadline is for a stall, not for speed (waits inside poll with their own deadlines).
jest.setTimeout(120_000);

const AUTH = `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}`;

/** The service asked Asterisk to record the call's snoop channel, and Asterisk is recording it. */
async function recordingOf(lab: CallLab, callId: string): Promise<Record<string, unknown>> {
  const { sim } = lab;
  const snoopId = `${callId}-rec`;
  await lab.waitFor(() => sim.restLog.find((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${encodeURIComponent(snoopId)}/record?`) && r.status === 201), 'snoop record request');
  const row = await lab.callRow(callId);
  const res = await fetch(`${sim.ariUrl}/ari/recordings/live/${encodeURIComponent(recordingNameOf(row, callId))}`, { headers: { authorization: AUTH } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

function recordingNameOf(row: Record<string, unknown>, callId: string): string {
  return `hotline114/${(row.started_at as Date).toISOString().slice(0, 10)}/${callId}`;
}

/** A caller dials 114 and talks with an agent; returns once the call's snoop is being recorded. */
async function recordedCall(lab: CallLab, callerNumber: string) {
  const agent = await lab.addAgent({ answerAfterMs: 20 });
  const caller = lab.sim.dial({ from: 'caller1', callerNumber, app: 'hotline114', appArgs: ['inbound'] });
  const pop = await agent.console.next('call.offered');
  const callId = pop.callId as string;
  await agent.console.next('call.connected');
  const live = await recordingOf(lab, callId);
  return { agent, caller, callId, live };
}

describe('call recording', () => {
  const labs: CallLab[] = [];
  const sims: AsteriskSimulator[] = [];
  afterEach(async () => {
    // Labs sharing a schema: close the ones that did not create it first; a shared simulator after its labs.
    for (const l of labs.reverse()) await l.close();
    labs.length = 0;
    for (const sim of sims) await sim.stop();
    sims.length = 0;
  });

  it('records the conversation through a snoop on the caller while the bridge holds only caller and agent', async () => {
    const lab = await startLab();
    labs.push(lab);
    const { sim } = lab;
    const { agent, caller, callId, live } = await recordedCall(lab, '13900000801');
    const snoopId = `${callId}-rec`;
    const row = await lab.callRow(callId);
    const name = recordingNameOf(row, callId);
    expect(row.recording_name).toBe(name);
    expect(live).toEqual({ name, format: 'wav', state: 'recording', target_uri: `channel:${snoopId}` });

    const snoopReq = sim.restLog.find((r) => r.method === 'POST' && r.path.startsWith(`/ari/channels/${caller.id}/snoop?`));
    expect(snoopReq?.status).toBe(200);
    const q = new URL(`http://x${snoopReq!.path}`).searchParams;
    expect({ spy: q.get('spy'), app: q.get('app'), appArgs: q.get('appArgs'), snoopId: q.get('snoopId') }).toEqual({ spy: 'both', app: 'hotline114', appArgs: `recording,${callId}`, snoopId });
    // Never a bridge recording: it would make the conversation a three-party mixing bridge in Asterisk.
    expect(sim.restLog.some((r) => /^\/ari\/bridges\/[^/]+\/record/.test(r.path))).toBe(false);
    const agentLeg = sim.channels().find((c) => c.isOriginated && c.state === 'Up');
    const bridge = sim.bridges().find((b) => b.channels.includes(caller.id));
    expect(bridge?.channels.sort()).toEqual([caller.id, agentLeg!.id].sort());
    const snoop = sim.channel(snoopId);
    expect(snoop?.name).toMatch(new RegExp(`^Snoop/${caller.id.replace('.', '\\.')}-[0-9a-f]{8}$`));
    expect(snoop?.bridgeId).toBeNull();

    caller.hangup();
    await snoop!.waitFor('destroyed'); // Asterisk ends the snoop with the caller
    await agent.console.next('call.ended');
    expect(sim.storedRecordings()).toContain(name);
    const rec = await lab.t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: (await lab.t.createUser('supervisor')).headers });
    expect(rec.statusCode).toBe(200);
    expect(sim.channels()).toEqual([]);
  });

  it('takes the recording the dialplan makes (MixMonitor, recording=<name>): no snoop, the name stored, the file served', async () => {
    const lab = await startLab();
    labs.push(lab);
    const { sim } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 20 });
    const name = 'hotline114/2026-12-05/dialplan-recorded';
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000809', app: 'hotline114', appArgs: ['inbound', 'ringing', `recording=${name}`], ringing: true, mixMonitor: name });
    const callId = (await agent.console.next('call.offered')).callId as string;
    await agent.console.next('call.connected');
    await caller.waitFor('bridged');
    expect((await lab.callRow(callId)).recording_name).toBe(name);
    expect(sim.storedRecordings()).toContain(name);
    caller.hangup();
    await agent.console.next('call.ended');
    // The service made no recording of its own: no snoop, no record request.
    expect(sim.restLog.filter((r) => r.path.includes('/snoop') || r.path.includes('/record'))).toEqual([]);
    const rec = await lab.t.inject({ method: 'GET', url: `/api/calls/${callId}/recording`, headers: (await lab.t.createUser('supervisor')).headers });
    expect(rec.statusCode).toBe(200);
  });

  it('deletes the empty file the dialplan made for a caller who never reached anyone', async () => {
    const lab = await startLab();
    labs.push(lab);
    const { sim, t } = lab;
    const name = 'hotline114/2026-12-05/dialplan-abandoned';
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000810', app: 'hotline114', appArgs: ['inbound', 'ringing', `recording=${name}`], ringing: true, mixMonitor: name });
    expect(sim.storedRecordings()).toContain(name);
    await lab.waitFor(async () => (await t.app.db.query(`select 1 from calls where channel_id = $1 and state = 'queued'`, [caller.id])).rowCount, 'caller queued');
    caller.hangup();
    const row = await lab.waitFor(async () => (await t.app.db.query('select * from calls where channel_id = $1 and ended_at is not null', [caller.id])).rows[0], 'abandoned record');
    expect(row).toMatchObject({ outcome: 'abandoned', recording_name: null });
    await lab.waitFor(() => !sim.storedRecordings().includes(name), 'empty recording deleted');
  });

  it('stops recording before the survey, so the rating is not recorded', async () => {
    const lab = await startLab({ env: { CALL_SURVEY: 'true', CALL_SURVEY_TIMEOUT_SEC: '10' } });
    labs.push(lab);
    const { sim } = lab;
    const { caller, callId } = await recordedCall(lab, '13900000802');
    const snoop = sim.channel(`${callId}-rec`)!;
    const leg = sim.channels().find((c) => c.isOriginated && c.state === 'Up')!;
    leg.hangup();
    await snoop.waitFor('destroyed');
    await lab.waitFor(async () => (await lab.callRow(callId)).state === 'survey', 'survey');
    expect(sim.channel(caller.id)).toBeDefined();
    const row = await lab.callRow(callId);
    expect(sim.storedRecordings()).toContain(recordingNameOf(row, callId));
    expect(row.recording_name).toBe(recordingNameOf(row, callId));
    caller.hangup();
    await caller.waitFor('destroyed');
  });

  it('keeps recording the caller through a blind transfer until the department hangs up', async () => {
    const lab = await startLab();
    labs.push(lab);
    const { sim, t } = lab;
    await t.app.db.query(`insert into departments (code, name, sip_endpoint) values ('heating', '供热公司', 'PJSIP/dept-heating')`);
    sim.addEndpoint('dept-heating', { context: 'from-trunk', behavior: { answerAfterMs: 20 } });
    const { agent, caller, callId } = await recordedCall(lab, '13900000805');
    const res = await t.inject({ method: 'POST', url: `/api/calls/${callId}/transfer`, headers: agent.user.headers, payload: { mode: 'blind', departmentCode: 'heating' } });
    expect(res.statusCode).toBeLessThan(300);
    await lab.waitFor(async () => (await lab.callRow(callId)).state === 'transferred', 'transferred');
    const dept = sim.channels().find((c) => c.endpoint === 'dept-heating')!;
    expect(sim.bridges().find((b) => b.channels.includes(caller.id))?.channels.sort()).toEqual([caller.id, dept.id].sort());
    const row = await lab.callRow(callId);
    const live = await fetch(`${sim.ariUrl}/ari/recordings/live/${encodeURIComponent(recordingNameOf(row, callId))}`, { headers: { authorization: AUTH } });
    expect(await live.json()).toMatchObject({ state: 'recording', target_uri: `channel:${callId}-rec` });
    expect(sim.restLog.filter((r) => r.path.includes('/snoop'))).toHaveLength(1);
    dept.hangup();
    await caller.waitFor('destroyed');
    await lab.waitFor(() => !sim.channel(`${callId}-rec`), 'snoop gone with the caller');
    expect(sim.storedRecordings()).toContain(recordingNameOf(row, callId));
    expect((await lab.callRow(callId)).recording_name).toBe(recordingNameOf(row, callId));
  });

  it('keeps the snoop of an adopted live call across a restart; a snoop entering our app for no live call is hung up', async () => {
    const sim = await AsteriskSimulator.start({ defaultSoundMs: 100 });
    sims.push(sim);
    const prefix = uniqueName('h114rec');
    const first = await startLab({ sim, env: { REDIS_PREFIX: prefix } });
    labs.push(first);
    const { caller, callId } = await recordedCall(first, '13900000803');
    await first.t.app.close(); // the process goes away; Asterisk keeps the call and its recording up

    const second = await startLab({ sim, env: { REDIS_PREFIX: prefix }, schema: first.t.schema });
    labs.push(second);
    const adopted = await second.waitFor(() => second.t.app.calls!.registry.get(callId), 'call adopted', 15_000);
    expect(adopted.state).toBe('connected');
    expect(adopted.recordingChannelId).toBe(`${callId}-rec`);
    expect(sim.channel(`${callId}-rec`)).toBeDefined();
    expect(sim.bridges().find((b) => b.channels.includes(caller.id))?.channels).toHaveLength(2);

    // A recording snoop for a call this process does not have.
    const stray = await fetch(`${sim.ariUrl}/ari/channels/${caller.id}/snoop?spy=both&app=hotline114&appArgs=recording,00000000-0000-4000-8000-000000000000&snoopId=stray-rec`, {
      method: 'POST',
      headers: { authorization: AUTH },
    });
    expect(stray.status).toBe(200);
    await second.waitFor(() => sim.restLog.find((r) => r.method === 'DELETE' && r.path.startsWith('/ari/channels/stray-rec')), 'stray snoop hung up');
    await second.waitFor(() => !sim.channel('stray-rec'), 'stray snoop gone');
    expect(second.t.app.calls!.registry.all()).toHaveLength(1);

    caller.hangup();
    await second.waitFor(async () => (await second.callRow(callId)).ended_at, 'adopted call closed');
    const row = await second.callRow(callId);
    expect(row).toMatchObject({ state: 'ended', recording_name: recordingNameOf(row, callId) });
    expect(sim.storedRecordings()).toContain(recordingNameOf(row, callId));
    await second.waitFor(() => sim.channels().length === 0, 'no channel left');
  });

  it('hangs up, after a restart, the recording snoop of a call that is no longer open', async () => {
    const sim = await AsteriskSimulator.start({ defaultSoundMs: 100 });
    sims.push(sim);
    const prefix = uniqueName('h114rec');
    const first = await startLab({ sim, env: { REDIS_PREFIX: prefix } });
    labs.push(first);
    const { caller, callId } = await recordedCall(first, '13900000804');
    await first.t.app.close();
    // Closed while no process followed it (another node's sweep, an operator): its channels are not ours any more.
    const db = createDb({ url: TEST_DATABASE_URL, schema: first.t.schema, max: 1 });
    try {
      await db.query(`update calls set state = 'ended', outcome = 'answered', ended_at = now() where id = $1`, [callId]);
    } finally {
      await db.close();
    }
    const second = await startLab({ sim, env: { REDIS_PREFIX: prefix }, schema: first.t.schema });
    labs.push(second);
    await second.waitFor(() => !sim.channel(`${callId}-rec`), 'snoop of the closed call hung up', 15_000);
    expect(sim.restLog.some((r) => r.method === 'DELETE' && r.path.startsWith(`/ari/channels/${encodeURIComponent(`${callId}-rec`)}`))).toBe(true);
    expect(second.t.app.calls!.registry.get(callId)).toBeUndefined();
    caller.hangup();
    await second.waitFor(() => sim.channels().length === 0, 'no channel left');
  });
});
