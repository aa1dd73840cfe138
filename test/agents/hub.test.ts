// The screen-pop hub on real Redis pub/sub, two hubs standing for two service processes.
import { ScreenPopHub, type AgentSocket, type ScreenMessage } from '../../src/agents/hub';
import { createLogger } from '../../src/infra/logger';
import { createRedis, redisReady, type Redis } from '../../src/infra/redis';
import { TEST_REDIS_URL, uniqueName } from '../helpers/db';

/** A console's socket as the hub sees it: what it was sent, in order. */
class Console implements AgentSocket {
  readonly received: string[] = [];
  readyState = 1;
  send(data: string): void {
    this.received.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const offered = (callId: string): ScreenMessage => ({
  type: 'call.offered',
  callId,
  callerNumber: '13800138000',
  caller: null,
  recentCalls: [],
  openCases: [],
  queueWaitMs: 0,
  offeredAt: new Date().toISOString(),
});

describe('ScreenPopHub', () => {
  const clients: Redis[] = [];
  const log = createLogger('silent');
  let prefix: string;
  let a: ScreenPopHub;
  let b: ScreenPopHub;

  const redis = async () => {
    const r = createRedis(TEST_REDIS_URL);
    clients.push(r);
    await redisReady(r);
    return r;
  };

  beforeEach(async () => {
    prefix = uniqueName('hubtest');
    a = new ScreenPopHub(await redis(), await redis(), prefix, log);
    b = new ScreenPopHub(await redis(), await redis(), prefix, log);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async (r) => (r.status === 'ready' ? void (await r.quit()) : r.disconnect())));
  });

  it('hands a console on the publishing process its message at once, and exactly once', async () => {
    const here = new Console();
    const there = new Console();
    await a.attach(7, here);
    await b.attach(7, there);
    const sent = a.publish(7, offered('c1'));
    // Before any Redis round trip: the local console already has it.
    expect(here.received.map((m) => JSON.parse(m).callId)).toEqual(['c1']);
    expect(await sent).toBe(2); // both processes' subscriptions got it through Redis
    await until(() => there.received.length === 1, 'the other process');
    expect(JSON.parse(there.received[0]!)).toMatchObject({ type: 'call.offered', callId: 'c1' });
    // The copy Redis brought back to the publisher is dropped: after the other process got its copy (same
    // publish, same channel), a second message through the publisher still shows exactly one of each.
    await a.publish(7, offered('c2'));
    await until(() => there.received.length === 2, 'the second message on the other process');
    await b.publish(7, offered('c3'));
    await until(() => here.received.length === 3, 'a message from the other process');
    expect(here.received.map((m) => JSON.parse(m).callId)).toEqual(['c1', 'c2', 'c3']);
    expect(there.received.map((m) => JSON.parse(m).callId)).toEqual(['c1', 'c2', 'c3']);
  });

  it('delivers plain JSON published by anything else unchanged', async () => {
    const here = new Console();
    await a.attach(8, here);
    const pub = await redis();
    const text = JSON.stringify({ type: 'agent.state', state: 'paused', reason: '培训', since: 1 });
    await pub.publish(`${prefix}:pop:8`, text);
    await until(() => here.received.length === 1, 'the plain message');
    expect(here.received).toEqual([text]);
  });

  it('still reaches a console on this process while Redis is unreachable', async () => {
    const pub = createRedis('redis://127.0.0.1:1', undefined, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    clients.push(pub);
    const hub = new ScreenPopHub(pub, await redis(), prefix, log);
    const here = new Console();
    await hub.attach(9, here);
    expect(await hub.publish(9, offered('c9'))).toBe(1);
    expect(here.received.map((m) => JSON.parse(m).callId)).toEqual(['c9']);
  });
});
