// The Lua scripts of the ACD (acd.ts runs them with EVALSHA): each reads and changes one agent's hash and the idle
// zset in one atomic step. Arguments come in ARGV only (prefix first); the key layout is described in acd.ts.

// Device states (AMI DeviceStateChange) in which a phone cannot take a new call.
export const BLOCKING_DEVICE_STATES = ['UNAVAILABLE', 'INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD', 'INVALID'];

// Reading the idle zset in order of idle time, a chunk at a time (ARGV[1] prefix, `now`, `blocking` set first):
// a reservation reads only as far as its first eligible agents, not the hash of every idle agent (up to one per
// signed-in agent on every dispatch). Nothing is removed from the zset while it is read (the
// offsets would shift): stale entries and taken agents are removed by `idle_finish` at the end.
const LUA_IDLE_SCAN = `
local scan = { offset = 0, more = true, agents = {}, stale = {}, taken = {} }
local function idle_fetch(chunk)
  local ids = redis.call('ZRANGEBYSCORE', prefix .. 'idle', '-inf', now, 'WITHSCORES', 'LIMIT', scan.offset, chunk)
  scan.offset = scan.offset + chunk
  if #ids < 2 * chunk then scan.more = false end
  for i = 1, #ids, 2 do
    local id, score = ids[i], ids[i + 1]
    local f = redis.call('HMGET', prefix .. 'agent:' .. id, 'state', 'device', 'skills', 'ext', 'endpoint', 'unreachableUntil')
    local st = f[1]
    if not st then
      -- hash gone (logged out elsewhere): drop the stale idle entry
      scan.stale[#scan.stale + 1] = id
    elseif (st == 'ready' or st == 'wrap_up') and not blocking[f[2] or ''] and (tonumber(f[6] or '') or 0) <= now then
      scan.agents[#scan.agents + 1] = { id = id, score = score, skills = ',' .. (f[3] or '') .. ',', ext = f[4] or '', endpoint = f[5] or '' }
    end
  end
end
-- The longest-idle eligible agent not yet taken with the skill ('' = any), reading further chunks as needed.
local function idle_take(skill, callId, chunk)
  local j = 1
  while true do
    if j > #scan.agents then
      if not scan.more then return nil end
      idle_fetch(chunk)
    else
      local a = scan.agents[j]
      if not a.taken and (skill == '' or string.find(a.skills, ',' .. skill .. ',', 1, true) ~= nil) then
        a.taken = true
        scan.taken[#scan.taken + 1] = a.id
        redis.call('HSET', prefix .. 'agent:' .. a.id, 'state', 'reserved', 'call', callId, 'since', now, 'node', node,
          'idleScore', a.score, 'reason', '', 'wrapUntil', '')
        return a
      end
      j = j + 1
    end
  end
end
local function idle_finish()
  for _, list in ipairs({ scan.stale, scan.taken }) do
    if #list > 0 then redis.call('ZREM', prefix .. 'idle', unpack(list)) end
  end
end
`;

export const LUA_RESERVE = `
local prefix, now, callId, skill, node = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local blocking = {}
for s in string.gmatch(ARGV[6], '[^,]+') do blocking[s] = true end
${LUA_IDLE_SCAN}
local a = idle_take(skill, callId, 8)
idle_finish()
if not a then return false end
return {a.id, a.ext, a.endpoint}
`;

// Several waiting callers at once, oldest first (ARGV: callId, skill pairs): each gets the longest-idle eligible agent
// not yet taken in this run, so a burst of callers with free agents is matched in one round trip. A skill nobody can
// serve now is not searched again for later callers.
export const LUA_RESERVE_MANY = `
local prefix, now, node, n = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local blocking = {}
for s in string.gmatch(ARGV[4], '[^,]+') do blocking[s] = true end
${LUA_IDLE_SCAN}
local out, exhausted = {}, {}
for c = 1, n do
  local callId, skill = ARGV[4 + 2 * c], ARGV[5 + 2 * c]
  if not exhausted[skill] then
    local a = idle_take(skill, callId, n + 8)
    if a then out[#out + 1] = { callId, a.id, a.ext, a.endpoint } else exhausted[skill] = true end
  end
end
idle_finish()
return out
`;

// One given agent (a transfer recall back to the agent who handled the caller): eligible when ready or in
// wrap-up (wrap-up is exactly when they would want their caller back), with a phone that can ring.
export const LUA_RESERVE_AGENT = `
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

export const LUA_MARK_UNREACHABLE = `
local k = ARGV[1] .. 'agent:' .. ARGV[2]
if redis.call('EXISTS', k) == 1 then redis.call('HSET', k, 'unreachableUntil', ARGV[3]) end
return 0
`;

export const LUA_SET_DEVICE = `
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
export const LUA_MISSED = `
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
export const LUA_CANCEL = `
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

export const LUA_CONNECT = `
local prefix, id, callId, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local k = prefix .. 'agent:' .. id
local f = redis.call('HMGET', k, 'state', 'call')
if f[1] ~= 'reserved' or f[2] ~= callId then return false end
redis.call('HSET', k, 'state', 'busy', 'since', now, 'missed', 0)
return 'busy'
`;

export const LUA_END = `
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
export const LUA_SET_STATE = `
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
export const LUA_END_WRAP_UP = `
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
export const LUA_RESTORE = `
local prefix, id, now, st, reason = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local k = prefix .. 'agent:' .. id
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, 'ext', ARGV[6], 'endpoint', ARGV[7], 'skills', ARGV[8], 'state', st, 'reason', reason, 'since', now,
  'call', '', 'missed', 0, 'wrapUntil', '', 'pendingPause', '', 'device', '', 'unreachableUntil', '')
if st == 'ready' then redis.call('ZADD', prefix .. 'idle', now, id) end
return 1
`;
