import net from 'node:net';
import { AsteriskSimulator } from '../asterisk';
import { AmiClient, AmiActionError, AmiDisconnectedError, AmiTimeoutError, normalizeAmiMessage } from '../../src/telephony/ami';
import { TelephonyDownError } from '../../src/infra/errors';
import { captureLogger, nextEvent, record } from './helpers';

type AmiEventArgs = [string, Record<string, string>];

describe('AmiClient against the simulator', () => {
  let sim: AsteriskSimulator;
  let ami: AmiClient;
  let log: ReturnType<typeof captureLogger>;

  beforeEach(async () => {
    sim = await AsteriskSimulator.start({});
    sim.addEndpoint('caller1', { context: 'from-callers' });
    sim.addEndpoint('agent1001', { context: 'from-agents', behavior: { answerAfterMs: 50 } });
    sim.addEndpoint('agent1002', { context: 'from-agents' });
    log = captureLogger();
    ami = new AmiClient({
      host: '127.0.0.1',
      port: sim.amiPort,
      username: 'hotline114',
      secret: 'hotline114',
      logger: log.logger,
      actionTimeoutMs: 2000,
      backoff: { initialMs: 20, maxMs: 200 },
    });
  });

  afterEach(async () => {
    await ami.close();
    await sim.stop();
  });

  async function startUp(): Promise<void> {
    const up = nextEvent(ami, 'up');
    ami.start();
    await up;
  }

  test('logs in, answers Ping with our own unique ActionIDs', async () => {
    await startUp();
    expect(ami.isUp).toBe(true);
    expect(sim.amiActions.some((a) => /login/i.test(a.Action ?? ''))).toBe(true);
    const [a, b] = await Promise.all([ami.ping(), ami.ping()]);
    expect(a.response).toBe('Success');
    expect(a.ping).toBe('Pong');
    expect(a.actionid).toMatch(/^h114-\d+-[0-9a-f]{6}$/);
    expect(b.actionid).toMatch(/^h114-\d+-[0-9a-f]{6}$/);
    expect(a.actionid).not.toBe(b.actionid);
  });

  test('Response: Error rejects with AmiActionError', async () => {
    await startUp();
    const err = await ami.action({ Action: 'NoSuchAction' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AmiActionError);
    expect((err as AmiActionError).response.message).toMatch(/Invalid\/unknown command/);
  });

  test('list actions collect their items until EventList: Complete', async () => {
    await startUp();
    const endpoints = await ami.pjsipShowEndpoints();
    expect(endpoints.map((e) => e.objectname).sort()).toEqual(['agent1001', 'agent1002', 'caller1']);
    expect(endpoints.every((e) => e.event === 'EndpointList')).toBe(true);

    expect(await ami.coreShowChannels()).toEqual([]);
    // agent1002 never answers: its channel stays (Ringing) while we list.
    const ringing = nextEvent<AmiEventArgs>(ami, 'event', (n, e) => n === 'Newstate' && e.channelstatedesc === 'Ringing');
    await ami.originate({ channel: 'PJSIP/agent1002', application: 'Playback', data: 'hello-world' });
    const [, state] = await ringing;
    const channels = await ami.coreShowChannels();
    expect(channels).toHaveLength(1);
    expect(channels[0]?.uniqueid).toBe(state.uniqueid);
    expect(channels[0]?.event).toBe('CoreShowChannel');

    const { response, items } = await ami.listAction({ Action: 'DeviceStateList' });
    expect(response.eventlist?.toLowerCase()).toBe('start');
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.event === 'DeviceStateChange')).toBe(true);
  });

  test('events are emitted with their name and lower-cased keys', async () => {
    await startUp();
    const newchannel = nextEvent<AmiEventArgs>(ami, 'event', (name) => name === 'Newchannel');
    const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: 'hotline114' });
    const [, evt] = await newchannel;
    expect(evt.uniqueid).toBe(ch.id);
    expect(evt.calleridnum).toBe('13800138000');
    expect(evt.channelstatedesc).toBeDefined();
  });

  test('asks Asterisk only for the event classes the service reads (system, call): no dialplan events', async () => {
    await startUp();
    const header = (a: Record<string, string>, key: string) => Object.entries(a).find(([k]) => k.toLowerCase() === key)?.[1];
    const mask = sim.amiActions.find((a) => /^events$/i.test(header(a, 'action') ?? ''));
    expect(mask && header(mask, 'eventmask')).toBe('system,call');
    const names = record<AmiEventArgs>(ami, 'event');
    const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: 'hotline114' });
    const hungUp = nextEvent<AmiEventArgs>(ami, 'event', (n, e) => n === 'Hangup' && e.uniqueid === ch.id);
    ch.hangup();
    await hungUp;
    const seen = new Set(names.map(([n]) => n));
    expect(seen.has('Newchannel')).toBe(true);
    // The simulator sends VarSet and Newexten (class dialplan) for this channel before its Hangup.
    expect(seen.has('VarSet')).toBe(false);
    expect(seen.has('Newexten')).toBe(false);
  });

  test('originate is queued and its OriginateResponse carries our ActionID', async () => {
    await startUp();
    const responses = record<AmiEventArgs>(ami, 'event');
    const queued = await ami.originate({ channel: 'PJSIP/agent1001', application: 'Playback', data: 'hello-world', callerId: 'Hotline <114>', variables: { HOTLINE_CALL: '1' } });
    expect(queued.response).toBe('Success');
    const id = queued.actionid;
    const [, outcome] =
      responses.find(([n, e]) => n === 'OriginateResponse' && e.actionid === id) ??
      (await nextEvent<AmiEventArgs>(ami, 'event', (n, e) => n === 'OriginateResponse' && e.actionid === id));
    expect(outcome.response).toBe('Success');
    const channel = outcome.channel ?? '';
    const hung = await ami.hangup(channel);
    expect(hung.response).toBe('Success');
  });

  test('pending actions are rejected when the connection drops; then it reconnects', async () => {
    await startUp();
    const down = nextEvent<[string]>(ami, 'down');
    const pending = ami.action({ Action: 'Ping' }, { timeoutMs: 5000 });
    // Same tick: the simulator drops the socket before it could read the Ping.
    sim.dropAmiConnections();
    await expect(pending).rejects.toBeInstanceOf(AmiDisconnectedError);
    await expect(pending).rejects.toBeInstanceOf(TelephonyDownError);
    await down;
    await expect(ami.ping()).rejects.toBeInstanceOf(TelephonyDownError);
    await nextEvent(ami, 'up');
    expect((await ami.ping()).ping).toBe('Pong');
  });

  test('survives a simulated Asterisk restart', async () => {
    await startUp();
    const down = nextEvent(ami, 'down');
    const up = nextEvent(ami, 'up', () => true, 5000);
    await sim.restart();
    await down;
    await up;
    expect((await ami.ping()).response).toBe('Success');
  });
});

describe('AmiClient login failure', () => {
  test('a wrong secret is reported (loginFailed, error log) and retried with backoff; never up', async () => {
    const sim = await AsteriskSimulator.start({ amiSecret: 'right' });
    const log = captureLogger();
    const ami = new AmiClient({ host: '127.0.0.1', port: sim.amiPort, username: 'hotline114', secret: 'wrong', logger: log.logger, backoff: { initialMs: 10, maxMs: 40 } });
    const ups = record<[]>(ami, 'up');
    try {
      ami.start();
      const [first] = await nextEvent<[{ message: string; attempt: number }]>(ami, 'loginFailed');
      expect(first.message).toBe('Authentication failed');
      await nextEvent(ami, 'loginFailed', (f: { attempt: number }) => f.attempt >= 3);
      expect(ups).toHaveLength(0);
      expect(ami.isUp).toBe(false);
      await expect(ami.ping()).rejects.toBeInstanceOf(TelephonyDownError);
      const line = log.lines.find((l) => l.level === 50 && String(l.msg).includes('AMI login rejected'));
      expect(line?.msg).toMatch(/Authentication failed/);
      expect(JSON.stringify(log.lines)).not.toContain('"wrong"');
    } finally {
      await ami.close();
      await sim.stop();
    }
  });
});

describe('AmiClient against a simulator filtering event names like manager.conf', () => {
  test('gets only the named events; answers to its list actions still arrive', async () => {
    const sim = await AsteriskSimulator.start({ amiEventNames: ['DeviceStateChange'] });
    sim.addEndpoint('caller1', { context: 'from-callers' });
    const ami = new AmiClient({ host: '127.0.0.1', port: sim.amiPort, username: 'hotline114', secret: 'hotline114', logger: captureLogger().logger, backoff: { initialMs: 20, maxMs: 200 } });
    try {
      const up = nextEvent(ami, 'up');
      ami.start();
      await up;
      const names = record<AmiEventArgs>(ami, 'event');
      // A call (Newchannel, Newexten, Hangup…) and the phone going away and back (PeerStatus, ContactStatus,
      // DeviceStateChange): only the last kind may reach us.
      const ch = sim.dial({ from: 'caller1', callerNumber: '13800138000', app: 'hotline114' });
      ch.hangup();
      await ch.waitFor('destroyed');
      const gone = nextEvent<AmiEventArgs>(ami, 'event', (n, e) => n === 'DeviceStateChange' && e.state === 'UNAVAILABLE');
      sim.setOnline('caller1', false);
      await gone;
      const back = nextEvent<AmiEventArgs>(ami, 'event', (n, e) => n === 'DeviceStateChange' && e.state === 'NOT_INUSE');
      sim.setOnline('caller1', true);
      await back;
      expect([...new Set(names.map(([n]) => n))]).toEqual(['DeviceStateChange']);
      expect((await ami.deviceStateList()).length).toBeGreaterThan(0);
    } finally {
      await ami.close();
      await sim.stop();
    }
  });
});

/** A fake AMI that logs in, takes the event mask, and then never answers anything: for timeouts. */
async function silentAmi(): Promise<{ port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write('Asterisk Call Manager/11.0.0\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const msg = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const id = /ActionID: (.*)/i.exec(msg)?.[1];
        if (/Action: login/i.test(msg)) s.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
        if (/Action: events/i.test(msg)) s.write(`Response: Success\r\nActionID: ${id}\r\nEvents: On\r\n\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('AmiClient timeouts', () => {
  test('an unanswered action times out with AmiTimeoutError and the connection stays up', async () => {
    const fake = await silentAmi();
    const ami = new AmiClient({ host: '127.0.0.1', port: fake.port, username: 'u', secret: 's', logger: captureLogger().logger, actionTimeoutMs: 100, keepaliveIntervalMs: 0 });
    try {
      const up = nextEvent(ami, 'up');
      ami.start();
      await up;
      const started = Date.now();
      const err = await ami.ping().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AmiTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(ami.isUp).toBe(true);
      await expect(ami.listAction({ Action: 'CoreShowChannels' }, { timeoutMs: 50 })).rejects.toBeInstanceOf(AmiTimeoutError);
    } finally {
      await ami.close();
      await fake.close();
    }
  });

  test('a silent connection is detected by the keepalive ping and replaced', async () => {
    const fake = await silentAmi();
    const ami = new AmiClient({ host: '127.0.0.1', port: fake.port, username: 'u', secret: 's', logger: captureLogger().logger, actionTimeoutMs: 50, keepaliveIntervalMs: 60, backoff: { initialMs: 10, maxMs: 20 } });
    try {
      const up = nextEvent(ami, 'up');
      ami.start();
      await up;
      const [reason] = await nextEvent<[string]>(ami, 'down');
      expect(reason).toMatch(/keepalive/);
      await nextEvent(ami, 'up');
    } finally {
      await ami.close();
      await fake.close();
    }
  });
});

describe('normalizeAmiMessage', () => {
  test("restores asterisk-manager's Variable objects and joins repeated keys", () => {
    expect(normalizeAmiMessage({ event: 'VarSet', variable: { HOTLINE_CALL: '' }, value: '1' })).toEqual({ event: 'VarSet', variable: 'HOTLINE_CALL', value: '1' });
    expect(normalizeAmiMessage({ chanvariable: { A: '1', B: '2' }, output: ['l1', 'l2'] })).toEqual({ chanvariable: 'A=1,B=2', output: 'l1\nl2' });
  });
});
