-- createSession: stores a brand-new session hash with its TTL (and its principal index entry) in
-- one step. Idempotent: ids carry 128 CSPRNG bits and only the creating request knows one, so a
-- call that finds its id already stored is a re-send of itself after a dropped connection, and
-- writing the same fields again is harmless.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[5] is "")
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  createdAt to keep, epoch ms (0 = now; a migrated or moved session keeps its birth time)
-- ARGV[4]  idle timeout override for this session, ms (0 = none)
-- ARGV[5]  principal index member "<id>:<stored principal>", or "" for no index entry
-- ARGV[6..] field, value pairs of the attributes
--
-- Returns: { ttl (ms, > 0), createdAt (epoch ms as stored in '#c') }
--          EXPIRED (-3)  the absolute timeout has already elapsed (nothing written)
--
-- Calls: TIME, HSET, PEXPIRE; with the index, its entry.
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local now = now_ms()
local created = tonumber(ARGV[3])
if created == 0 then created = now end
local override = tonumber(ARGV[4])
local idle = tonumber(ARGV[1])
if override > 0 then idle = override end
local ttl = session_ttl(now, created, idle, tonumber(ARGV[2]))
if ttl <= 0 then return EXPIRED end

local fields = { '#c', created, '#a', math.max(0, now - created) }
if override > 0 then
  fields[#fields + 1] = '#i'
  fields[#fields + 1] = override
end
append_args(fields, 6, #ARGV - 5)
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ttl)
if ARGV[5] ~= '' then index_put(KEYS[2], ARGV[5], now + ttl, now) end
return { ttl, created }
