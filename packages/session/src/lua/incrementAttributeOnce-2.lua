-- incrementAttributeOnce: incrementAttribute guarded by an operation token, for clients that
-- re-send unanswered commands after a reconnect (ioredis's default for app-owned clients): a
-- re-sent call finds its token and replies with the value it produced the first time instead of
-- adding again. The token key lives in the session's slot and expires on its own.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  operation token     <prefix>s:{<tag>}<secret>:op:<token>
-- ARGV[1]  attribute field
-- ARGV[2]  increment (a signed 64-bit integer)
-- ARGV[3]  how long the token is remembered, ms
--
-- Returns: { the new value } (the first call's value for a re-send)
--          GONE (-1)  the session no longer exists: nothing was written
--          a script error "hash value is not an integer" when the attribute holds something else
--
-- Calls: GET, HINCRBY, SET PX (+ HEXISTS as in incrementAttribute).
-- @include codes.lua

local done = redis.call('GET', KEYS[2])
if done then return { tonumber(done) } end
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if v == tonumber(ARGV[2]) and redis.call('HEXISTS', KEYS[1], '#c') == 0 then
  redis.call('DEL', KEYS[1])
  return GONE
end
redis.call('SET', KEYS[2], v, 'PX', ARGV[3])
return { v }
