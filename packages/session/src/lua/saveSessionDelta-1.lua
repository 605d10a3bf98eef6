-- saveSessionDelta: the common write. Applies an attribute delta to an existing session when no
-- touch is due and neither the idle timeout nor the principal changes, so the session keeps its TTL
-- (HSET and HDEL keep a key's TTL) and the delta is the whole write: one HSET that also proves the
-- session exists. It writes '#c' with the value it already holds: every live session has '#c', so
-- HSET reports n + 1 new fields (n = attributes set) only when the key did not exist, and the
-- resurrected key is deleted in the same atomic step. It never recreates a session that expired or
-- was invalidated meanwhile.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- ARGV[1]  createdAt as stored in '#c' (the existence sentinel)
-- ARGV[2]  n, the number of attributes set
-- ARGV[3]  m, the number of attributes deleted
-- ARGV[4 .. 3+2n]      field, value pairs to set
-- ARGV[4+2n .. 3+2n+m] fields to delete
--
-- Returns: 0           written; the TTL is unchanged
--          GONE (-1)   the session no longer exists: nothing was written (the write is dropped)
--
-- Calls: HSET (+ HDEL when deleting; + DEL when the session was gone).
-- @include codes.lua

local n = tonumber(ARGV[2])
local m = tonumber(ARGV[3])
local fields = { '#c', ARGV[1] }
for i = 4, 3 + 2 * n do fields[#fields + 1] = ARGV[i] end
if redis.call('HSET', KEYS[1], unpack(fields)) == n + 1 then
  redis.call('DEL', KEYS[1])
  return GONE
end
if m > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n, 3 + 2 * n + m)) end
return 0
