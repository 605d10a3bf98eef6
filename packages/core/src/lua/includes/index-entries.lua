-- index-entries.lua: the one implementation of tidykv's expiring indexes, shared by the session
-- principal index and the repository's @Indexed properties.
--
-- An index is a sorted set whose members are scored by the expiry time (epoch ms) of the record
-- they point at, or 'inf' for a record without TTL. The index key itself expires at its highest
-- score, so it disappears with its longest-lived member, with no notifications and no job.
-- Readers take members scored >= now (ZRANGE idx now +inf BYSCORE): a member scored exactly now
-- is still live, so pruning removes scores strictly below now.
--
-- Cost: re-scoring a member (the common case: a touch) is ZADD + PEXPIREAT GT. Pruning dead
-- members and re-aligning the key's expiry run only when a member joins, so they are amortised
-- over the logins or inserts of one index, not paid on every write.

-- Drops members whose record has expired and gives the key the expiry of its highest score.
local function index_refresh(idx, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. now)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if #top == 0 then return end
  if top[2] == 'inf' then
    redis.call('PERSIST', idx)
  else
    -- Scores are whole milliseconds; tonumber copes with the %.17g form Redis replies with.
    redis.call('PEXPIREAT', idx, math.floor(tonumber(top[2])))
  end
end

-- Adds `member` scored `score` (epoch ms, or 'inf'), or re-scores it.
local function index_put(idx, member, score, now)
  if redis.call('ZADD', idx, score, member) == 1 then
    index_refresh(idx, now)
  elseif score == 'inf' then
    redis.call('PERSIST', idx)
  else
    -- GT only ever moves the key's expiry later. A key without TTL is one holding an 'inf'
    -- member (a new key always went through index_refresh above), and must stay that way.
    redis.call('PEXPIREAT', idx, score, 'GT')
  end
end

-- Removes `member` from an index whose scores are never 'inf' (session principal indexes): the
-- key's expiry stays valid, since it can only be later than the remaining members'.
local function index_remove(idx, member)
  redis.call('ZREM', idx, member)
end

-- Removes `member` from an index that may hold 'inf' members (repository indexes), keeping the
-- key expiring with its longest-lived remaining member: when the removed member held the key's
-- expiry (it was the 'inf' one, or had the highest score), the key takes the next highest. Without
-- that, the key of a value every entity moved away from would outlive them all, up to the
-- removed entity's expiry. `now` is unused (kept for callers written against the older form).
local function index_align_after_removal(idx, removedScore)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  -- An emptied sorted set is deleted with its last member; a remaining 'inf' member keeps it persistent.
  if #top == 0 or top[2] == 'inf' then return end
  local highest = math.floor(tonumber(top[2]))
  if removedScore == 'inf' or highest < tonumber(removedScore) then
    redis.call('PEXPIREAT', idx, highest)
  end
end

local function index_remove_realign(idx, member, now)
  local score = redis.call('ZSCORE', idx, member)
  if not score then return end
  redis.call('ZREM', idx, member)
  index_align_after_removal(idx, score)
end
