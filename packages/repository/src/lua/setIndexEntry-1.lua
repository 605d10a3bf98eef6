-- setIndexEntry: adds, re-scores or removes one member of one index sorted set and keeps the
-- key expiring with its longest-lived member. Cluster callers use it after the entity write,
-- because an index key lives in another slot than the entity hash.
--
-- KEYS[1]  the index sorted set, <prefix><keyspace>:idx:<property>:{<encoded value>}
-- ARGV[1]  the entity id (member)
-- ARGV[2]  the entity's absolute expiry in ms, 'inf' for an entity without TTL, or 'del' to remove
--
-- Returns 1.
-- @include entity-write.lua

local idx = KEYS[1]
local now = now_ms()
if ARGV[2] == 'del' then
  index_remove_realign(idx, ARGV[1], now)
  return 1
end
local score = ARGV[2]
if score ~= 'inf' then score = tonumber(score) end
local old = redis.call('ZSCORE', idx, ARGV[1])
if old then
  if old ~= 'inf' then old = tonumber(old) end
else
  old = nil
end
entry_put(idx, ARGV[1], score, old, now)
return 1
