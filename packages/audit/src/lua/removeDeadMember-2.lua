-- removeDeadMember: removes one member from an index SET or ZSET, but only if the key the member
-- points at is missing, checked in the same atomic step as the removal. A member whose entity was
-- re-created after it was found dead is therefore never removed.
-- Both keys must share a hash slot on Cluster (standalone: always true; hash-tagged layouts).
--
-- KEYS[1]  the index: a SET or a ZSET
-- KEYS[2]  the key the member points at (an entity hash, a session...)
-- ARGV[1]  the member
--
-- Returns:
--    1  removed (KEYS[2] was missing)
--    0  kept: KEYS[2] exists, the member is alive
--   -1  nothing to do: the member (or the whole index) is already gone
--   -2  kept: KEYS[1] is no longer a SET or ZSET (its type changed since it was inspected)
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return -1 end
if t ~= 'set' and t ~= 'zset' then return -2 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n
if t == 'set' then
  n = redis.call('SREM', KEYS[1], ARGV[1])
else
  n = redis.call('ZREM', KEYS[1], ARGV[1])
end
if n == 1 then return 1 end
return -1
