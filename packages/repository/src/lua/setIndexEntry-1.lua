-- setIndexEntry: adds, re-scores or removes one member of one index sorted set and realigns the
-- key's expiry with its longest-lived member. Cluster callers use it after the entity write,
-- because an index key lives in another slot than the entity hash.
--
-- KEYS[1]  the index sorted set, <prefix><keyspace>:idx:<property>:{<encoded value>}
-- ARGV[1]  the entity id (member)
-- ARGV[2]  the entity's absolute expiry in ms, 'inf' for an entity without TTL, or 'del' to remove
--
-- Returns the number of members left in the index (0 means the key is gone).
-- @include index-entries.lua

local now = now_ms()
if ARGV[2] == 'del' then
  remove_entry(KEYS[1], ARGV[1], now)
else
  add_entry(KEYS[1], ARGV[1], ARGV[2], now)
end
return redis.call('ZCARD', KEYS[1])
