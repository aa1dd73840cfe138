// AriRest against a bare HTTP server that behaves like Asterisk closing an idle kept-alive socket (http.conf
// session_keep_alive) just as the next request is written on it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AriRest } from '../../src/telephony/ari/rest';

describe('AriRest keep-alive', () => {
  let server: http.Server;
  let rest: AriRest;
  const seen: string[] = [];

  beforeAll(async () => {
    const perSocket = new WeakMap<object, number>();
    server = http.createServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      seen.push(`${req.method} ${req.url} #${n}`);
      // The second request on a socket: the server had already decided to close it as idle.
      if (n === 2 && req.url?.includes('stale')) {
        req.socket.destroy();
        return;
      }
      res.writeHead(req.url?.includes('missing') ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.includes('missing') ? { message: 'Channel not found' } : { id: 'ch-1' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    rest = new AriRest({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, username: 'u', password: 'p', maxSockets: 1 });
  });

  afterAll(async () => {
    rest.close();
    await new Promise((r) => server.close(r));
  });

  it('sends a request again on a fresh socket when the kept-alive one was closed under it', async () => {
    seen.length = 0;
    await rest.request('getChannel', 'GET', '/channels/first', undefined, undefined, 2000);
    const out = await rest.request<{ id: string }>('originate', 'POST', '/channels/stale', { endpoint: 'PJSIP/agent1001' }, { variables: {} }, 2000);
    expect(out).toEqual({ id: 'ch-1' });
    // Once on the stale socket (never answered), once on a new one.
    expect(seen).toEqual(['GET /ari/channels/first #1', 'POST /ari/channels/stale?endpoint=PJSIP%2Fagent1001 #2', 'POST /ari/channels/stale?endpoint=PJSIP%2Fagent1001 #1']);
  });

  it('does not repeat a request Asterisk answered, even with an error', async () => {
    seen.length = 0;
    await expect(rest.request('getChannel', 'GET', '/channels/missing', undefined, undefined, 2000)).rejects.toMatchObject({ status: 404 });
    expect(seen).toHaveLength(1);
  });
});

describe('AriRest connections', () => {
  it('opens at most 8 connections to Asterisk in a burst (its accept backlog is 10); the rest wait for a free one', async () => {
    let connections = 0;
    let open = 0;
    let maxOpenRequests = 0;
    const server = http.createServer((req, res) => {
      open++;
      maxOpenRequests = Math.max(maxOpenRequests, open);
      // Asterisk takes a moment per originate: the burst really overlaps.
      setTimeout(() => {
        open--;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: req.url }));
      }, 20);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const rest = new AriRest({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, username: 'u', password: 'p' });
    try {
      const out = await Promise.all(Array.from({ length: 30 }, (_, i) => rest.request<{ id: string }>('originate', 'POST', `/channels/c${i}`, undefined, undefined, 5000)));
      expect(out.map((o) => o.id)).toEqual(Array.from({ length: 30 }, (_, i) => `/ari/channels/c${i}`));
      expect(connections).toBe(8);
      expect(maxOpenRequests).toBe(8);
    } finally {
      rest.close();
      await new Promise((r) => server.close(r));
    }
  });
});
