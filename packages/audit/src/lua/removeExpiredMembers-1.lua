-- removeExpiredMembers: removes members of a ZSET scored by expiry time whose score is still at
-- or before the server's TIME when the script runs (the clock the writers score with, not the
-- auditor's). A member refreshed since it was found expired (its score moved into the future) is
-- kept. Single key, so it is atomic on Cluster too.
--
-- KEYS[1]     the index: a ZSET whose scores are expiry times in ms since the epoch
-- ARGV[1..n]  the members to remove
--
-- Returns:
--   an array with one entry per member in ARGV[1..n]:
--      1  removed
--      0  kept: its score is now after the server's time (refreshed)
--     -1  nothing to do: the member is gone
--   or the integer -2 when KEYS[1] is not a ZSET (gone keys are reported as -1 per member)
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'zset' and t ~= 'none' then return -2 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = {}
for i = 1, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not score then
    out[#out + 1] = -1
  elseif tonumber(score) <= now then
    redis.call('ZREM', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
