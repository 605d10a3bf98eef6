-- unlinkPartialHash: unlinks a hash that lacks a field every complete record has (Spring
-- Session's `creationTime`), checking the field in the same atomic step. Such hashes are left by
-- a write racing a delete; a record completed meanwhile is kept. UNLINK frees large values in the
-- background instead of blocking the server.
--
-- KEYS[1]  the hash
-- ARGV[1]  the field whose absence marks the hash as partial, e.g. creationTime
--
-- Returns:
--    1  unlinked
--    0  kept: the field is present now
--   -1  nothing to do: the key is gone
--   -2  kept: KEYS[1] is not a hash any more
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'hash' then return -2 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('UNLINK', KEYS[1])
return 1
