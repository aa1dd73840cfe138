// The simulator driven by the real ari-client 2.2.0, compared with the Asterisk 22 traces.
import WebSocket from 'ws';
import { AsteriskSimulator, type SentAriEvent } from './index';
import { ariConnect, deferred, label, readAriTrace, shape, tracesPresent, withoutRtpNoise, type AriClient, type Json } from './test-support';

const APP = 'hotline';
const itTrace = tracesPresent ? it : it.skip;

let sim: AsteriskSimulator;
let client: AriClient;
let seen: Json[];

beforeEach(async () => {
  sim = await AsteriskSimulator.start({
    soundDurationsMs: { 'sound:hello-world': 400, 'sound:vm-nobodyavail': 200, 'sound:demo-congrats': 30000, 'sound:digits/2': 100 },
  });
  sim.addEndpoint('agent1001', { context: 'from-agents', behavior: { answerAfterMs: 150 } });
  sim.addEndpoint('agent1002', { context: 'from-agents', behavior: { ring: 'forever' } });
  sim.addEndpoint('agent1003', { context: 'from-agents', online: false });
  sim.addEndpoint('caller1', { context: 'from-callers', online: false });
  sim.addEndpoint('caller2', { context: 'from-callers', online: false });
  client = await ariConnect(sim.ariUrl);
  seen = [];
  client.on('*', (e: Json) => seen.push(e));
  await client.start(APP);
});

afterEach(async () => {
  client.stop();
  await sim.stop();
});

function compareWithTrace(traceFile: string, ours: SentAriEvent[] | Json[]): void {
  const trace = withoutRtpNoise(readAriTrace(traceFile));
  expect((ours as Json[]).map(label)).toEqual(trace.map(label));
  (ours as Json[]).forEach((e, i) => expect(`${i} ${shape(e)}`).toBe(`${i} ${shape(trace[i] as Json)}`));
}

function record(): SentAriEvent[] {
  const out: SentAriEvent[] = [];
  sim.on('ariEvent', (e: SentAriEvent) => out.push(e));
  return out;
}

describe('ARI over ari-client', () => {
  it('connects, lists resources and delivers StasisStart with a Channel instance', async () => {
    const info = await client.asterisk.getInfo!();
    expect(info.system.entity_id).toBe('02:fc:00:00:00:01');
    const eps = await client.endpoints.list!();
    expect(eps.map((e: Json) => `${String(e.resource)}:${String(e.state)}`)).toContain('agent1001:online');
    const got = deferred<{ e: Json; ch: { constructor: { name: string }; id: string } }>();
    client.on('StasisStart', (e, ch) => got.resolve({ e, ch }));
    const caller = sim.dial({ from: 'caller1', callerName: 'Caller One', app: APP, appArgs: ['inbound'] });
    const { e, ch } = await got.promise;
    expect(ch.constructor.name).toBe('Channel');
    expect(ch.id).toBe(caller.id);
    expect(e.args).toEqual(['inbound']);
    const snap = e.channel as Json;
    expect(snap.state).toBe('Ring');
    expect(snap.dialplan).toEqual({ context: 'from-callers', exten: '114', priority: 2, app_name: 'Stasis', app_data: 'hotline,inbound' });
    expect(String(e.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(caller.id).toMatch(/^\d+\.\d+$/);
    expect(e.asterisk_id).toBe('02:fc:00:00:00:01');
    expect(e.application).toBe(APP);
  });

  itTrace('scenario A: answered call matches the trace event for event, and addChannel blocks behind the playback', async () => {
    const events = record();
    let bridge: { id: string; addChannel(o: Json): Promise<void>; destroy(): Promise<void> } | undefined;
    let callerId = '';
    let agentId = '';
    let pbFinishedAt = 0;
    const addTimes = deferred<{ start: number; end: number }>();
    client.on('PlaybackFinished', () => {
      pbFinishedAt = Date.now();
    });
    client.on('StasisStart', (e: Json, ch: { id: string; answer(): Promise<void>; play(o: Json, p: unknown): Promise<Json> }) => {
      void (async () => {
        if ((e.args as string[])[0] === 'agent') {
          agentId = ch.id;
          await bridge!.addChannel({ channel: ch.id });
          const list = await client.channels.list!();
          expect(list).toHaveLength(2);
          const b = await client.bridges.get!({ bridgeId: bridge!.id });
          expect(b.technology).toBe('native_rtp');
          await client.channels.hangup!({ channelId: callerId });
          return;
        }
        await ch.answer();
        const pb = await ch.play({ media: 'sound:hello-world' }, client.Playback());
        expect(pb.state).toBe('queued');
        bridge = await client.bridges.create!({ type: 'mixing', name: `hotline-${ch.id}` });
        const start = Date.now();
        await bridge!.addChannel({ channel: ch.id });
        addTimes.resolve({ start, end: Date.now() });
        const agent = await client.channels.originate!({ endpoint: 'PJSIP/agent1001', app: APP, appArgs: 'agent', callerId: 'Hotline <114>', timeout: 30 });
        expect(agent.state).toBe('Down');
        expect(agent.dialplan).toEqual({ context: 'from-agents', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' });
      })();
    });
    client.on('StasisEnd', (_e: Json, ch: { id: string }) => {
      if (ch.id === callerId) void client.channels.hangup!({ channelId: agentId });
      else void bridge!.destroy();
    });
    const done = sim.waitForAriEvent((e) => e.type === 'BridgeDestroyed', 8000);
    callerId = sim.dial({ from: 'caller1', callerName: 'Caller One', app: APP }).id;
    await done;
    const { start, end } = await addTimes.promise;
    expect(end - start).toBeGreaterThanOrEqual(350);
    expect(pbFinishedAt).toBeGreaterThan(0);
    expect(pbFinishedAt).toBeLessThanOrEqual(end);
    compareWithTrace('scenario-a-ari.jsonl', events);
    const destroyed = events.find((e) => e.type === 'ChannelDestroyed') as Json;
    expect([destroyed.cause, destroyed.cause_txt]).toEqual([16, 'Normal Clearing']);
    expect(events.filter((e) => e.type === 'ChannelDestroyed')).toHaveLength(1); // none for the dialplan caller
    expect(sim.channels()).toHaveLength(0);
    expect(sim.bridges()).toHaveLength(0);
  });

  itTrace('scenario B: agent rings, caller abandons, app cancels the agent with reason_code 16', async () => {
    const events = record();
    let bridgeId = '';
    const agentId = `agent-${Date.now()}`;
    client.on('StasisStart', (_e: Json, ch: { id: string }) => {
      void (async () => {
        await client.channels.answer!({ channelId: ch.id });
        const b = await client.bridges.create!({ type: 'mixing', name: `hotline-${ch.id}` });
        bridgeId = b.id;
        await client.bridges.addChannel!({ bridgeId, channel: ch.id });
        await client.bridges.startMoh!({ bridgeId, mohClass: 'default' });
        await client.channels.originate!({ endpoint: 'PJSIP/agent1002', app: APP, appArgs: 'agent', callerId: 'Hotline <114>', timeout: 30, channelId: agentId });
      })();
    });
    client.on('StasisEnd', () => {
      void (async () => {
        await client.channels.hangup!({ channelId: agentId, reason_code: '16' });
        await client.bridges.destroy!({ bridgeId });
      })();
    });
    const caller = sim.dial({ from: 'caller1', callerName: 'Caller One', app: APP });
    const agent = await new Promise<NonNullable<ReturnType<AsteriskSimulator['channel']>>>((resolve) => {
      const check = (): void => {
        const a = sim.channel(agentId);
        if (a) resolve(a);
        else setImmediate(check);
      };
      check();
    });
    await agent.waitFor('Ringing');
    expect(agent.ringing || agent.state === 'Ringing').toBe(true);
    const snap = await client.channels.get!({ channelId: agentId });
    expect(snap.state).toBe('Ringing');
    const done = sim.waitForAriEvent((e) => e.type === 'BridgeDestroyed');
    caller.hangup();
    await done;
    compareWithTrace('scenario-b-ari.jsonl', events);
    const hr = events.find((e) => e.type === 'ChannelHangupRequest') as Json;
    expect('cause' in hr).toBe(false);
    const dials = events.filter((e) => e.type === 'Dial').map((e) => e.dialstatus);
    expect(dials).toEqual(['', 'RINGING', 'NOANSWER']);
  });

  itTrace('scenario B2: unreachable agent → 500 Allocation failed; busy agent → 17/486', async () => {
    sim.setBehavior('agent1002', { busy: true });
    const events = record();
    let bridgeId = '';
    let callerId = '';
    const errors: string[] = [];
    client.on('StasisStart', (_e: Json, ch: { id: string }) => {
      callerId = ch.id;
      void (async () => {
        await client.channels.answer!({ channelId: ch.id });
        bridgeId = (await client.bridges.create!({ type: 'mixing' })).id;
        await client.bridges.addChannel!({ bridgeId, channel: ch.id });
        await client.channels
          .originate!({ endpoint: 'PJSIP/agent1003', app: APP, appArgs: 'agent', callerId: 'Hotline <114>', timeout: 15 })
          .catch((err: Error) => errors.push(err.message));
        await client.channels.originate!({ endpoint: 'PJSIP/agent1002', app: APP, appArgs: 'agent', callerId: 'Hotline <114>', timeout: 15 });
      })();
    });
    client.on('ChannelDestroyed', () => {
      void (async () => {
        await client.bridges.removeChannel!({ bridgeId, channel: callerId });
        await client.channels.play!({ channelId: callerId, media: 'sound:vm-nobodyavail' });
      })();
    });
    client.on('PlaybackFinished', () => {
      void (async () => {
        await client.channels.hangup!({ channelId: callerId });
        await client.bridges.destroy!({ bridgeId });
      })();
    });
    sim.dial({ from: 'caller2', callerName: 'Caller Two', app: APP });
    await sim.waitForAriEvent((e) => e.type === 'StasisEnd');
    await sim.waitForRest((r) => r.method === 'DELETE' && r.path.startsWith('/ari/bridges/'));
    expect(errors).toEqual(['{"error":"Allocation failed"}']);
    compareWithTrace('scenario-b2-ari.jsonl', events);
    const destroyed = events.find((e) => e.type === 'ChannelDestroyed') as Json;
    expect([destroyed.cause, destroyed.cause_txt, destroyed.tech_cause]).toEqual([17, 'User busy', 486]);
    expect(sim.restLog.find((r) => r.path.includes('agent1003'))?.status).toBe(500);
  });

  itTrace('scenario C: DTMF, DELETE /playbacks answers after PlaybackFinished', async () => {
    const events = record();
    let callerId = '';
    let finishedBeforeDelete = false;
    let ivrFinished = false;
    client.on('StasisStart', (_e: Json, ch: { id: string }) => {
      callerId = ch.id;
      void (async () => {
        await client.channels.answer!({ channelId: ch.id });
        await client.channels.playWithId!({ channelId: ch.id, playbackId: 'ivr-prompt-1', media: 'sound:demo-congrats' });
      })();
    });
    client.on('PlaybackStarted', (e: Json) => {
      if ((e.playback as Json).id === 'ivr-prompt-1') sim.channel(callerId)?.sendDtmf('2', 280);
    });
    client.on('ChannelDtmfReceived', () => {
      void (async () => {
        await client.playbacks.stop!({ playbackId: 'ivr-prompt-1' });
        finishedBeforeDelete = ivrFinished;
        const pb = await client.channels.play!({ channelId: callerId, media: 'sound:digits/2' });
        expect(pb.state).toBe('queued');
      })();
    });
    client.on('PlaybackFinished', (e: Json) => {
      if ((e.playback as Json).id === 'ivr-prompt-1') ivrFinished = true;
      else void client.channels.hangup!({ channelId: callerId });
    });
    sim.dial({ from: 'caller2', callerName: 'Caller Two', app: APP });
    await sim.waitForAriEvent((e) => e.type === 'StasisEnd');
    expect(finishedBeforeDelete).toBe(true);
    compareWithTrace('scenario-c-ari.jsonl', events);
    const dtmf = events.find((e) => e.type === 'ChannelDtmfReceived') as Json;
    expect([dtmf.digit, dtmf.duration_ms]).toEqual(['2', 280]);
    expect((events.find((e) => e.type === 'PlaybackFinished') as Json).playback).toMatchObject({ id: 'ivr-prompt-1', state: 'done' });
  });

  itTrace('scenario D: endpoint and device-state subscription events', async () => {
    const events = record();
    const app = await client.applications.subscribe!({ applicationName: APP, eventSource: 'endpoint:PJSIP/agent1003,deviceState:PJSIP/agent1003' });
    expect(app.endpoint_ids).toEqual(['PJSIP/agent1003']);
    expect(await client.endpoints.get!({ tech: 'PJSIP', resource: 'agent1003' })).toMatchObject({ state: 'offline' });
    const offline = sim.waitForAriEvent((e) => e.type === 'DeviceStateChanged' && (e.device_state as Json).state === 'UNAVAILABLE');
    sim.setOnline('agent1003', true);
    sim.setOnline('agent1003', false);
    await offline;
    compareWithTrace('scenario-d-ari.jsonl', events);
    const contact = events.find((e) => e.type === 'ContactStatusChange') as Json;
    expect(typeof (contact.contact_info as Json).roundtrip_usec).toBe('string');
  });

  it('originate timeout: no answer within timeout gives ChannelDestroyed 19 (dial.c), no Dial NOANSWER', async () => {
    const events = record();
    const agent = await client.channels.originate!({ endpoint: 'PJSIP/agent1002', app: APP, appArgs: 'agent', timeout: 1 });
    const destroyed = await sim.waitForAriEvent((e) => e.type === 'ChannelDestroyed', 3000);
    expect([destroyed.cause, destroyed.cause_txt]).toEqual([19, 'User alerting, no answer']);
    expect((destroyed.channel as Json).id).toBe(agent.id);
    expect(events.filter((e) => e.type === 'Dial').map((e) => e.dialstatus)).toEqual(['', 'RINGING']);
  });

  it('variables in the JSON body, channel variables, bridge recording and the stored file', async () => {
    const started = sim.waitForAriEvent((e) => e.type === 'StasisStart');
    const agent = await client.channels.originate!({ endpoint: 'PJSIP/agent1001', app: APP, appArgs: 'agent,call-1', variables: { HOTLINE_CALL: '7' } });
    const start = await started;
    expect(start.args).toEqual(['agent', 'call-1']);
    expect((await client.channels.getChannelVar!({ channelId: agent.id, variable: 'HOTLINE_CALL' })).value).toBe('7');
    await client.channels.setChannelVar!({ channelId: agent.id, variable: 'X', value: 'y' });
    expect((await client.channels.getChannelVar!({ channelId: agent.id, variable: 'X' })).value).toBe('y');
    const bridge = await client.bridges.create!({ type: 'mixing' });
    await client.bridges.addChannel!({ bridgeId: bridge.id, channel: agent.id });
    const recStarted = sim.waitForAriEvent((e) => e.type === 'RecordingStarted');
    const rec = await client.bridges.record!({ bridgeId: bridge.id, name: 'call-1', format: 'wav', ifExists: 'overwrite' });
    expect(rec).toMatchObject({ name: 'call-1', format: 'wav', state: 'queued', target_uri: `bridge:${bridge.id}` });
    await recStarted;
    const finished = sim.waitForAriEvent((e) => e.type === 'RecordingFinished');
    await client.bridges.destroy!({ bridgeId: bridge.id });
    expect(((await finished).recording as Json).state).toBe('done');
    expect(await client.recordings.listStored!()).toEqual([expect.objectContaining({ name: 'call-1', format: 'wav' })]);
    const res = await fetch(`${sim.ariUrl}/ari/recordings/stored/call-1/file`, { headers: { authorization: `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}` } });
    expect(res.status).toBe(200);
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(wav.subarray(8, 12).toString('ascii')).toBe('WAVE');
  });

  it('remote BYE of a bridged originated channel: HangupRequest without cause, LeftBridge, StasisEnd, Destroyed 16', async () => {
    const agent = await client.channels.originate!({ endpoint: 'PJSIP/agent1001', app: APP, appArgs: 'agent' });
    await sim.waitForAriEvent((e) => e.type === 'StasisStart');
    const bridge = await client.bridges.create!({ type: 'mixing' });
    await client.bridges.addChannel!({ bridgeId: bridge.id, channel: agent.id });
    const sc = sim.channel(agent.id)!;
    expect(sc.bridgeId).toBe(bridge.id);
    const events = record();
    sc.hangup();
    await sc.waitFor('destroyed');
    expect(events.map((e) => e.type)).toEqual(['ChannelHangupRequest', 'ChannelLeftBridge', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed']);
    expect('cause' in (events[0] as Json)).toBe(false);
    expect(events[4]).toMatchObject({ cause: 16, cause_txt: 'Normal Clearing' });
  });

  it('channel MOH and ring flags', async () => {
    const caller = sim.dial({ from: 'caller1', app: APP });
    await caller.waitFor('inStasis');
    await client.channels.ring!({ channelId: caller.id });
    expect(caller.ringing).toBe(true);
    await client.channels.ringStop!({ channelId: caller.id });
    await client.channels.answer!({ channelId: caller.id });
    await client.channels.startMoh!({ channelId: caller.id, mohClass: 'default' });
    expect(caller.mohPlaying).toBe(true);
    await client.channels.stopMoh!({ channelId: caller.id });
    expect(caller.mohPlaying).toBe(false);
  });

  it('reconnects after dropAriWebSockets and is refused while ARI is down', async () => {
    const reconnected = deferred();
    let drops = 0;
    client.on('WebSocketReconnecting', () => drops++);
    client.on('WebSocketConnected', () => reconnected.resolve());
    sim.dropAriWebSockets();
    await reconnected.promise;
    expect(drops).toBeGreaterThan(0);
    await sim.waitForApp(APP);
    await sim.setAriDown(true);
    await expect(fetch(`${sim.ariUrl}/ari/channels`)).rejects.toThrow();
    await sim.setAriDown(false);
    const res = await fetch(`${sim.ariUrl}/ari/channels?api_key=hotline114:hotline114`);
    expect(res.status).toBe(200);
  });
});

describe('ARI errors (raw HTTP)', () => {
  const auth = { authorization: `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}` };
  async function call(method: string, p: string, headers: Record<string, string> = auth): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${sim.ariUrl}${p}`, { method, headers });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : '' };
  }

  it('answers like the recorded error replies', async () => {
    expect(await call('GET', '/ari/channels/does-not-exist')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await call('POST', '/ari/channels/does-not-exist/answer')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await call('DELETE', '/ari/channels/does-not-exist')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await call('DELETE', '/ari/bridges/does-not-exist')).toEqual({ status: 404, body: { message: 'Bridge not found' } });
    expect(await call('POST', '/ari/bridges/does-not-exist/addChannel?channel=x')).toEqual({ status: 404, body: { message: 'Bridge not found' } });
    expect(await call('POST', '/ari/channels?app=hotline')).toEqual({ status: 400, body: { message: 'Endpoint must be specified' } });
    expect(await call('POST', '/ari/channels?endpoint=PJSIP%2Fnobody&app=hotline')).toEqual({ status: 500, body: { error: 'Allocation failed' } });
    expect(await call('POST', '/ari/channels?endpoint=PJSIP%2Fagent1003&app=hotline')).toEqual({ status: 500, body: { error: 'Allocation failed' } });
    expect(await call('GET', '/ari/applications/no-such-app')).toEqual({ status: 404, body: { message: 'Application not found' } });
    expect(await call('GET', '/ari/playbacks/does-not-exist')).toEqual({ status: 404, body: { message: 'Playback not found' } });
    expect(await call('GET', '/ari/no/such/resource')).toEqual({ status: 404, body: { message: 'Resource not found' } });
    expect(await call('GET', '/ari/bridges')).toEqual({ status: 200, body: [] });
    expect(await call('GET', '/ari/channels')).toEqual({ status: 200, body: [] });
    expect(await call('GET', '/ari/deviceStates')).toEqual({ status: 200, body: [] });
    const noEvents = sim.restLog.filter((r) => r.status === 500);
    expect(noEvents).toHaveLength(2);
    expect(sim.channels()).toHaveLength(0);
  });

  it('401 without or with wrong credentials, api-docs included', async () => {
    expect(await call('GET', '/ari/channels', {})).toEqual({ status: 401, body: { message: 'Authentication required' } });
    const wrong = { authorization: `Basic ${Buffer.from('hotline114:nope').toString('base64')}` };
    expect(await call('GET', '/ari/channels', wrong)).toEqual({ status: 401, body: { message: 'Authentication required' } });
    expect((await call('GET', '/ari/api-docs/resources.json', {})).status).toBe(401);
    const docs = await call('GET', '/ari/api-docs/resources.json');
    expect(docs.status).toBe(200);
    expect((docs.body as Json).basePath).toBe(`${sim.ariUrl}/ari`);
  });

  it('events WebSocket: 400 HTML without app, 401 JSON with a wrong key', async () => {
    const port = new URL(sim.ariUrl).port;
    const attempt = (query: string): Promise<{ status: number; type: string; body: string }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ari/events${query}`);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
        });
        ws.on('error', () => undefined);
      });
    const noApp = await attempt('?api_key=hotline114:hotline114');
    expect(noApp.status).toBe(400);
    expect(noApp.type).toContain('text/html');
    expect(noApp.body).toContain('HTTP request is missing param: [app]');
    const badKey = await attempt('?app=hotline&api_key=hotline114:wrong');
    expect(badKey).toEqual({ status: 401, type: 'application/json', body: '{"message":"Authentication required"}' });
  });
});
