// Agent live state rebuilt from PostgreSQL: an agent whose last recorded state (agent_state_log) says signed in,
// but who is missing from Redis (Redis restarted empty, failed over, flushed), is put back as they were — ready
// or paused with their reason — and their console is told. An agent Redis still knows is never touched.
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Acd } from './acd';
import type { ScreenPopHub } from './hub';
import type { AgentRow } from './repo';

interface LastState {
  agent_id: number;
  state: string;
  reason: string | null;
  extension: string;
  endpoint: string | null;
  skills: string[];
}

export interface AgentRebuildStats {
  signedIn: number;
  restored: number;
}

export function createAgentRebuild(deps: {
  db: Db;
  acd: Acd;
  hub: ScreenPopHub;
  endpointOf: (row: Pick<AgentRow, 'endpoint' | 'extension'>) => string;
  /** Re-reads the phone's device state after a restore (AMI), when available. */
  presenceProbe?: () => ((endpoint: string) => Promise<unknown>) | null;
  logger: Logger;
  /** Older sign-ins are stale (the agent went home without signing out): not restored. */
  maxAgeHours: number;
  /** A state row younger than this may belong to a change still being written (Redis first, then the log). */
  settleMs?: number;
}) {
  const log = deps.logger.child({ component: 'agent-rebuild' });

  return async function rebuildAgents(): Promise<AgentRebuildStats> {
    const { rows } = await deps.db.query<LastState>(
      `select l.agent_id, l.state, l.reason, a.extension, a.endpoint, a.skills
         from (select distinct on (agent_id) agent_id, state, reason, at from agent_state_log
                where at > now() - make_interval(hours => $1::int) order by agent_id, at desc, id desc) l
         join agents a on a.id = l.agent_id
         join users u on u.id = a.user_id
        where l.state <> 'offline' and a.active and u.active and l.at < now() - make_interval(secs => $2::float8)`,
      [deps.maxAgeHours, (deps.settleMs ?? 5000) / 1000],
    );
    let restored = 0;
    let anyReady = false;
    for (const r of rows) {
      // A logged 'reserved'/'busy' is a pause requested during a call (setState answers the call state then).
      const state: 'ready' | 'paused' = r.state === 'ready' || r.state === 'wrap_up' ? 'ready' : 'paused';
      const reason = state === 'paused' ? (r.reason ?? '') : '';
      const endpoint = deps.endpointOf({ endpoint: r.endpoint, extension: r.extension });
      const now = Date.now();
      if (!(await deps.acd.restore({ agentId: r.agent_id, extension: r.extension, endpoint, skills: r.skills }, state, reason, now))) continue;
      restored += 1;
      anyReady ||= state === 'ready';
      log.info({ agentId: r.agent_id, state, reason }, 'agent live state restored from PostgreSQL');
      await deps.hub.publish(r.agent_id, { type: 'agent.state', state, reason: reason || null, since: now, restored: true });
      const probe = deps.presenceProbe?.();
      if (probe) await probe(endpoint).catch((err: unknown) => log.warn({ err: (err as Error).message, agentId: r.agent_id }, 'presence probe failed'));
    }
    if (anyReady) await deps.acd.announceAvailable();
    return { signedIn: rows.length, restored };
  };
}
