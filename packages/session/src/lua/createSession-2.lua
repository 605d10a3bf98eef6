-- createSession: stores a brand-new session hash with its TTL in one step, failing if the id is taken.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<rest>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[3] is "")
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  name of the principal attribute field, or "" when the index is off
-- ARGV[4]  session id (index members are "<id>:<raw principal value>")
-- ARGV[5]  createdAt to keep, epoch ms (0 = now; a moved session keeps its birth time)
-- ARGV[6]  idle timeout override for this session, ms (0 = none)
-- ARGV[7..] field, value pairs of the attributes
--
-- Returns: the PTTL given to the session, ms (> 0)
--          -2  the id already exists (nothing written)
--          -3  the absolute timeout has already elapsed (nothing written)
-- @include common.lua

if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
local now = nowMs()
local created = tonumber(ARGV[5])
if created == 0 then created = now end
local override = tonumber(ARGV[6])
local idle = tonumber(ARGV[1])
if override > 0 then idle = override end
local ttl = ttlFor(now, created, idle, tonumber(ARGV[2]))
if ttl <= 0 then return -3 end

-- '#a' is stored as an offset from '#c': a small integer keeps the listpack (and the session) smaller.
local fields = { '#c', created, '#a', now - created }
if override > 0 then
  fields[#fields + 1] = '#i'
  fields[#fields + 1] = override
end
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ttl)

if ARGV[3] ~= '' then
  local p = redis.call('HGET', KEYS[1], ARGV[3])
  if p then indexPut(KEYS[2], ARGV[4] .. ':' .. p, now + ttl, now) end
end
return ttl
