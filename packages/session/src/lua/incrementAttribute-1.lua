-- incrementAttribute: adds to an integer attribute of an existing session, atomically, and never
-- recreates a session that is gone. The session keeps its TTL (HINCRBY keeps a key's TTL).
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- ARGV[1]  attribute field
-- ARGV[2]  increment (a signed 64-bit integer)
--
-- Returns: { the new value }
--          GONE (-1)  the session no longer exists: nothing was written
--          a script error "hash value is not an integer" when the attribute holds something else
--
-- Calls: HINCRBY; HEXISTS too when the new value equals the increment (the field may have been
-- created, so whether the session existed needs its '#c' field, which every live session has).
-- @include codes.lua

local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if v == tonumber(ARGV[2]) and redis.call('HEXISTS', KEYS[1], '#c') == 0 then
  redis.call('DEL', KEYS[1])
  return GONE
end
return { v }
