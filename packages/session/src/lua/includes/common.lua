-- Shared helpers (included, not a script of its own).
-- Server clock in ms: every instance sees one clock, so lastAccessedAt comparisons are consistent.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Time left for a session: the idle timeout, capped by what remains of the absolute timeout.
local function ttlFor(now, created, idle, absolute)
  local ttl = idle
  if absolute > 0 then
    local left = created + absolute - now
    if left < ttl then ttl = left end
  end
  return ttl
end

-- Adds or re-scores an index member, prunes expired members, and gives the index key the expiry
-- of its latest member, so that the key disappears with the last session it lists.
local function indexPut(idx, member, expiresAt, now)
  redis.call('ZADD', idx, expiresAt, member)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', idx, top[2]) end
end

-- Removes a member; the key vanishes by itself when it was the last one.
local function indexRemove(idx, member)
  redis.call('ZREM', idx, member)
end

-- Applies a delta laid out in ARGV from position `at`: ARGV[at] = n, then n field/value pairs to
-- HSET, then every remaining ARGV is a field to HDEL. Shared by the save and the rename scripts so
-- the two can never disagree on the layout the TypeScript side sends.
local function applyDelta(key, at)
  local n = tonumber(ARGV[at])
  if n > 0 then
    local sets = {}
    for i = at + 1, at + 2 * n do sets[#sets + 1] = ARGV[i] end
    redis.call('HSET', key, unpack(sets))
  end
  if #ARGV >= at + 1 + 2 * n then
    local dels = {}
    for i = at + 1 + 2 * n, #ARGV do dels[#dels + 1] = ARGV[i] end
    redis.call('HDEL', key, unpack(dels))
  end
end
