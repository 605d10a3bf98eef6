-- loadSession: reads a whole session and, when due, touches it (lastAccessedAt + TTL) in the same step,
-- so that a read-only request costs one round trip.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<rest>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[4] is "")
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  touch interval, ms: lastAccessedAt and the TTL are written at most this often
-- ARGV[4]  name of the principal attribute field, or "" when the index is off
-- ARGV[5]  session id (index member prefix)
--
-- Returns: { now (server epoch ms), touched (1 or 0), field1, value1, ... } with every hash field
--          -1  no such session (expired, invalidated or never existed)
-- @include common.lua

local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return -1 end
local meta = {}
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, 1, 1) == '#' then meta[f] = h[i + 1] end
end
local now = nowMs()
local created = tonumber(meta['#c'] or now)
-- '#a' holds lastAccessedAt as an offset (ms) from '#c'.
local last = created + tonumber(meta['#a'] or '0')
local touched = 0
if now - last >= tonumber(ARGV[3]) then
  local idle = tonumber(meta['#i'] or ARGV[1])
  local ttl = ttlFor(now, created, idle, tonumber(ARGV[2]))
  if ttl <= 0 then
    -- Past its absolute timeout but not yet evicted (clock granularity): it is dead.
    redis.call('DEL', KEYS[1])
    return -1
  end
  -- lastAccessedAt never moves backwards, even if the server clock does (failover).
  if now > last then redis.call('HSET', KEYS[1], '#a', now - created) end
  redis.call('PEXPIRE', KEYS[1], ttl)
  touched = 1
  if ARGV[4] ~= '' then
    local p = redis.call('HGET', KEYS[1], ARGV[4])
    if p then indexPut(KEYS[2], ARGV[5] .. ':' .. p, now + ttl, now) end
  end
end
local out = { now, touched }
for i = 1, #h do out[#out + 1] = h[i] end
-- The touch may have changed '#a' after HGETALL; report the value now stored.
if touched == 1 then
  for i = 3, #out, 2 do
    if out[i] == '#a' and now > last then out[i + 1] = tostring(now - created) end
  end
end
return out
