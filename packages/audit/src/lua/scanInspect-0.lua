-- scanInspect: one SCAN step and the TYPE, PTTL and length of every key it returns, in one call
-- that times itself. The scan of a standalone server (Redis >= 7.0) walks with this script alone:
-- one round trip per batch instead of SCAN then an inspection call, and the blocking budget covers
-- the whole step (SCAN's own cost included, which a separate SCAN could not report per call).
-- Read-only: sent with EVALSHA_RO / EVAL_RO, which Redis refuses to run if it tried to write, and
-- which replicas accept. It takes no KEYS: its keys come from SCAN, so it is for standalone servers
-- only (on a Cluster, SCAN and the reads are sent per node as single commands).
--
-- ARGV[1]  SCAN cursor ("0" to start)
-- ARGV[2]  SCAN COUNT (the caller sizes it to its blocking budget)
-- ARGV[3]  SCAN MATCH glob, or "" for every key (no MATCH: nothing to match per key)
-- ARGV[4]  SCAN TYPE filter, or "" for every type
-- ARGV[5]  "1" to also read each key's length, "0" for TYPE and PTTL only
--
-- Returns: a flat array { next cursor, µs, key, type, pttl[, length], key, type, pttl[, length], ... }
--   next cursor  SCAN's next cursor ("0" when the walk is complete)
--   µs           microseconds the whole step ran (two TIME readings; TIME advances inside a
--                script), or -1 when the ACL user may not run TIME (a `+@read` profile does not
--                grant it); the caller then times the call from outside, an upper bound
--   per key      its name; its type (string, hash, set, zset, list, stream, a module type, or none
--                when it vanished meanwhile); its PTTL in ms (>= 0, -1 for no TTL, -2 when it
--                vanished); with ARGV[5] = "1" its length: STRLEN of a string, HLEN / SCARD /
--                ZCARD / LLEN / XLEN of a collection, 0 for none and module types
--
-- Calls: TIME twice, SCAN once, per key TYPE, PTTL (and with lengths one of STRLEN, HLEN, SCARD,
-- ZCARD, LLEN, XLEN). Every call but SCAN is O(1), and SCAN is O(COUNT).
-- @include key-facts.lua

local withLength = ARGV[5] == '1'
local t0 = now_us()
local args = { ARGV[1], 'COUNT', ARGV[2] }
if ARGV[3] ~= '' then
  args[#args + 1] = 'MATCH'
  args[#args + 1] = ARGV[3]
end
if ARGV[4] ~= '' then
  args[#args + 1] = 'TYPE'
  args[#args + 1] = ARGV[4]
end
local step = redis.call('SCAN', unpack(args))
local keys = step[2]
local out = { step[1], 0 }
local j = 3
for i = 1, #keys do
  local k = keys[i]
  local t = redis.call('TYPE', k)['ok']
  out[j] = k
  out[j + 1] = t
  out[j + 2] = redis.call('PTTL', k)
  j = j + 3
  if withLength then
    local cmd = LENGTH_OF[t]
    out[j] = cmd and redis.call(cmd, k) or 0
    j = j + 1
  end
end
local t1 = now_us()
out[2] = (t0 and t1) and (t1 - t0) or -1
return out
