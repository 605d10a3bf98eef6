-- findIndex: lists the ids of one index whose entities have not expired, and prunes the expired
-- ones on the way (their entities are gone; the members only cost memory).
--
-- KEYS[1]  the index sorted set, <prefix><keyspace>:idx:<property>:{<encoded value>}
-- (no ARGV)
--
-- Returns the live member ids (score >= now), in expiry order; an empty array when none.
-- Callers still verify each hit against its hash: entities can vanish early (eviction, FLUSHDB).
-- @include index-entries.lua

local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return redis.call('ZRANGE', KEYS[1], now, '+inf', 'BYSCORE')
