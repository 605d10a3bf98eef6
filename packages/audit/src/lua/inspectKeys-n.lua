-- inspectKeys: TYPE and PTTL of a batch of keys in one round trip. Read-only: sent with
-- EVALSHA_RO / EVAL_RO, which Redis (>= 7.0) refuses to run if it tried to write, and which
-- replicas accept. Used on standalone servers only: on a Cluster the keys of one SCAN batch span
-- many slots, so the scanner pipelines TYPE and PTTL instead.
-- Called with a variable number of keys (numkeys is passed on each call), hence "-n".
--
-- KEYS[1..n]  the keys, as SCAN returned them
-- (no ARGV)
--
-- Returns: a flat array of 2n entries, for key i:
--   [2i-1]  its type: string, hash, set, zset, list, stream, or none when it vanished meanwhile
--   [2i]    its PTTL in ms: >= 0, -1 for no TTL, -2 when it vanished meanwhile
local out = {}
for i = 1, #KEYS do
  out[2 * i - 1] = redis.call('TYPE', KEYS[i])['ok']
  out[2 * i] = redis.call('PTTL', KEYS[i])
end
return out
