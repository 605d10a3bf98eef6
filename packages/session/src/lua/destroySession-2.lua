-- destroySession: deletes a session and its principal index entry in one step (logout).
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<rest>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[1] is "")
-- ARGV[1]  name of the principal attribute field, or "" when the index is off
-- ARGV[2]  session id (index member prefix)
--
-- Returns: 1 the session existed and is gone
--          0 there was no such session (nothing to do)

local p = false
if ARGV[1] ~= '' then p = redis.call('HGET', KEYS[1], ARGV[1]) end
local n = redis.call('DEL', KEYS[1])
if p then redis.call('ZREM', KEYS[2], ARGV[2] .. ':' .. p) end
return n
