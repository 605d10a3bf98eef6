-- inspectKeys: TYPE and PTTL (and, on request, a cheap size read) of a batch of keys in one round
-- trip. Read-only: sent with EVALSHA_RO / EVAL_RO, which Redis (>= 7.0) refuses to run if it tried
-- to write, and which replicas accept. Used on standalone servers only: on a Cluster the keys of
-- one SCAN batch span many slots, so the same reads are pipelined instead.
-- Every call inside is O(1), so the script's cost is linear in the number of keys; it reports its
-- own duration so that the caller can size the next batch to its blocking budget.
-- Called with a variable number of keys (numkeys is passed on each call), hence "-n".
--
-- KEYS[1..n]  the keys, as SCAN returned them
-- ARGV[1]     "1" to also read each key's length, "0" (or absent) for TYPE and PTTL only
--
-- Returns: a flat array. With ARGV[1] = "0": 2n entries, with "1": 3n entries; for key i:
--   type    string, hash, set, zset, list, stream (or a module type), or none when it vanished meanwhile
--   pttl    its PTTL in ms: >= 0, -1 for no TTL, -2 when it vanished meanwhile
--   length  (only with ARGV[1] = "1") STRLEN of a string, HLEN / SCARD / ZCARD / LLEN / XLEN of a
--           collection, 0 for none and module types
-- followed by one last entry: the microseconds the script ran (two TIME readings; TIME advances
-- inside a script), or -1 when the ACL user may not run TIME (a `+@read` profile does not grant
-- it); the caller then times the call from outside, an upper bound.
-- @include key-facts.lua

local withLength = ARGV[1] == '1'
local t0 = now_us()
local out = {}
local j = 1
for i = 1, #KEYS do
  local k = KEYS[i]
  local t = redis.call('TYPE', k)['ok']
  out[j] = t
  out[j + 1] = redis.call('PTTL', k)
  j = j + 2
  if withLength then
    local cmd = LENGTH_OF[t]
    out[j] = cmd and redis.call(cmd, k) or 0
    j = j + 1
  end
end
local t1 = now_us()
out[j] = (t0 and t1) and (t1 - t0) or -1
return out
