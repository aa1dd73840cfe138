// Agent reservation in Redis, shared by every service process: a Lua script picks the longest-idle eligible
// agent and marks it reserved in one step, so two processes can never ring the same agent.
//
// Keys (prefix p):
//   p:agent:<id>  hash  ext, endpoint, skills (comma list), state, reason, since, call, missed, device,
//                       wrapUntil, idleScore (score to restore when an offer is cancelled), pendingPause
//   p:idle        zset  agentId → the moment the agent became (or becomes) eligible, in ms.
//                       Wrap-up agents sit here with score = end of wrap-up, so they become eligible by time
//                       alone, without a timer that a crashed process could lose.
import { createHash } from 'node:crypto';
import type { Redis } from '../infra/redis';
import {
  BLOCKING_DEVICE_STATES, LUA_CANCEL, LUA_CONNECT, LUA_END, LUA_END_WRAP_UP, LUA_MARK_UNREACHABLE, LUA_MISSED, LUA_RESERVE,
  LUA_RESERVE_AGENT, LUA_RESERVE_MANY, LUA_RESTORE, LUA_SET_DEVICE, LUA_SET_STATE,
} from './acd-scripts';

export type AgentState = 'offline' | 'ready' | 'paused' | 'reserved' | 'busy' | 'wrap_up';

export interface AgentLive {
  agentId: number;
  extension: string;
  endpoint: string;
  skills: string[];
  state: AgentState;
  reason: string | null;
  since: number;
  callId: string | null;
  missed: number;
  device: string | null;
  wrapUntil: number | null;
  pendingPause: string | null;
}

export interface Reservation {
  agentId: number;
  extension: string;
  endpoint: string;
}

const SHAS = new Map<string, string>();

export class AgentStateError extends Error {
  constructor(readonly reason: 'offline' | 'on_call' | 'bad_state' | 'not_wrap_up') {
    super(reason);
    this.name = 'AgentStateError';
  }
}

export class Acd {
  private readonly p: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly nodeId: string,
  ) {
    this.p = `${prefix}:acd:`;
  }

  /** EVALSHA with a fallback to EVAL when the script cache was flushed (Redis restart). */
  private async run(lua: string, ...args: (string | number)[]): Promise<unknown> {
    let sha = SHAS.get(lua);
    if (!sha) SHAS.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
    try {
      return await this.redis.evalsha(sha, 0, ...args);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return this.redis.eval(lua, 0, ...args);
    }
  }

  private key(id: number): string {
    return `${this.p}agent:${id}`;
  }

  /** Channel on which every process is told that an agent may have become available. */
  get availabilityChannel(): string {
    return `${this.p}available`;
  }

  async login(a: { agentId: number; extension: string; endpoint: string; skills: string[] }, initial: 'ready' | 'paused', now = Date.now()): Promise<AgentState> {
    const k = this.key(a.agentId);
    const existing = await this.redis.hget(k, 'state');
    if (existing === 'reserved' || existing === 'busy') return existing;
    const m = this.redis.multi().hset(k, {
      ext: a.extension,
      endpoint: a.endpoint,
      skills: a.skills.join(','),
      state: initial,
      reason: initial === 'paused' ? 'login' : '',
      since: now,
      call: '',
      missed: 0,
      wrapUntil: '',
      pendingPause: '',
      // What we knew of the phone may be stale: presence re-reads it at sign-in.
      device: '',
      unreachableUntil: '',
    });
    if (initial === 'ready') m.zadd(`${this.p}idle`, now, String(a.agentId));
    else m.zrem(`${this.p}idle`, String(a.agentId));
    await m.exec();
    if (initial === 'ready') await this.announceAvailable();
    return initial;
  }

  /** Re-creates a signed-in agent missing from Redis (rebuild); false when Redis still has them. */
  async restore(a: { agentId: number; extension: string; endpoint: string; skills: string[] }, state: 'ready' | 'paused', reason: string, now = Date.now()): Promise<boolean> {
    const r = await this.run(LUA_RESTORE, this.p, a.agentId, now, state, reason, a.extension, a.endpoint, a.skills.join(','));
    return r === 1;
  }

  async setState(agentId: number, want: 'ready' | 'paused' | 'offline', reason = '', now = Date.now()): Promise<AgentState> {
    const r = (await this.run(LUA_SET_STATE, this.p, agentId, want, reason, now)) as string;
    if (r === 'ERR_OFFLINE') throw new AgentStateError('offline');
    if (r === 'ERR_ON_CALL') throw new AgentStateError('on_call');
    if (r.startsWith('ERR')) throw new AgentStateError('bad_state');
    if (r === 'ready') await this.announceAvailable();
    return r as AgentState;
  }

  /** Ends the agent's wrap-up now (they become eligible at once); throws AgentStateError when not in wrap-up. */
  async endWrapUp(agentId: number, now = Date.now()): Promise<AgentState> {
    const r = (await this.run(LUA_END_WRAP_UP, this.p, agentId, now)) as string;
    if (r === 'ERR_OFFLINE') throw new AgentStateError('offline');
    if (r === 'ERR_NOT_WRAP_UP') throw new AgentStateError('not_wrap_up');
    await this.announceAvailable();
    return 'ready';
  }

  async reserve(callId: string, skill: string | null, now = Date.now()): Promise<Reservation | null> {
    const r = (await this.run(LUA_RESERVE, this.p, now, callId, skill ?? '', this.nodeId, BLOCKING_DEVICE_STATES.join(','))) as
      | [string, string, string]
      | null;
    if (!r) return null;
    return { agentId: Number(r[0]), extension: r[1], endpoint: r[2] };
  }

  /**
   * Reserves agents for several waiting callers in one round trip, in the order given (oldest first); the result
   * names the caller each reservation is for. Callers left out found no agent.
   */
  async reserveMany(callers: { callId: string; skill: string | null }[], now = Date.now()): Promise<(Reservation & { callId: string })[]> {
    if (!callers.length) return [];
    const args = callers.flatMap((c) => [c.callId, c.skill ?? '']);
    const r = (await this.run(LUA_RESERVE_MANY, this.p, now, this.nodeId, BLOCKING_DEVICE_STATES.join(','), callers.length, ...args)) as [string, string, string, string][];
    return r.map(([callId, id, extension, endpoint]) => ({ callId, agentId: Number(id), extension, endpoint }));
  }

  async reserveAgent(agentId: number, callId: string, now = Date.now()): Promise<Reservation | null> {
    const r = (await this.run(LUA_RESERVE_AGENT, this.p, agentId, now, callId, this.nodeId, BLOCKING_DEVICE_STATES.join(','))) as
      | [string, string, string]
      | null;
    return r ? { agentId: Number(r[0]), extension: r[1], endpoint: r[2] } : null;
  }

  async missed(agentId: number, callId: string, maxMissed: number, now = Date.now()): Promise<AgentState | null> {
    const r = (await this.run(LUA_MISSED, this.p, agentId, callId, now, maxMissed)) as string | null;
    if (r === 'ready') await this.announceAvailable();
    return (r as AgentState) ?? null;
  }

  async cancel(agentId: number, callId: string, now = Date.now()): Promise<AgentState | null> {
    const r = (await this.run(LUA_CANCEL, this.p, agentId, callId, now)) as string | null;
    if (r === 'ready') await this.announceAvailable();
    return (r as AgentState) ?? null;
  }

  async connect(agentId: number, callId: string, now = Date.now()): Promise<boolean> {
    return Boolean(await this.run(LUA_CONNECT, this.p, agentId, callId, now));
  }

  /** Call over: wrap-up for wrapMs, then eligible again without any timer. */
  async end(agentId: number, callId: string, wrapMs: number, now = Date.now()): Promise<AgentState | null> {
    const r = (await this.run(LUA_END, this.p, agentId, callId, now, wrapMs)) as string | null;
    if (r === 'ready') await this.announceAvailable();
    return (r as AgentState) ?? null;
  }

  /**
   * Asterisk refused to ring this agent's phone (unregistered or unreachable): skip them until `untilMs`. Heals by
   * itself, so it needs neither AMI nor a timer.
   */
  async markUnreachable(agentId: number, untilMs: number): Promise<void> {
    await this.run(LUA_MARK_UNREACHABLE, this.p, agentId, untilMs);
  }

  async setDevice(agentId: number, device: string): Promise<void> {
    // Logged-in agents only (HSET on a missing hash would resurrect a logged-out agent). Everyone is told only when
    // the phone became able to take a call, not on every RINGING/INUSE flicker.
    const freed = (await this.run(LUA_SET_DEVICE, this.p, agentId, device, BLOCKING_DEVICE_STATES.join(','))) as number;
    if (freed === 1) await this.announceAvailable();
  }

  async get(agentId: number, now = Date.now()): Promise<AgentLive> {
    const h = await this.redis.hgetall(this.key(agentId));
    return toLive(agentId, h, now);
  }

  async getMany(agentIds: number[], now = Date.now()): Promise<AgentLive[]> {
    if (!agentIds.length) return [];
    const pipe = this.redis.pipeline();
    for (const id of agentIds) pipe.hgetall(this.key(id));
    const res = (await pipe.exec()) ?? [];
    return agentIds.map((id, i) => toLive(id, (res[i]?.[1] as Record<string, string>) ?? {}, now));
  }

  /** Agents reserved/busy for calls that no longer exist (after a crash) — for reconciliation. */
  async agentsOnCalls(): Promise<{ agentId: number; callId: string; state: AgentState; node: string }[]> {
    const out: { agentId: number; callId: string; state: AgentState; node: string }[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.p}agent:*`, 'COUNT', 200);
      cursor = next;
      if (!keys.length) continue;
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.hmget(k, 'state', 'call', 'node');
      const res = (await pipe.exec()) ?? [];
      keys.forEach((k, i) => {
        const [state, call, node] = (res[i]?.[1] as (string | null)[]) ?? [];
        if ((state === 'reserved' || state === 'busy') && call) {
          out.push({ agentId: Number(k.slice(k.lastIndexOf(':') + 1)), callId: call, state, node: node ?? '' });
        }
      });
    } while (cursor !== '0');
    return out;
  }

  async announceAvailable(): Promise<void> {
    await this.redis.publish(this.availabilityChannel, this.nodeId);
  }

  /** Number of agents eligible right now (for "all agents busy" decisions and the board). */
  async eligibleCount(now = Date.now()): Promise<number> {
    return this.redis.zcount(`${this.p}idle`, '-inf', now);
  }

  /** Earliest moment a wrap-up ends, so a process can wake its dispatcher then. */
  async nextEligibleAt(now = Date.now()): Promise<number | null> {
    const r = await this.redis.zrangebyscore(`${this.p}idle`, `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return r.length >= 2 ? Number(r[1]) : null;
  }
}

function toLive(agentId: number, h: Record<string, string>, now: number): AgentLive {
  let state = (h.state as AgentState) || 'offline';
  const wrapUntil = h.wrapUntil ? Number(h.wrapUntil) : null;
  if (state === 'wrap_up' && wrapUntil !== null && wrapUntil <= now) state = 'ready';
  return {
    agentId,
    extension: h.ext ?? '',
    endpoint: h.endpoint ?? '',
    skills: h.skills ? h.skills.split(',') : [],
    state,
    reason: h.reason || null,
    since: h.since ? Number(h.since) : 0,
    callId: h.call || null,
    missed: h.missed ? Number(h.missed) : 0,
    device: h.device || null,
    wrapUntil: state === 'wrap_up' ? wrapUntil : null,
    pendingPause: h.pendingPause || null,
  };
}
