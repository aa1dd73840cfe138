// ARI over HTTP: REST routes under /ari, the api-docs, Basic / api_key authentication, error bodies as
// Asterisk 22 sends them (404 {"message":"Channel not found"}, 500 {"error":"Allocation failed"}, …).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiDeclaration, resourceListing } from './api-docs';
import { AriError, type BridgeImpl, type ChannelImpl, type Core } from './core';
import type { EventFilter } from './ari-ws';
import { ariTime, ASTERISK_ID, ASTERISK_VERSION, HANGUP_REASONS, tinyWav } from './model';

export interface RestLogEntry {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface AriHttpContext {
  core: Core;
  user: string;
  password: string;
  activeApps(): string[];
  eventFilter(app: string): EventFilter;
  setEventFilter(app: string, body: { allowed?: unknown; disallowed?: unknown }): void;
  log(entry: RestLogEntry): void;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function checkAuth(req: IncomingMessage, url: URL, user: string, password: string): boolean {
  const key = url.searchParams.get('api_key');
  if (key !== null) return key === `${user}:${password}`;
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return false;
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  return decoded === `${user}:${password}`;
}

function send(res: ServerResponse, status: number, body: unknown, statusText?: string): void {
  res.statusCode = status;
  res.statusMessage = statusText ?? STATUS_TEXT[status] ?? 'Unknown';
  res.setHeader('Server', 'Asterisk/22.10.1');
  res.setHeader('Cache-Control', 'no-cache, no-store');
  if (status === 204 || body === undefined) {
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  res.end(text);
}

/** Query value(s); allowMultiple parameters come comma-joined (swagger-client) or repeated. */
function multi(url: URL, name: string): string[] {
  return url.searchParams
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Reply = { status: number; body?: unknown; statusText?: string; raw?: { type: string; data: Buffer } };

export async function handleAriRequest(ctx: AriHttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const method = (req.method ?? 'GET').toUpperCase();
  const isDocs = url.pathname.startsWith('/ari/api-docs/');
  let reply: Reply;
  try {
    if (!url.pathname.startsWith('/ari/') && url.pathname !== '/ari') {
      reply = { status: 404, body: { message: 'Resource not found' } };
    } else if (!checkAuth(req, url, ctx.user, ctx.password)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
      reply = { status: 401, body: { message: 'Authentication required' } };
    } else {
      const bodyText = method === 'POST' || method === 'PUT' ? await readBody(req) : '';
      reply = await route(ctx, method, url, bodyText);
    }
  } catch (e) {
    if (e instanceof AriError) reply = { status: e.status, body: e.body, statusText: e.statusText };
    else reply = { status: 500, body: { message: e instanceof Error ? e.message : String(e) } };
  }
  if (reply.raw) {
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.raw.type);
    res.setHeader('Content-Length', String(reply.raw.data.length));
    res.end(reply.raw.data);
  } else {
    send(res, reply.status, reply.body, reply.statusText);
  }
  if (!isDocs) ctx.log({ method, path: url.pathname + url.search, status: reply.status, at: Date.now() });
}

function channelOr404(core: Core, id: string): ChannelImpl {
  const ch = core.channelMap.get(id);
  if (!ch) throw new AriError(404, { message: 'Channel not found' });
  return ch;
}

function stasisChannel(core: Core, id: string): ChannelImpl {
  const ch = channelOr404(core, id);
  if (!ch.inStasis) throw new AriError(409, { message: 'Channel not in Stasis application' });
  return ch;
}

function bridgeOr404(core: Core, id: string): BridgeImpl {
  const b = core.bridgeMap.get(id);
  if (!b) throw new AriError(404, { message: 'Bridge not found' }, 'Not found');
  return b;
}

/** Runs a channel command through its queue; 404 if the channel went away meanwhile. */
async function queued(ch: ChannelImpl, fn: () => void): Promise<Reply> {
  let gone = false;
  await ch.enqueue(() => {
    if (ch.destroyed) {
      gone = true;
      return;
    }
    fn();
  });
  return gone ? { status: 404, body: { message: 'Channel not found' } } : { status: 204 };
}

function appJson(ctx: AriHttpContext, name: string): object {
  const core = ctx.core;
  const subs = core.appSubs.get(name);
  return {
    name,
    channel_ids: [...core.channelMap.values()].filter((c) => c.apps.has(name)).map((c) => c.id),
    bridge_ids: [...core.bridgeMap.values()].filter((b) => (b.subscribers.get(name) ?? 0) > 0).map((b) => b.id),
    endpoint_ids: subs ? [...subs.endpoints] : [],
    device_names: subs ? [...subs.devices] : [],
    events_allowed: ctx.eventFilter(name).allowed.map((type) => ({ type })),
    events_disallowed: ctx.eventFilter(name).disallowed.map((type) => ({ type })),
  };
}

async function route(ctx: AriHttpContext, method: string, url: URL, bodyText: string): Promise<Reply> {
  const core = ctx.core;
  const parts = url.pathname
    .replace(/^\/ari\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  const q = (name: string): string | undefined => url.searchParams.get(name) ?? undefined;
  const [res, a, b, c] = parts;
  const n = parts.length;
  const basePath = `http://${url.host}/ari`;

  // api-docs
  if (res === 'api-docs' && method === 'GET' && n === 2 && a) {
    if (a === 'resources.json') return { status: 200, body: resourceListing(basePath) };
    const decl = apiDeclaration(a.replace(/\.json$/, ''), basePath);
    if (decl) return { status: 200, body: decl };
  }

  if (res === 'asterisk' && a === 'info' && n === 2 && method === 'GET') {
    return {
      status: 200,
      body: {
        build: { os: 'Linux', kernel: '6.1.0', machine: 'x86_64', options: 'OPTIONAL_API', date: '2026-11-28 22:54:56 UTC', user: 'root' },
        system: { version: ASTERISK_VERSION, entity_id: ASTERISK_ID },
        config: { name: '', default_language: 'en', setid: { user: '', group: '' } },
        status: { startup_time: ariTime(core.startupTime), last_reload_time: ariTime(core.lastReload) },
      },
    };
  }

  if (res === 'applications') {
    if (n === 1 && method === 'GET') return { status: 200, body: ctx.activeApps().map((name) => appJson(ctx, name)) };
    if (a && !ctx.activeApps().includes(a) && !core.appSubs.has(a)) throw new AriError(404, { message: 'Application not found' });
    if (a && n === 2 && method === 'GET') return { status: 200, body: appJson(ctx, a) };
    if (a && n === 3 && b === 'eventFilter' && method === 'PUT') {
      let body: unknown;
      try {
        body = bodyText ? JSON.parse(bodyText) : {};
      } catch {
        throw new AriError(400, { message: 'Invalid JSON body' });
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new AriError(400, { message: 'Invalid filter' });
      try {
        ctx.setEventFilter(a, body as { allowed?: unknown; disallowed?: unknown });
      } catch (e) {
        throw new AriError(400, { message: (e as Error).message });
      }
      return { status: 200, body: appJson(ctx, a) };
    }
    if (a && n === 3 && b === 'subscription' && (method === 'POST' || method === 'DELETE')) {
      const sources = multi(url, 'eventSource');
      if (sources.length === 0) throw new AriError(400, { message: 'Missing parameter eventSource' });
      const subs = core.appSubs.get(a) ?? { endpoints: new Set<string>(), devices: new Set<string>() };
      core.appSubs.set(a, subs);
      for (const s of sources) {
        const [kind, ...rest] = s.split(':');
        const key = rest.join(':');
        const set = kind === 'endpoint' ? subs.endpoints : kind === 'deviceState' ? subs.devices : null;
        if (kind === 'channel') {
          const ch = core.channelMap.get(key);
          if (!ch) throw new AriError(422, { message: `Event source not found: ${s}` });
          if (method === 'POST') ch.apps.add(a);
          else ch.apps.delete(a);
          continue;
        }
        if (kind === 'bridge') {
          const br = core.bridgeMap.get(key);
          if (!br) throw new AriError(422, { message: `Event source not found: ${s}` });
          br.subscribers.set(a, method === 'POST' ? (br.subscribers.get(a) ?? 0) + 1 : 0);
          continue;
        }
        if (!set) throw new AriError(400, { message: `Invalid event source URI scheme: ${s}` });
        if (method === 'POST') set.add(key);
        else set.delete(key);
      }
      return { status: 200, body: appJson(ctx, a) };
    }
  }

  if (res === 'endpoints' && method === 'GET') {
    const eps = [...core.endpoints.values()].sort((x, y) => x.name.localeCompare(y.name));
    if (n === 1) return { status: 200, body: eps.map((e) => core.endpointJson(e)) };
    if (n === 2 && a) {
      if (a !== 'PJSIP') throw new AriError(404, { message: 'No Endpoints found - invalid tech ' + a });
      return { status: 200, body: eps.map((e) => core.endpointJson(e)) };
    }
    if (n === 3 && a === 'PJSIP' && b) {
      const ep = core.endpoint(b);
      if (!ep) throw new AriError(404, { message: 'Endpoint not found' });
      return { status: 200, body: core.endpointJson(ep) };
    }
  }

  if (res === 'channels') {
    if (n === 1 && method === 'GET') return { status: 200, body: [...core.channelMap.values()].map((ch) => ch.json()) };
    if ((n === 1 || n === 2) && method === 'POST') {
      let variables: Record<string, string> = {};
      if (bodyText.trim()) {
        try {
          const parsed = JSON.parse(bodyText) as { variables?: Record<string, string> };
          variables = parsed.variables ?? {};
        } catch {
          throw new AriError(400, { message: 'Invalid JSON body' });
        }
      }
      const timeout = q('timeout');
      const ch = core.originate({
        endpoint: q('endpoint'),
        app: q('app'),
        appArgs: q('appArgs'),
        callerId: q('callerId'),
        timeout: timeout !== undefined ? Number(timeout) : undefined,
        channelId: n === 2 ? a : q('channelId'),
        variables,
      });
      return { status: 200, body: ch.json() };
    }
    if (!a) return { status: 404, body: { message: 'Resource not found' } };
    if (n === 2 && method === 'GET') return { status: 200, body: channelOr404(core, a).json() };
    if (n === 2 && method === 'DELETE') {
      const ch = channelOr404(core, a);
      let cause = 16;
      const code = q('reason_code');
      const reason = q('reason');
      if (code !== undefined) cause = Number(code);
      else if (reason !== undefined) {
        const mapped = HANGUP_REASONS[reason];
        if (mapped === undefined) throw new AriError(400, { message: 'Invalid reason for hangup provided' });
        cause = mapped;
      }
      core.hangupChannel(ch, 'app', cause);
      return { status: 204 };
    }
    if (n === 3 && method === 'POST' && b === 'answer') {
      const ch = stasisChannel(core, a);
      return queued(ch, () => core.answer(ch));
    }
    if (n === 3 && b === 'ring' && (method === 'POST' || method === 'DELETE')) {
      const ch = stasisChannel(core, a);
      return queued(ch, () => {
        ch.ringing = method === 'POST';
        // Real Asterisk 22 (chan_pjsip): ringing indicated on an answered channel is played as in-band ringback,
        // which stops a running music-on-hold generator.
        if (method === 'POST' && ch.state === 'Up' && ch.mohPlaying) core.stopMoh(ch);
      });
    }
    if (n === 3 && b === 'moh' && (method === 'POST' || method === 'DELETE')) {
      const ch = stasisChannel(core, a);
      return queued(ch, () => (method === 'POST' ? core.startMoh(ch, q('mohClass') ?? 'default') : core.stopMoh(ch)));
    }
    if ((n === 3 || n === 4) && b === 'play' && method === 'POST') {
      const ch = stasisChannel(core, a);
      const medias = multi(url, 'media');
      if (medias.length === 0) throw new AriError(400, { message: 'Missing parameter media' });
      const playbackId = n === 4 ? c : q('playbackId');
      return { status: 201, body: core.play(ch, medias, playbackId) };
    }
    if ((n === 3 || n === 4) && b === 'snoop' && method === 'POST') {
      const snoopId = n === 4 ? c : q('snoopId');
      const ch = core.snoop(core.channelMap.get(a), { spy: q('spy'), whisper: q('whisper'), app: q('app'), appArgs: q('appArgs'), snoopId });
      return { status: 200, body: ch.json() };
    }
    if (n === 3 && b === 'record' && method === 'POST') {
      const ch = stasisChannel(core, a);
      return { status: 201, body: core.recordChannel(ch, q('name'), q('format'), q('ifExists')) };
    }
    if (n === 3 && b === 'variable') {
      const ch = channelOr404(core, a);
      const name = q('variable');
      if (!name) throw new AriError(400, { message: 'Variable name is required' });
      if (method === 'GET') {
        const v = ch.vars.get(name);
        if (v === undefined) throw new AriError(404, { message: 'Provided variable was not found' });
        return { status: 200, body: { value: v } };
      }
      if (method === 'POST') {
        const value = q('value') ?? '';
        return queued(ch, () => core.setVariable(ch, name, value));
      }
    }
  }

  if (res === 'bridges') {
    if (n === 1 && method === 'GET') return { status: 200, body: [...core.bridgeMap.values()].map((br) => core.bridgeJson(br)) };
    if ((n === 1 || n === 2) && method === 'POST') {
      const br = core.createBridge(q('type'), q('name'), n === 2 ? a : q('bridgeId'));
      return { status: 200, body: core.bridgeJson(br) };
    }
    if (!a) return { status: 404, body: { message: 'Resource not found' } };
    if (n === 2 && method === 'GET') return { status: 200, body: core.bridgeJson(bridgeOr404(core, a)) };
    if (n === 2 && method === 'DELETE') {
      core.destroyBridge(bridgeOr404(core, a));
      return { status: 204 };
    }
    if (n === 3 && method === 'POST' && (b === 'addChannel' || b === 'removeChannel')) {
      const br = bridgeOr404(core, a);
      const ids = multi(url, 'channel');
      if (ids.length === 0) throw new AriError(400, { message: 'Missing parameter channel' });
      const chans = ids.map((id) => {
        const ch = core.channelMap.get(id);
        if (!ch) throw new AriError(400, { message: 'Channel not found' });
        if (!ch.inStasis) throw new AriError(422, { message: 'Channel not in Stasis application' });
        return ch;
      });
      if (b === 'removeChannel') {
        for (const ch of chans) if (ch.bridgeId !== br.id) throw new AriError(422, { message: 'Channel not in this bridge' });
      }
      // addChannel blocks until each channel's earlier commands (e.g. a running playback) are done and it is in the bridge.
      const results = await Promise.all(chans.map((ch) => queued(ch, () => (b === 'addChannel' ? core.joinBridge(ch, br) : core.leaveBridge(ch, br, true)))));
      const failed = results.find((r) => r.status !== 204);
      return failed ?? { status: 204 };
    }
    if (n === 3 && b === 'moh' && (method === 'POST' || method === 'DELETE')) {
      const br = bridgeOr404(core, a);
      if (method === 'POST') core.startBridgeMoh(br, q('mohClass') ?? 'default');
      else {
        if (!br.mohChannel) throw new AriError(409, { message: "Bridge isn't playing music" });
        core.stopBridgeMoh(br);
      }
      return { status: 204 };
    }
    if (n === 3 && b === 'record' && method === 'POST') {
      const br = bridgeOr404(core, a);
      const ifExists = q('ifExists');
      if (ifExists !== undefined && !['fail', 'overwrite', 'append'].includes(ifExists)) throw new AriError(400, { message: 'ifExists invalid' });
      const name = q('name');
      if (name && (ifExists ?? 'fail') === 'fail' && core.storedRecordings.has(name)) {
        throw new AriError(409, { message: `Recording '${name}' already exists and can not be overwritten` });
      }
      return { status: 201, body: core.recordBridge(br, name, q('format'), ifExists === 'fail' ? undefined : 'overwrite') };
    }
  }

  if (res === 'playbacks' && a && n === 2) {
    if (method === 'GET') return { status: 200, body: core.getPlayback(a) };
    if (method === 'DELETE') {
      core.stopPlayback(a);
      return { status: 204 };
    }
  }

  if (res === 'recordings' && a === 'stored') {
    if (n === 2 && method === 'GET') return { status: 200, body: [...core.storedRecordings.values()] };
    if (b) {
      const r = core.storedRecordings.get(b);
      if (!r) throw new AriError(404, { message: 'Recording not found' });
      if (n === 3 && method === 'GET') return { status: 200, body: r };
      if (n === 3 && method === 'DELETE') {
        core.storedRecordings.delete(b);
        return { status: 204 };
      }
      if (n === 4 && c === 'file' && method === 'GET') return { status: 200, raw: { type: 'audio/wav', data: tinyWav() } };
    }
  }
  if (res === 'recordings' && a === 'live' && b) {
    const r = core.liveRecordings.get(b);
    if (!r) throw new AriError(404, { message: 'Recording not found' });
    if (n === 3 && method === 'GET') return { status: 200, body: core.recordingJson(r) };
    if ((n === 4 && c === 'stop' && method === 'POST') || (n === 3 && method === 'DELETE')) {
      core.finishRecording(r);
      if (method === 'DELETE') core.storedRecordings.delete(b);
      return { status: 204 };
    }
  }

  if (res === 'sounds' && method === 'GET') {
    const fmt = (id: string): object => ({ id, formats: [{ language: 'en', format: 'slin' }] });
    if (n === 1) return { status: 200, body: Object.keys(core.opts.soundDurationsMs).map((s) => fmt(s.replace(/^sound:/, ''))) };
    if (n === 2 && a) return { status: 200, body: fmt(a) };
  }

  if (res === 'deviceStates' && method === 'GET') {
    if (n === 1) return { status: 200, body: [] };
    if (a) throw new AriError(404, { message: 'Device state not found' });
  }

  if (res === 'mailboxes' && n === 1 && method === 'GET') return { status: 200, body: [] };

  return { status: 404, body: { message: 'Resource not found' } };
}
