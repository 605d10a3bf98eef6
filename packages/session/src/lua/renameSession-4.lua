-- renameSession: gives a live session a new id (login, against session fixation), keeping its data and
-- applying the request's delta, atomically. On Redis Cluster both ids carry the same hash tag.
--
-- KEYS[1]  old session hash    <prefix>s:{<tag>}<old rest>
-- KEYS[2]  new session hash    <prefix>s:{<tag'>}<new rest>
-- KEYS[3]  old principal index <prefix>u:{<tag>}
-- KEYS[4]  new principal index <prefix>u:{<tag'>}
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  name of the principal attribute field, or "" when the index is off
-- ARGV[4]  old session id
-- ARGV[5]  new session id
-- ARGV[6]  idle timeout override, ms: -1 = leave as is, 0 = remove the override, > 0 = set it
-- ARGV[7]  n, the number of attributes set
-- ARGV[8 .. 7+2n]    field, value pairs to set
-- ARGV[8+2n ..]      fields to delete
--
-- Returns: the PTTL of the session under its new id, ms (> 0)
--          -1  the old session no longer exists (nothing written)
--          -2  the new id is already taken (nothing written)
-- @include common.lua

if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
local pf = ARGV[3]
local oldP = false
if pf ~= '' then oldP = redis.call('HGET', KEYS[1], pf) end
redis.call('RENAME', KEYS[1], KEYS[2])
if oldP then indexRemove(KEYS[3], ARGV[4] .. ':' .. oldP) end

applyDelta(KEYS[2], 7)
local override = tonumber(ARGV[6])
if override > 0 then redis.call('HSET', KEYS[2], '#i', override)
elseif override == 0 then redis.call('HDEL', KEYS[2], '#i') end

local meta = redis.call('HMGET', KEYS[2], '#c', '#a', '#i')
local now = nowMs()
local created = tonumber(meta[1] or now)
local ttl = ttlFor(now, created, tonumber(meta[3] or ARGV[1]), tonumber(ARGV[2]))
if ttl <= 0 then
  redis.call('DEL', KEYS[2])
  return -1
end
if now > created + tonumber(meta[2] or '0') then redis.call('HSET', KEYS[2], '#a', now - created) end
redis.call('PEXPIRE', KEYS[2], ttl)
if pf ~= '' then
  local newP = redis.call('HGET', KEYS[2], pf)
  if newP then indexPut(KEYS[4], ARGV[5] .. ':' .. newP, now + ttl, now) end
end
return ttl
