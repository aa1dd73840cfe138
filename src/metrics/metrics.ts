// Prometheus metrics (prom-client), one registry per app instance. Live figures are read when scraped:
//   h114_calls_active / h114_calls_waiting / h114_calls_longest_wait_seconds   this process's calls
//   h114_cluster_calls_active / _waiting / _longest_wait_seconds               every process (from the board summaries)
//   h114_agents{state}                                                         agents by ACD state (shared)
//   h114_agent_devices{presence}                                               logged-in agents by phone state
//   h114_telephony_up{component="ari"|"ami"}                                   1 up, 0 down (absent when disabled)
//   h114_call_record_backlog                                                   call-record writes not yet committed
//   h114_callbacks_active                                                      click-to-call callbacks in progress
//   h114_http_request_duration_seconds{method,route,status_code}               HTTP latency by route pattern
// plus prom-client's default process metrics (prefixed h114_).
import client from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyTypeBox } from '../http/types';
import type { Logger } from '../infra/logger';

export interface MetricsSources {
  local?: () => { active: number; waiting: number; longestWaitMs: number } | null;
  cluster?: () => Promise<{ active: number; waiting: number; longestWaitMs: number }>;
  agents?: () => Promise<{ states: Record<string, number>; presence: Record<string, number> }>;
  ari?: () => boolean;
  ami?: () => boolean;
  backlog?: () => number;
  callbacks?: () => number;
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly sources: MetricsSources = {};
  private readonly http: client.Histogram<'method' | 'route' | 'status_code'>;

  constructor(private readonly logger: Logger, opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: r, prefix: 'h114_' });
    this.http = new client.Histogram({
      name: 'h114_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    const s = this.sources;
    const gauge = (name: string, help: string, read: (g: client.Gauge) => void | Promise<void>, labelNames: string[] = []) =>
      new client.Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        async collect() {
          try {
            await read(this);
          } catch (err) {
            logger.debug({ err: (err as Error).message, metric: name }, 'metric not collected');
          }
        },
      });
    gauge('h114_calls_active', 'Calls handled by this process', (g) => {
      const v = s.local?.();
      if (v) g.set(v.active);
    });
    gauge('h114_calls_waiting', 'Callers of this process waiting for an agent', (g) => {
      const v = s.local?.();
      if (v) g.set(v.waiting);
    });
    gauge('h114_calls_longest_wait_seconds', 'Longest current wait for an agent on this process', (g) => {
      const v = s.local?.();
      if (v) g.set(v.longestWaitMs / 1000);
    });
    // Several gauges from one read per scrape (prom-client collects them in parallel).
    const cluster = shared(() => s.cluster?.() ?? Promise.resolve(null));
    const agents = shared(() => s.agents?.() ?? Promise.resolve(null));
    gauge('h114_cluster_calls_active', 'Calls handled by all processes', async (g) => {
      const v = await cluster();
      if (v) g.set(v.active);
    });
    gauge('h114_cluster_calls_waiting', 'Callers waiting for an agent, all processes', async (g) => {
      const v = await cluster();
      if (v) g.set(v.waiting);
    });
    gauge('h114_cluster_calls_longest_wait_seconds', 'Longest current wait for an agent, all processes', async (g) => {
      const v = await cluster();
      if (v) g.set(v.longestWaitMs / 1000);
    });
    gauge(
      'h114_agents',
      'Agents by ACD state',
      async (g) => {
        const v = await agents();
        if (!v) return;
        g.reset();
        for (const [k, n] of Object.entries(v.states)) g.set({ state: k }, n);
      },
      ['state'],
    );
    gauge(
      'h114_agent_devices',
      'Logged-in agents by phone (device) state',
      async (g) => {
        const v = await agents();
        if (!v) return;
        g.reset();
        for (const [k, n] of Object.entries(v.presence)) g.set({ presence: k }, n);
      },
      ['presence'],
    );
    gauge(
      'h114_telephony_up',
      'Telephony connections: 1 up, 0 down',
      (g) => {
        g.reset();
        if (s.ari) g.set({ component: 'ari' }, s.ari() ? 1 : 0);
        if (s.ami) g.set({ component: 'ami' }, s.ami() ? 1 : 0);
      },
      ['component'],
    );
    gauge('h114_call_record_backlog', 'Call record writes not yet committed to PostgreSQL', (g) => {
      if (s.backlog) g.set(s.backlog());
    });
    gauge('h114_callbacks_active', 'Click-to-call callbacks in progress on this process', (g) => {
      if (s.callbacks) g.set(s.callbacks());
    });
  }

  /** Times every request by its route pattern (never the raw URL: no ids or phone numbers in label values). */
  registerHttpHook(fastify: FastifyTypeBox): void {
    fastify.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      if (route === '/metrics') return;
      this.http.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
  }
}

/** The same promise for calls within ttlMs: one source read shared by the gauges of one scrape. */
function shared<T>(fn: () => Promise<T>, ttlMs = 250): () => Promise<T> {
  let at = 0;
  let p: Promise<T> | null = null;
  return () => {
    if (!p || Date.now() - at > ttlMs) {
      at = Date.now();
      p = fn();
      p.catch(() => undefined);
    }
    return p;
  };
}
