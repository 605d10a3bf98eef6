-- loadSession: reads a whole session and, when a touch is due, touches it (lastAccessedAt, TTL and
-- principal index entry) in the same step, so that a read costs one round trip. Called only when
-- the client cannot tell that no touch is due; otherwise it sends a plain HGETALL.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[4] is "")
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  touch interval, ms: lastAccessedAt and the TTL are written at most this often
-- ARGV[4]  name of the principal attribute field, or "" when the index is off
-- ARGV[5]  session id (index members are "<id>:<stored principal>")
--
-- Returns: { now (server epoch ms), ttl (ms, > 0 when this call touched the session, else 0),
--            field1, value1, ... } with every hash field as it is stored after the call
--          GONE (-1)     no such session (expired, invalidated or never existed)
--          EXPIRED (-3)  the absolute timeout has elapsed: the session was deleted
--
-- Calls: HGETALL and TIME; a due touch adds HSET, PEXPIRE and, with the index, its entry.
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return GONE end
local created, offset, override, principal, offsetAt
local pf = ARGV[4]
for i = 1, #h, 2 do
  local f = h[i]
  if f == '#c' then created = tonumber(h[i + 1])
  elseif f == '#a' then offset = tonumber(h[i + 1]); offsetAt = i + 1
  elseif f == '#i' then override = tonumber(h[i + 1])
  elseif f == pf then principal = h[i + 1] end
end
local now = now_ms()
created = created or now
-- '#a' holds lastAccessedAt as an offset (ms) from '#c': a small integer keeps the listpack small.
local last = created + (offset or 0)
local function reply(ttl)
  local out = { now, ttl }
  for i = 1, #h do out[#out + 1] = h[i] end
  return out
end
if now - last < tonumber(ARGV[3]) then return reply(0) end

local ttl = session_ttl(now, created, override or tonumber(ARGV[1]), tonumber(ARGV[2]))
if ttl <= 0 then
  -- Past its absolute timeout but not yet evicted (clock granularity): it is dead.
  redis.call('DEL', KEYS[1])
  if principal then index_remove(KEYS[2], ARGV[5] .. ':' .. principal) end
  return EXPIRED
end
-- lastAccessedAt never moves backwards, even if the server clock does (failover).
if now > last then
  redis.call('HSET', KEYS[1], '#a', now - created)
  if offsetAt then h[offsetAt] = tostring(now - created) else h[#h + 1] = '#a'; h[#h + 1] = tostring(now - created) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
if principal then index_put(KEYS[2], ARGV[5] .. ':' .. principal, now + ttl, now) end
return reply(ttl)
