// ARI events WebSocket: GET /ari/events?app=X[,Y]&api_key=user:pass. One compact JSON text frame per event
// (ari.conf pretty=no), `asterisk_id` and `application` appended as Asterisk does.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkAuth } from './ari-http';
import { ASTERISK_ID, ariTime, type AriEvent } from './model';

export interface EventFilter {
  allowed: string[];
  disallowed: string[];
}

export class AriEventServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  /** app name → its WebSocket. */
  private readonly apps = new Map<string, WebSocket>();
  private readonly sockets = new Set<WebSocket>();
  /** PUT /applications/{app}/eventFilter: kept with the application, as Asterisk keeps it across reconnects. */
  private readonly filters = new Map<string, EventFilter>();

  constructor(
    private readonly user: string,
    private readonly password: string,
    private readonly onSent: (ev: AriEvent & { application: string; asterisk_id: string }) => void,
    private readonly onAppsChanged: () => void,
  ) {}

  activeApps(): string[] {
    return [...this.apps.keys()];
  }

  isActive(app: string): boolean {
    return this.apps.has(app);
  }

  eventFilter(app: string): EventFilter {
    return this.filters.get(app) ?? { allowed: [], disallowed: [] };
  }

  /** As res/stasis/app.c: an object without a key leaves that list alone, an empty object clears both. */
  setEventFilter(app: string, body: { allowed?: unknown; disallowed?: unknown }): void {
    const cur = this.eventFilter(app);
    const list = (v: unknown): string[] => {
      if (!Array.isArray(v)) throw new Error('filter must be an array');
      return v.map((o) => {
        const type = (o as { type?: unknown } | null)?.type;
        if (typeof type !== 'string' || !type) throw new Error('Filter event must have a type');
        return type;
      });
    };
    const empty = Object.keys(body).length === 0;
    this.filters.set(app, {
      allowed: empty ? [] : 'allowed' in body ? list(body.allowed) : cur.allowed,
      disallowed: empty ? [] : 'disallowed' in body ? list(body.disallowed) : cur.disallowed,
    });
  }

  private allowed(app: string, type: string): boolean {
    const f = this.filters.get(app);
    if (!f) return true;
    return !f.disallowed.includes(type) && (f.allowed.length === 0 || f.allowed.includes(type));
  }

  send(app: string, event: AriEvent): boolean {
    const ws = this.apps.get(app);
    if (!ws || ws.readyState !== ws.OPEN) return false;
    // Filtered out: delivered as far as the application is concerned (Asterisk does not tell either).
    if (!this.allowed(app, event.type)) return true;
    const full = { ...event, asterisk_id: ASTERISK_ID, application: app };
    ws.send(JSON.stringify(full));
    this.onSent(full);
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reject = (status: number, statusText: string, type: string, body: string): void => {
      socket.end(
        `HTTP/1.1 ${status} ${statusText}\r\nServer: Asterisk/22.10.1\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n` +
          `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (url.pathname !== '/ari/events') {
      reject(404, 'Not Found', 'application/json', '{"message":"Resource not found"}');
      return;
    }
    const appParam = url.searchParams.get('app');
    if (!appParam) {
      const html =
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>400 Bad Request</title>\r\n</head><body>\r\n' +
        '<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n<address>Asterisk Server</address>\r\n</body></html>\r\n';
      reject(400, 'Bad Request', 'text/html', html);
      return;
    }
    if (!checkAuth(req, url, this.user, this.password)) {
      reject(401, 'Unauthorized', 'application/json', '{"message":"Authentication required"}');
      return;
    }
    const names = appParam
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      for (const name of names) {
        const old = this.apps.get(name);
        if (old && old !== ws) {
          // Another connection takes the application over.
          const ev = { type: 'ApplicationReplaced', timestamp: ariTime(), asterisk_id: ASTERISK_ID, application: name };
          if (old.readyState === old.OPEN) old.send(JSON.stringify(ev));
        }
        this.apps.set(name, ws);
      }
      ws.on('close', () => {
        this.sockets.delete(ws);
        for (const [name, s] of this.apps) if (s === ws) this.apps.delete(name);
        this.onAppsChanged();
      });
      ws.on('error', () => undefined);
      this.onAppsChanged();
    });
  }

  /** Resolves once every socket has handed its queued events to the kernel (before a graceful shutdown). */
  async flushed(deadlineMs = 2000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while ([...this.sockets].some((ws) => ws.bufferedAmount > 0) && Date.now() < until) await new Promise((r) => setImmediate(r));
  }

  /** Server-side close of every events socket (the clients should reconnect). */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.apps.clear();
    this.onAppsChanged();
  }

  close(): void {
    this.dropAll();
    this.wss.close();
  }
}
