-- Shared index helpers. An index is a sorted set of entity ids scored by each entity's expiry
-- time in ms (+inf for entities without a TTL); the index key itself expires at its highest
-- score, so it disappears with its longest-lived member without notifications or jobs.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops members whose entity has expired, then aligns the key's expiry with its highest score.
local function refresh_index(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then return end
  if top[2] == 'inf' then
    redis.call('PERSIST', key)
  else
    -- Scores are whole milliseconds; tonumber copes with the %.17g form Redis replies with.
    redis.call('PEXPIREAT', key, math.floor(tonumber(top[2])))
  end
end

local function add_entry(key, id, score, now)
  redis.call('ZADD', key, score, id)
  refresh_index(key, now)
end

local function remove_entry(key, id, now)
  redis.call('ZREM', key, id)
  refresh_index(key, now)
end
