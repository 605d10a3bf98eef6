-- listPrincipalSessions: the live members of one principal index, judged by the server's clock,
-- pruning the expired ones on the way (their sessions are gone; the members only cost memory).
--
-- KEYS[1]  principal index     <prefix>u:{<tag>}
-- (no ARGV)
--
-- Returns: { member1, score1, member2, score2, ... } of the members scored >= now (epoch ms),
--          soonest to expire first; an empty array when there are none. Callers still check that
--          each session exists: keys can vanish before their TTL (eviction, FLUSHDB, failover).
--
-- Calls: TIME, ZREMRANGEBYSCORE, ZRANGE.
-- @include time.lua

local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return redis.call('ZRANGE', KEYS[1], now, '+inf', 'BYSCORE', 'WITHSCORES')
