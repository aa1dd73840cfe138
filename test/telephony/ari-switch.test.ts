import { AsteriskSimulator } from '../asterisk';
import { AriRest, AriSwitch, SwitchTimeoutError } from '../../src/telephony/ari';
import { SwitchCommandError, type ChannelSnapshot, type SwitchEvents } from '../../src/telephony/switch';
import { TelephonyDownError } from '../../src/infra/errors';
import { captureLogger, nextEvent, record } from './helpers';

const APP = 'hotline114';
const SWITCH_EVENT_NAMES: Exclude<keyof SwitchEvents, 'up' | 'down'>[] = [
  'stasisStart',
  'stasisEnd',
  'channelStateChange',
  'hangupRequest',
  'channelDestroyed',
  'dial',
  'dtmf',
  'playbackStarted',
  'playbackFinished',
  'channelEnteredBridge',
  'channelLeftBridge',
  'recordingFinished',
  'recordingFailed',
];

type StasisStartArg = [{ channel: ChannelSnapshot; args: string[] }];

describe('AriSwitch against the simulator', () => {
  let sim: AsteriskSimulator;
  let sw: AriSwitch;
  let log: ReturnType<typeof captureLogger>;

  beforeEach(async () => {
    sim = await AsteriskSimulator.start({});
    sim.addEndpoint('caller1', { context: 'from-callers' });
    sim.addEndpoint('agent1001', { context: 'from-agents', behavior: { answerAfterMs: 50 } });
    log = captureLogger();
    sw = new AriSwitch({
      url: sim.ariUrl,
      username: 'hotline114',
      password: 'hotline114',
      app: APP,
      logger: log.logger,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    // As the service does: every listener is in place before start(), so the application's event filter
    // (only the types with listeners) covers them from the first frame.
    for (const name of SWITCH_EVENT_NAMES) sw.on(name, () => undefined);
  });

  afterEach(async () => {
    await sw.close();
    await sim.stop();
  });

  async function startUp(): Promise<void> {
    const up = nextEvent(sw, 'up');
    sw.start();
    await up;
  }

  test('connects, emits up, and keeps swagger-client off the console', async () => {
    const consoleLog = jest.spyOn(console, 'log');
    try {
      await startUp();
      expect(sw.isUp).toBe(true);
      expect(sim.isAppConnected(APP)).toBe(true);
      expect(consoleLog).not.toHaveBeenCalled();
      expect(log.lines.some((l) => l.msg === 'swagger-client log' && JSON.stringify(l.swagger).includes('deprecated version of Swagger'))).toBe(true);
    } finally {
      consoleLog.mockRestore();
    }
  });

  test('StasisStart becomes stasisStart with the dialplan args and the caller number', async () => {
    await startUp();
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['inbound'] });
    const [{ channel, args }] = await started;
    expect(channel.id).toBe(ch.id);
    expect(args).toEqual(['inbound']);
    expect(channel.caller.number).toBe('13800138000');
    expect(channel.state).toBe('Ring');
    expect(channel.dialplan?.app_name).toBe('Stasis');
  });

  test('answer, play → playbackStarted/Finished, DTMF', async () => {
    await startUp();
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['inbound'] });
    await started;

    const upEvent = nextEvent<[{ channel: ChannelSnapshot }]>(sw, 'channelStateChange', (e) => e.channel.id === ch.id && e.channel.state === 'Up');
    await sw.answer(ch.id);
    await upEvent;
    expect(ch.state).toBe('Up');

    const pbStarted = nextEvent<[{ playbackId: string; targetUri: string }]>(sw, 'playbackStarted');
    const pbFinished = nextEvent<[{ playbackId: string; targetUri: string; state: string }]>(sw, 'playbackFinished');
    const id = await sw.play(ch.id, 'sound:hello-world', 'greeting-1');
    expect(id).toBe('greeting-1');
    expect((await pbStarted)[0]).toEqual({ playbackId: 'greeting-1', targetUri: `channel:${ch.id}` });
    const [finished] = await pbFinished;
    expect(finished.playbackId).toBe('greeting-1');
    expect(finished.state).toBe('done');

    const dtmf = nextEvent<[{ channel: ChannelSnapshot; digit: string; durationMs: number }]>(sw, 'dtmf');
    ch.sendDtmf('2');
    const [d] = await dtmf;
    expect(d.digit).toBe('2');
    expect(d.channel.id).toBe(ch.id);
    expect(d.durationMs).toBeGreaterThan(0);
  });

  test('bridge the caller, originate to an agent (RINGING → ANSWER → stasisStart), bridge both, hang up', async () => {
    await startUp();
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    const caller = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['inbound'] });
    await started;

    const bridge = await sw.createBridge('mixing', `hotline-${caller.id}`);
    expect(bridge.id).toBeTruthy();
    expect(bridge.bridge_type).toBe('mixing');
    const entered = nextEvent<[{ bridge: { id: string }; channel: ChannelSnapshot }]>(sw, 'channelEnteredBridge', (e) => e.channel.id === caller.id);
    await sw.addToBridge(bridge.id, [caller.id]);
    expect((await entered)[0].bridge.id).toBe(bridge.id);

    const dials = record<[{ peer: ChannelSnapshot; dialstatus: string }]>(sw, 'dial');
    const agentStarted = nextEvent<StasisStartArg>(sw, 'stasisStart', (e) => e.args[0] === 'agent');
    const agent = await sw.originate({ endpoint: 'PJSIP/agent1001', appArgs: 'agent,call-1', callerId: 'Hotline <114>', timeoutSec: 30, channelId: 'agent-call-1' });
    expect(agent.id).toBe('agent-call-1');
    const [{ channel: agentCh, args }] = await agentStarted;
    expect(agentCh.id).toBe('agent-call-1');
    expect(args).toEqual(['agent', 'call-1']);
    expect(agentCh.state).toBe('Up');
    const statuses = dials.filter(([e]) => e.peer.id === 'agent-call-1').map(([e]) => e.dialstatus);
    expect(statuses).toEqual(expect.arrayContaining(['RINGING', 'ANSWER']));
    expect(statuses.indexOf('RINGING')).toBeLessThan(statuses.indexOf('ANSWER'));

    const agentEntered = nextEvent<[{ bridge: { id: string }; channel: ChannelSnapshot }]>(sw, 'channelEnteredBridge', (e) => e.channel.id === 'agent-call-1');
    await sw.addToBridge(bridge.id, ['agent-call-1']);
    await agentEntered;
    expect((await sw.getBridge(bridge.id))?.channels.sort()).toEqual([caller.id, 'agent-call-1'].sort());
    expect((await sw.listChannels()).map((c) => c.id).sort()).toEqual([caller.id, 'agent-call-1'].sort());

    const hangupReq = nextEvent<[{ channel: ChannelSnapshot; cause?: number; soft?: boolean }]>(sw, 'hangupRequest', (e) => e.channel.id === caller.id);
    const ended = nextEvent<[{ channel: ChannelSnapshot }]>(sw, 'stasisEnd', (e) => e.channel.id === caller.id);
    await sw.hangup(caller.id);
    const [req] = await hangupReq;
    expect(req.soft).toBe(true);
    await ended;

    const destroyed = nextEvent<[{ channel: ChannelSnapshot; cause: number; causeTxt: string }]>(sw, 'channelDestroyed', (e) => e.channel.id === 'agent-call-1');
    await sw.hangup('agent-call-1');
    expect((await destroyed)[0].cause).toBe(16);
    await sw.destroyBridge(bridge.id);
    expect(await sw.getBridge(bridge.id)).toBeNull();
  });

  test('snoop → StasisStart with its args; recordChannel on it; the snoop ends with the spied-on channel (as Asterisk 22)', async () => {
    await startUp();
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    const caller = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['inbound'] });
    await started;
    await sw.answer(caller.id);
    const finished = nextEvent<[{ name: string; targetUri: string; durationSec?: number }]>(sw, 'recordingFinished');
    const snoopEnded = nextEvent<[{ channel: ChannelSnapshot }]>(sw, 'stasisEnd', (e) => e.channel.id === 'call-1-rec');
    const snoopStarted = nextEvent<StasisStartArg>(sw, 'stasisStart', (e) => e.args[0] === 'recording');
    const snoop = await sw.snoop(caller.id, { snoopId: 'call-1-rec', appArgs: 'recording,call-1' });
    expect(snoop).toMatchObject({ id: 'call-1-rec', state: 'Up', caller: { name: '', number: '' } });
    expect(snoop.name).toMatch(new RegExp(`^Snoop/${caller.id.replace('.', '\\.')}-[0-9a-f]{8}$`));
    expect(snoop.dialplan).toMatchObject({ context: 'default', exten: 's', priority: 1, app_name: 'Stasis', app_data: `${APP},recording,call-1` });
    const [{ channel, args }] = await snoopStarted;
    expect(channel.id).toBe('call-1-rec');
    expect(args).toEqual(['recording', 'call-1']);
    await sw.recordChannel('call-1-rec', 'calls/call-1', { ifExists: 'overwrite' });
    await expect(sw.recordChannel('call-1-rec', 'calls/call-1', { ifExists: 'overwrite' })).rejects.toMatchObject({ status: 409 });
    await expect(sw.recordChannel(caller.id, 'calls/other', { format: 'nope' })).rejects.toMatchObject({ status: 422 });
    await expect(sw.snoop('does-not-exist', { snoopId: 'x-rec', appArgs: 'recording,x' })).rejects.toMatchObject({ status: 404 });
    await sw.hangup(caller.id);
    const [rec] = await finished;
    expect(rec).toMatchObject({ name: 'calls/call-1', targetUri: 'channel:call-1-rec' });
    await snoopEnded;
    expect(sim.storedRecordings()).toContain('calls/call-1');
    expect(await sw.getChannel('call-1-rec')).toBeNull();
  });

  test('Asterisk errors keep their HTTP status: 404 → notFound, 500 Allocation failed', async () => {
    await startUp();
    expect(await sw.getChannel('does-not-exist')).toBeNull();
    const err = await sw.answer('does-not-exist').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SwitchCommandError);
    expect((err as SwitchCommandError).status).toBe(404);
    expect((err as SwitchCommandError).notFound).toBe(true);
    expect((err as SwitchCommandError).message).toMatch(/Channel not found/);
    await expect(sw.destroyBridge('nope')).rejects.toMatchObject({ status: 404, operation: 'destroyBridge' });

    const alloc = await sw.originate({ endpoint: 'PJSIP/nobody', appArgs: 'agent' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(alloc).toBeInstanceOf(SwitchCommandError);
    expect((alloc as SwitchCommandError).notFound).toBe(false);
    expect((alloc as SwitchCommandError).status).not.toBeNull();
  });

  test('an event type unknown to ari-client neither crashes nor deafens us', async () => {
    await startUp();
    // ari-client's own handler throws on this (its swagger model has no such type); test-only poke at the
    // simulator's event server to send a frame a future Asterisk might send.
    (sim as unknown as { events: { send(app: string, ev: object): boolean } }).events.send(APP, { type: 'SomethingNewInAsterisk23', timestamp: new Date().toISOString() });
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['after-unknown'] });
    expect((await started)[0].args).toEqual(['after-unknown']);

    // …and reconnects still work afterwards.
    const down = nextEvent(sw, 'down');
    const up = nextEvent(sw, 'up', () => true, 5000);
    sim.dropAriWebSockets();
    await down;
    await up;
  });

  test('a throwing listener neither stops later events nor the other listeners of the same event', async () => {
    await startUp();
    sw.once('stasisStart', () => {
      throw new Error('bug in call logic');
    });
    const first = nextEvent<StasisStartArg>(sw, 'stasisStart', (e) => e.args[0] === 'one');
    sim.dial({ from: 'caller1', app: APP, appArgs: ['one'] });
    await first;
    const second = nextEvent<StasisStartArg>(sw, 'stasisStart', (e) => e.args[0] === 'two');
    sim.dial({ from: 'caller1', app: APP, appArgs: ['two'] });
    await second;
    expect(log.lines.some((l) => l.msg === 'switch event listener threw')).toBe(true);
  });

  test('WebSocket dropped → down, commands fail fast with TelephonyDownError, then up again and events flow', async () => {
    await startUp();
    const down = nextEvent<[string]>(sw, 'down');
    sim.dropAriWebSockets();
    await down;
    expect(sw.isUp).toBe(false);
    await expect(sw.answer('x')).rejects.toBeInstanceOf(TelephonyDownError);
    await expect(sw.listChannels()).rejects.toMatchObject({ code: 'ari_unavailable' });

    await nextEvent(sw, 'up');
    expect(sim.isAppConnected(APP)).toBe(true);
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    sim.dial({ from: 'caller1', app: APP, appArgs: ['after-reconnect'] });
    expect((await started)[0].args).toEqual(['after-reconnect']);
  });

  test('ARI down past ari-client giving up (WebSocketMaxRetries) → new client → recovery', async () => {
    // ari-client gives up after 10 retries (~43 s); let it give up after 2 so the test is fast. The path under
    // test is the real one: ari-client emits WebSocketMaxRetries and we create a new client.
    const backoffFunc = require('backoff-func') as { create(o: object): unknown };
    const original = backoffFunc.create;
    const spy = jest.spyOn(backoffFunc, 'create').mockImplementation((o: object) => original({ ...o, maxRetries: 2 }));
    try {
      await startUp();
      const failures = record<[{ kind: string }]>(sw.connection, 'connectFailed');
      const down = nextEvent(sw, 'down');
      await sim.setAriDown(true);
      await down;
      await expect(sw.answer('x')).rejects.toBeInstanceOf(TelephonyDownError);
      // Our own loop runs only after ari-client gave up: the pre-flight reports the refused connection.
      await nextEvent(sw.connection, 'connectFailed', (f: { kind: string }) => f.kind === 'unreachable', 10_000);
      await nextEvent(sw.connection, 'connectFailed', (f: { kind: string }) => f.kind === 'unreachable', 10_000);
      expect(log.lines.some((l) => String(l.msg).includes('gave up reconnecting'))).toBe(true);

      const up = nextEvent(sw, 'up', () => true, 10_000);
      await sim.setAriDown(false);
      await up;
      expect(failures.length).toBeGreaterThanOrEqual(2);
      const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
      sim.dial({ from: 'caller1', app: APP, appArgs: ['recovered'] });
      expect((await started)[0].args).toEqual(['recovered']);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('AriSwitch event filter', () => {
  let sim: AsteriskSimulator;
  let sw: AriSwitch;

  beforeEach(async () => {
    sim = await AsteriskSimulator.start({});
    sim.addEndpoint('caller1', { context: 'from-callers' });
    sw = new AriSwitch({ url: sim.ariUrl, username: 'hotline114', password: 'hotline114', app: APP, logger: captureLogger().logger, backoff: { initialMs: 20, maxMs: 200 } });
  });

  afterEach(async () => {
    await sw.close();
    await sim.stop();
  });

  test('subscribes only to the event types it has listeners for (application eventFilter), widened on a new listener', async () => {
    const filterSet = () =>
      nextEvent<[{ method: string; path: string; status: number }]>(sim, 'rest', (e) => e.method === 'PUT' && e.path.endsWith(`/applications/${APP}/eventFilter`) && e.status === 200);
    sw.on('stasisStart', () => undefined);
    sw.on('stasisEnd', () => undefined);
    const first = filterSet();
    const up = nextEvent(sw, 'up');
    sw.start();
    await up;
    await first;
    const app = (await fetch(`${sim.ariUrl}/ari/applications/${APP}`, { headers: { authorization: `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}` } }).then((r) => r.json())) as {
      events_allowed: { type: string }[];
    };
    expect(app.events_allowed.map((e) => e.type).sort()).toEqual(['ApplicationReplaced', 'StasisEnd', 'StasisStart']);

    const frames: string[] = [];
    sw.connection.on('event', (e) => frames.push(e.type));
    const started = nextEvent<StasisStartArg>(sw, 'stasisStart');
    const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: APP, appArgs: ['inbound'] });
    await started;
    await sw.answer(ch.id); // ChannelStateChange (Up): filtered out
    const ended = nextEvent(sw, 'stasisEnd');
    ch.hangup(); // ChannelHangupRequest, ChannelDestroyed: filtered out; StasisEnd comes
    await ended;
    expect(frames).toEqual(['StasisStart', 'StasisEnd']);

    const widened = filterSet();
    sw.on('dtmf', () => undefined);
    await widened;
    const after = (await fetch(`${sim.ariUrl}/ari/applications/${APP}`, { headers: { authorization: `Basic ${Buffer.from('hotline114:hotline114').toString('base64')}` } }).then((r) => r.json())) as {
      events_allowed: { type: string }[];
    };
    expect(after.events_allowed.map((e) => e.type)).toContain('ChannelDtmfReceived');
  });

});

describe('AriSwitch with a wrong password', () => {
  test('does not crash the process, reports auth failures (401) and keeps retrying', async () => {
    const sim = await AsteriskSimulator.start({ ariPassword: 'right' });
    const log = captureLogger();
    const sw = new AriSwitch({ url: sim.ariUrl, username: 'hotline114', password: 'wrong', app: APP, logger: log.logger, backoff: { initialMs: 10, maxMs: 50 } });
    try {
      const failures = record<[{ kind: string; status: number | null; attempt: number }]>(sw.connection, 'connectFailed');
      sw.start();
      await nextEvent(sw.connection, 'connectFailed', (f: { attempt: number }) => f.attempt >= 3);
      expect(failures.every(([f]) => f.kind === 'auth' && f.status === 401)).toBe(true);
      expect(sw.isUp).toBe(false);
      await expect(sw.answer('x')).rejects.toBeInstanceOf(TelephonyDownError);
      const errorLine = log.lines.find((l) => l.level === 50 && String(l.msg).includes('ARI connect failed'));
      expect(errorLine?.msg).toMatch(/rejected ARI user "hotline114"/);
      expect(JSON.stringify(log.lines)).not.toContain('wrong');
    } finally {
      await sw.close();
      await sim.stop();
    }
  });

  test('ari-client connect with a wrong password rejects instead of throwing (residual race is contained)', async () => {
    const sim = await AsteriskSimulator.start({ ariPassword: 'right' });
    const log = captureLogger();
    // Constructing a switch installs the guard; then call ari-client directly, bypassing the pre-flight.
    const sw = new AriSwitch({ url: sim.ariUrl, username: 'hotline114', password: 'right', app: APP, logger: log.logger });
    try {
      const ari = require('ari-client') as { connect(u: string, n: string, p: string): Promise<unknown> };
      await expect(ari.connect(sim.ariUrl, 'hotline114', 'wrong')).rejects.toBeTruthy();
      // Let the swagger callback that used to throw run to completion.
      await new Promise((r) => setImmediate(r));
      expect(log.lines.some((l) => String(l.msg).includes('swagger failure contained'))).toBe(true);
    } finally {
      await sw.close();
      await sim.stop();
    }
  });

  test('404 (no ARI at that URL) is a clean, logged failure', async () => {
    const http = await import('node:http');
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"Not found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const log = captureLogger();
    const sw = new AriSwitch({ url: `http://127.0.0.1:${port}`, username: 'u', password: 'p', app: APP, logger: log.logger, backoff: { initialMs: 10, maxMs: 20 } });
    try {
      const failed = nextEvent<[{ kind: string; attempt: number }]>(sw.connection, 'connectFailed', (f) => f.attempt >= 2);
      sw.start();
      expect((await failed)[0].kind).toBe('notFound');
    } finally {
      await sw.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('AriRest', () => {
  test('a command Asterisk does not answer times out with SwitchTimeoutError (status null)', async () => {
    const http = await import('node:http');
    const server = http.createServer(() => undefined); // never replies
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const rest = new AriRest({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, username: 'u', password: 'p' });
    try {
      const err = await rest.request('answer', 'POST', '/channels/x/answer', undefined, undefined, 100).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SwitchTimeoutError);
      expect(err).toBeInstanceOf(SwitchCommandError);
      expect((err as SwitchTimeoutError).status).toBeNull();
      expect((err as SwitchTimeoutError).operation).toBe('answer');
    } finally {
      rest.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
