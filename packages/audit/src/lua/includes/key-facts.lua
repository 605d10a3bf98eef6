-- key-facts.lua: what the auditor's read-only scripts learn about one key, and how they time
-- themselves. Shared by inspectKeys (keys given) and scanInspect (keys from SCAN).

-- Microseconds on the server's clock, or nil when the ACL user may not run TIME (a `+@read`
-- profile does not grant it). TIME advances inside a script, so two readings time it.
local function now_us()
  local t = redis.pcall('TIME')
  if t['err'] then return nil end
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- The O(1) length read of each type; module types have none (length 0).
local LENGTH_OF = { string = 'STRLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', list = 'LLEN', stream = 'XLEN' }

-- Appends TYPE, PTTL and (with `withLength`) the length of `key` to `out` from index `j`;
-- returns the next free index.
local function put_key_facts(out, j, key, withLength)
  local t = redis.call('TYPE', key)['ok']
  out[j] = t
  out[j + 1] = redis.call('PTTL', key)
  if not withLength then return j + 2 end
  local cmd = LENGTH_OF[t]
  out[j + 2] = cmd and redis.call(cmd, key) or 0
  return j + 3
end
