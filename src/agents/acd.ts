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

// Device states (AMI DeviceStateChange) in which a phone cannot take a new call.
const BLOCKING_DEVICE_STATES = ['UNAVAILABLE', 'INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD', 'INVALID'];

const LUA_RESERVE = `
local prefix, now, callId, skill, node = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local blocking = {}
for s in string.gmatch(ARGV[6], '[^,]+') do blocking[s] = true end
local ids = redis.call('ZRANGEBYSCORE', prefix .. 'idle', '-inf', now, 'WITHSCORES')
for i = 1, #ids, 2 do
  local id, score = ids[i], ids[i + 1]
  local k = prefix .. 'agent:' .. id
  local f = redis.call('HMGET', k, 'state', 'device', 'skills', 'ext', 'endpoint', 'unreachableUntil')
  local st = f[1]
  local skillOk = (skill == '') or (string.find(',' .. (f[3] or '') .. ',', ',' .. skill .. ',', 1, true) ~= nil)
  local reachable = (tonumber(f[6] or '') or 0) <= now
  if (st == 'ready' or st == 'wrap_up') and not blocking[f[2] or ''] and skillOk and reachable then
    redis.call('ZREM', prefix .. 'idle', id)
    redis.call('HSET', k, 'state', 'reserved', 'call', callId, 'since', now, 'node', node, 'idleScore', score,
      'reason', '', 'wrapUntil', '')
    return {id, f[4], f[5]}
  elseif not st then
    -- hash gone (logged out elsewhere): drop the stale idle entry
    redis.call('ZREM', prefix .. 'idle', id)
  end
end
return false
`;

// Several waiting callers at once, oldest first (ARGV: callId, skill pairs): each gets the longest-idle eligible agent
// not yet taken in this run, so a burst of callers with free agents is matched in one round trip. The idle set is read
// once; a skill nobody can serve now is not searched again for later callers.
const LUA_RESERVE_MANY = `
local prefix, now, node, n = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local blocking = {}
for s in string.gmatch(ARGV[4], '[^,]+') do blocking[s] = true end
local ids = redis.call('ZRANGEBYSCORE', prefix .. 'idle', '-inf', now, 'WITHSCORES')
local agents = {}
for i = 1, #ids, 2 do
  local id, score = ids[i], ids[i + 1]
  local f = redis.call('HMGET', prefix .. 'agent:' .. id, 'state', 'device', 'skills', 'ext', 'endpoint', 'unreachableUntil')
  local st = f[1]
  if not st then
    -- hash gone (logged out elsewhere): drop the stale idle entry
    redis.call('ZREM', prefix .. 'idle', id)
  elseif (st == 'ready' or st == 'wrap_up') and not blocking[f[2] or ''] and (tonumber(f[6] or '') or 0) <= now then
    agents[#agents + 1] = { id = id, score = score, skills = ',' .. (f[3] or '') .. ',', ext = f[4] or '', endpoint = f[5] or '' }
  end
end
local out, exhausted = {}, {}
for c = 1, n do
  local callId, skill = ARGV[4 + 2 * c], ARGV[5 + 2 * c]
  if #out == #agents then break end
  if not exhausted[skill] then
    local found = false
    for j = 1, #agents do
      local a = agents[j]
      if not a.taken and (skill == '' or string.find(a.skills, ',' .. skill .. ',', 1, true) ~= nil) then
        a.taken = true
        found = true
        redis.call('ZREM', prefix .. 'idle', a.id)
        redis.call('HSET', prefix .. 'agent:' .. a.id, 'state', 'reserved', 'call', callId, 'since', now, 'node', node,
          'idleScore', a.score, 'reason', '', 'wrapUntil', '')
        out[#out + 1] = { callId, a.id, a.ext, a.endpoint }
        break
      end
    end
    if not found then exhausted[skill] = true end
  end
end
return out
`;

// One given agent (a transfer recall back to the agent who handled the caller): eligible when ready or in
// wrap-up (wrap-up is exactly when they would want their caller back), with a phone that can ring.
const LUA_RESERVE_AGENT = `
local prefix, id, now, callId, node = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local blocking = {}
for s in string.gmatch(ARGV[6], '[^,]+') do blocking[s] = true end
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'device', 'ext', 'endpoint')
if (f[1] ~= 'ready' and f[1] ~= 'wrap_up') or blocking[f[2] or ''] then return false end
local score = redis.call('ZSCORE', prefix .. 'idle', id) or now
redis.call('ZREM', prefix .. 'idle', id)
redis.call('HSET', k, 'state', 'reserved', 'call', callId, 'since', now, 'node', node, 'idleScore', score, 'reason', '', 'wrapUntil', '')
return {id, f[3], f[4]}
`;

const LUA_MARK_UNREACHABLE = `
local k = ARGV[1] .. 'agent:' .. ARGV[2]
if redis.call('EXISTS', k) == 1 then redis.call('HSET', k, 'unreachableUntil', ARGV[3]) end
return 0
`;

const LUA_SET_DEVICE = `
local prefix, id, device = ARGV[1], ARGV[2], ARGV[3]
local blocking = {}
for s in string.gmatch(ARGV[4], '[^,]+') do blocking[s] = true end
local k = prefix .. 'agent:' .. id
if redis.call('EXISTS', k) == 0 then return 0 end
local before = redis.call('HGET', k, 'device') or ''
redis.call('HSET', k, 'device', device)
if before == device then return 0 end
if blocking[device] then return 0 end
if before == '' or blocking[before] then return 1 end
return 0
`;

// Offer not answered (no answer, busy, failed): the agent goes to the back of the idle order; after maxMissed in a
// row they are paused with reason "missed" (as app_queue's autopause).
const LUA_MISSED = `
local prefix, id, callId, now, maxMissed = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'call', 'missed', 'pendingPause')
if f[1] ~= 'reserved' or f[2] ~= callId then return false end
local missed = tonumber(f[3] or '0') + 1
if missed >= maxMissed then
  redis.call('HSET', k, 'state', 'paused', 'reason', 'missed', 'call', '', 'since', now, 'missed', missed, 'pendingPause', '')
  return 'paused'
end
if f[4] and f[4] ~= '' then
  redis.call('HSET', k, 'state', 'paused', 'reason', f[4], 'call', '', 'since', now, 'missed', missed, 'pendingPause', '')
  return 'paused'
end
redis.call('HSET', k, 'state', 'ready', 'call', '', 'since', now, 'missed', missed)
redis.call('ZADD', prefix .. 'idle', now, id)
return 'ready'
`;

// Offer withdrawn through no fault of the agent (caller hung up): restore their place in the idle order.
const LUA_CANCEL = `
local prefix, id, callId, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'call', 'idleScore', 'pendingPause')
if f[1] ~= 'reserved' or f[2] ~= callId then return false end
if f[4] and f[4] ~= '' then
  redis.call('HSET', k, 'state', 'paused', 'reason', f[4], 'call', '', 'since', now, 'pendingPause', '')
  return 'paused'
end
redis.call('HSET', k, 'state', 'ready', 'call', '', 'since', now)
redis.call('ZADD', prefix .. 'idle', tonumber(f[3] or now) or now, id)
return 'ready'
`;

const LUA_CONNECT = `
local prefix, id, callId, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'call')
if f[1] ~= 'reserved' or f[2] ~= callId then return false end
redis.call('HSET', k, 'state', 'busy', 'since', now, 'missed', 0)
return 'busy'
`;

const LUA_END = `
local prefix, id, callId, now, wrapMs = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'call', 'pendingPause')
if (f[1] ~= 'busy' and f[1] ~= 'reserved') or f[2] ~= callId then return false end
if f[3] and f[3] ~= '' then
  redis.call('HSET', k, 'state', 'paused', 'reason', f[3], 'call', '', 'since', now, 'pendingPause', '', 'wrapUntil', '')
  return 'paused'
end
if wrapMs <= 0 then
  redis.call('HSET', k, 'state', 'ready', 'call', '', 'since', now, 'wrapUntil', '')
  redis.call('ZADD', prefix .. 'idle', now, id)
  return 'ready'
end
redis.call('HSET', k, 'state', 'wrap_up', 'call', '', 'since', now, 'wrapUntil', now + wrapMs)
redis.call('ZADD', prefix .. 'idle', now + wrapMs, id)
return 'wrap_up'
`;

// Agent-chosen state. Returns the resulting state, or an error string the service maps to 409.
const LUA_SET_STATE = `
local prefix, id, want, reason, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local k = prefix .. 'agent:' .. id
local st = redis.call('HGET', k, 'state')
if not st then return 'ERR_OFFLINE' end
if want == 'ready' then
  if st == 'reserved' or st == 'busy' then return 'ERR_ON_CALL' end
  redis.call('HSET', k, 'state', 'ready', 'reason', '', 'since', now, 'wrapUntil', '', 'pendingPause', '', 'missed', 0)
  redis.call('ZADD', prefix .. 'idle', now, id)
  return 'ready'
elseif want == 'paused' then
  if st == 'reserved' or st == 'busy' then
    redis.call('HSET', k, 'pendingPause', reason)
    return st
  end
  redis.call('HSET', k, 'state', 'paused', 'reason', reason, 'since', now, 'wrapUntil', '')
  redis.call('ZREM', prefix .. 'idle', id)
  return 'paused'
elseif want == 'offline' then
  if st == 'reserved' or st == 'busy' then return 'ERR_ON_CALL' end
  redis.call('DEL', k)
  redis.call('ZREM', prefix .. 'idle', id)
  return 'offline'
end
return 'ERR_BAD_STATE'
`;

// 完成整理: the agent ends their wrap-up before its time is up. A wrap-up already over by time counts as ready.
const LUA_END_WRAP_UP = `
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'wrapUntil')
if not f[1] then return 'ERR_OFFLINE' end
if f[1] == 'ready' then return 'ready' end
if f[1] ~= 'wrap_up' then return 'ERR_NOT_WRAP_UP' end
redis.call('HSET', k, 'state', 'ready', 'reason', '', 'since', now, 'wrapUntil', '')
redis.call('ZADD', prefix .. 'idle', now, id)
return 'ready'
`;

// Rebuild after Redis lost its data: re-create a signed-in agent's hash only when it is missing (a live hash is
// always newer than anything PostgreSQL remembers). Returns 1 when restored.
const LUA_RESTORE = `
local prefix, id, now, st, reason = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local k = prefix .. 'agent:' .. id
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, 'ext', ARGV[6], 'endpoint', ARGV[7], 'skills', ARGV[8], 'state', st, 'reason', reason, 'since', now,
  'call', '', 'missed', 0, 'wrapUntil', '', 'pendingPause', '', 'device', '', 'unreachableUntil', '')
if st == 'ready' then redis.call('ZADD', prefix .. 'idle', now, id) end
return 1
`;

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
