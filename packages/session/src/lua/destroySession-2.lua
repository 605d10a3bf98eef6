-- destroySession: deletes a session and its principal index entry in one step (logout). Used only
-- with the principal index on; without it a logout is a plain UNLINK.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot)
-- ARGV[1]  name of the principal attribute field
-- ARGV[2]  session id (index member prefix)
--
-- Returns: 1 the session existed and is gone
--          0 there was no such session (nothing to do)
--
-- Calls: HGET, DEL, and ZREM when the session had a principal.
-- @include index-entries.lua

local p = redis.call('HGET', KEYS[1], ARGV[1])
local n = redis.call('DEL', KEYS[1])
if p then index_remove(KEYS[2], ARGV[2] .. ':' .. p) end
return n
