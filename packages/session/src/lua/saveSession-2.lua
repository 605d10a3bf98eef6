-- saveSession: applies an attribute delta to an existing session and re-arms its TTL, atomically.
-- It never recreates a session that expired or was invalidated meanwhile.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<rest>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[4] is "")
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  touch interval, ms: lastAccessedAt is written at most this often
-- ARGV[4]  name of the principal attribute field, or "" when the index is off
-- ARGV[5]  session id (index member prefix)
-- ARGV[6]  idle timeout override, ms: -1 = leave as is, 0 = remove the override, > 0 = set it
-- ARGV[7]  n, the number of attributes set
-- ARGV[8 .. 7+2n]    field, value pairs to set
-- ARGV[8+2n ..]      fields to delete
--
-- Returns: the PTTL now set on the session, ms (> 0)
--          -1  the session no longer exists: nothing was written (the write is dropped)
-- @include common.lua

if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local pf = ARGV[4]
local meta = redis.call('HMGET', KEYS[1], '#c', '#a', '#i')
local oldP = false
if pf ~= '' then oldP = redis.call('HGET', KEYS[1], pf) end

applyDelta(KEYS[1], 7)

local override = tonumber(ARGV[6])
local idleStored = meta[3]
if override > 0 then
  redis.call('HSET', KEYS[1], '#i', override)
  idleStored = override
elseif override == 0 then
  redis.call('HDEL', KEYS[1], '#i')
  idleStored = false
end

local now = nowMs()
local created = tonumber(meta[1] or now)
local idle = tonumber(idleStored or ARGV[1])
local ttl = ttlFor(now, created, idle, tonumber(ARGV[2]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  if oldP then indexRemove(KEYS[2], ARGV[5] .. ':' .. oldP) end
  return -1
end
local last = created + tonumber(meta[2] or '0')
-- Throttled and monotonic: lastAccessedAt moves at most once per interval, and only forwards.
if now - last >= tonumber(ARGV[3]) then redis.call('HSET', KEYS[1], '#a', now - created) end
redis.call('PEXPIRE', KEYS[1], ttl)

if pf ~= '' then
  local newP = redis.call('HGET', KEYS[1], pf)
  if oldP and oldP ~= newP then indexRemove(KEYS[2], ARGV[5] .. ':' .. oldP) end
  if newP then indexPut(KEYS[2], ARGV[5] .. ':' .. newP, now + ttl, now) end
end
return ttl
